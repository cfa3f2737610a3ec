#include "formats/dump_json_scanner.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <limits>

#include "formats/utf8.h"

namespace mdb::dump_json {

size_t Scanner::ensure(size_t n) {
  while (buf_.size() - pos_ < n && !eof_) {
    buf_.erase(0, pos_);
    pos_ = 0;
    size_t have = buf_.size();
    buf_.resize(have + 65536);
    size_t got = read_(buf_.data() + have, 65536);
    buf_.resize(have + got);
    if (got == 0) eof_ = true;
  }
  return std::min(n, buf_.size() - pos_);
}

int Scanner::get() {
  int c = peek();
  if (c < 0) return c;
  ++pos_;
  ++offset_;
  if (c == '\n') {
    ++line_;
    column_ = 1;
  } else {
    ++column_;
  }
  return c;
}

void Scanner::skip_ws() {
  for (int c = peek(); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek()) get();
}

Tok Scanner::next() {
  if (!started_) {
    started_ = true;
    if (ensure(3) == 3 && buf_.compare(pos_, 3, "\xEF\xBB\xBF") == 0) pos_ += 3;  // a UTF-8 BOM, as Python allows
  }
  skip_ws();
  if (stack_.empty()) {
    if (!top_done_) return value();
    if (peek() >= 0) fail("Extra data");
    return Tok::End;
  }
  Frame& f = stack_.back();
  int c = peek();
  switch (f.state) {
    case State::Start:
      if (c == (f.object ? '}' : ']')) return close(f.object);
      return f.object ? key() : value();
    case State::AfterKey: return value();
    case State::AfterComma: return f.object ? key() : value();
    case State::AfterValue:
      if (c == (f.object ? '}' : ']')) return close(f.object);
      if (c != ',') fail("Expecting ',' delimiter");
      get();
      f.state = State::AfterComma;
      skip_ws();
      return f.object ? key() : value();
  }
  fail("internal state");
}

Tok Scanner::key() {
  if (peek() != '"') fail("Expecting property name enclosed in double quotes");
  scan_string();
  skip_ws();
  if (get() != ':') fail("Expecting ':' delimiter");
  stack_.back().state = State::AfterKey;
  return Tok::Key;
}

Tok Scanner::value() {
  int c = peek();
  // The value completes the enclosing item now; a container's own end is handled by close().
  if (stack_.empty()) top_done_ = true;
  else stack_.back().state = State::AfterValue;
  switch (c) {
    case '{': return open(true);
    case '[': return open(false);
    case '"': scan_string(); return Tok::String;
    case 't': literal("true"); return Tok::True;
    case 'f': literal("false"); return Tok::False;
    case 'n': literal("null"); return Tok::Null;
    case 'N': literal("NaN"); real_ = std::numeric_limits<double>::quiet_NaN(); return Tok::Real;
    case 'I': literal("Infinity"); real_ = std::numeric_limits<double>::infinity(); return Tok::Real;
    default:
      if (c == '-' || (c >= '0' && c <= '9')) return number();
      fail("Expecting value");
  }
}

Tok Scanner::open(bool object) {
  if (stack_.size() >= max_depth_)
    fail("nested deeper than " + std::to_string(max_depth_) + " levels");
  get();
  stack_.push_back({object, State::Start});
  return object ? Tok::BeginObject : Tok::BeginArray;
}

Tok Scanner::close(bool object) {
  get();
  stack_.pop_back();
  return object ? Tok::EndObject : Tok::EndArray;
}

void Scanner::literal(std::string_view word) {
  for (char w : word)
    if (get() != w) fail("Expecting value");
}

unsigned Scanner::hex4() {
  unsigned v = 0;
  for (int k = 0; k < 4; ++k) {
    int c = get();
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) fail("Invalid \\uXXXX escape");
    v = v * 16 + static_cast<unsigned>(d);
  }
  return v;
}

void Scanner::scan_string() {
  get();  // the opening quote
  text_.clear();
  for (;;) {
    if (text_.size() > max_string_bytes_)
      fail("a string longer than " + std::to_string(max_string_bytes_) + " bytes");
    int c = get();
    if (c < 0) fail("Unterminated string");
    if (c == '"') return;
    if (c < 0x20) fail("Invalid control character in a string");
    if (c != '\\') {
      // Raw bytes are kept as they are (valid UTF-8 or not), so nothing is lost.
      text_ += static_cast<char>(c);
      continue;
    }
    int e = get();
    switch (e) {
      case '"': text_ += '"'; break;
      case '\\': text_ += '\\'; break;
      case '/': text_ += '/'; break;
      case 'b': text_ += '\b'; break;
      case 'f': text_ += '\f'; break;
      case 'n': text_ += '\n'; break;
      case 'r': text_ += '\r'; break;
      case 't': text_ += '\t'; break;
      case 'u': {
        unsigned cp = hex4();
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          // A high surrogate must pair with a following low one.
          if (ensure(6) == 6 && buf_[pos_] == '\\' && buf_[pos_ + 1] == 'u') {
            size_t save_pos = pos_, save_col = column_, save_off = offset_;
            get();
            get();
            unsigned lo = hex4();
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              utf8::append(text_, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
              break;
            }
            pos_ = save_pos;  // still in the buffer: ensure(6) kept it
            column_ = save_col;
            offset_ = save_off;
          }
          fail("a lone surrogate \\u escape, which no text can hold");
        }
        if (cp >= 0xDC80 && cp <= 0xDCFF) {
          text_ += static_cast<char>(cp - 0xDC00);  // surrogateescape: the raw byte
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail("a lone surrogate \\u escape, which no text can hold");
        } else {
          utf8::append(text_, cp);
        }
        break;
      }
      default: fail("Invalid \\escape");
    }
  }
}

Tok Scanner::number() {
  text_.clear();
  auto digits = [&] {
    size_t n = 0;
    for (int c = peek(); c >= '0' && c <= '9'; c = peek(), ++n) text_ += static_cast<char>(get());
    return n;
  };
  if (peek() == '-') {
    text_ += static_cast<char>(get());
    if (peek() == 'I') {
      literal("Infinity");
      real_ = -std::numeric_limits<double>::infinity();
      return Tok::Real;
    }
  }
  if (peek() == '0') {
    text_ += static_cast<char>(get());
  } else if (digits() == 0) {
    fail("Expecting value");
  }
  bool integral = true;
  if (peek() == '.') {
    text_ += static_cast<char>(get());
    if (digits() == 0) fail("Expecting digits after the decimal point");
    integral = false;
  }
  if (peek() == 'e' || peek() == 'E') {
    text_ += static_cast<char>(get());
    if (peek() == '+' || peek() == '-') text_ += static_cast<char>(get());
    if (digits() == 0) fail("Expecting digits in the exponent");
    integral = false;
  }
  const char* b = text_.data();
  const char* e = b + text_.size();
  if (integral) {
    auto [p, ec] = std::from_chars(b, e, int_);
    return ec == std::errc() && p == e ? Tok::Integer : Tok::BigInteger;
  }
  auto [p, ec] = std::from_chars(b, e, real_);
  if (ec == std::errc::result_out_of_range) real_ = std::strtod(text_.c_str(), nullptr);  // inf or 0, as Python
  return Tok::Real;
}

}  // namespace mdb::dump_json
