#include "formats/dump_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

#include "base/error.h"
#include "formats/pyjson.h"

namespace mdb {

namespace {

enum class Tok { BeginObject, EndObject, BeginArray, EndArray, Key, String, Integer, BigInteger, Real, True, False, Null, End };

// A pull tokenizer over a byte stream. Each next() returns one token; keys, strings and the digits
// of a BigInteger are in text(). Grammar and error wording follow Python's json module, which
// wrote (and reads) the original's dumps.
class Scanner {
 public:
  Scanner(const ReadFn& read, std::string_view source, const DumpJsonLimits& limits)
      : read_(read), source_(source), limits_(limits) {}

  Tok next();
  const std::string& text() const { return text_; }
  int64_t integer() const { return int_; }
  double real() const { return real_; }

  [[noreturn]] void fail(const std::string& what) const {
    std::string where = "line " + std::to_string(line_) + " column " + std::to_string(column_) + " (char " +
                        std::to_string(offset_) + ").";
    throw Error("Could not read the JSON of " + std::string(source_) + ": " + what + ": " + where, ErrorKind::Damaged);
  }

 private:
  enum class State : uint8_t { Start, AfterKey, AfterValue, AfterComma };
  struct Frame {
    bool object;
    State state;
  };

  // Makes at least n bytes available unless the input ends first; returns how many are.
  size_t ensure(size_t n);
  int peek() { return ensure(1) ? static_cast<unsigned char>(buf_[pos_]) : -1; }
  int get();
  void skip_ws();
  Tok key();
  Tok value();
  Tok open(bool object);
  Tok close(bool object);
  void literal(std::string_view word);
  void scan_string();
  unsigned hex4();
  Tok number();

  const ReadFn& read_;
  std::string_view source_;
  DumpJsonLimits limits_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  size_t line_ = 1, column_ = 1, offset_ = 0;
  std::vector<Frame> stack_;
  bool started_ = false;
  bool top_done_ = false;
  std::string text_;
  int64_t int_ = 0;
  double real_ = 0;
};

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
  if (stack_.size() >= limits_.max_depth)
    fail("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
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

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void Scanner::scan_string() {
  get();  // the opening quote
  text_.clear();
  for (;;) {
    if (text_.size() > limits_.max_string_bytes)
      fail("a string longer than " + std::to_string(limits_.max_string_bytes) + " bytes");
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
              append_utf8(text_, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
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
          append_utf8(text_, cp);
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

std::string_view token_kind(Tok t) {
  switch (t) {
    case Tok::BeginObject: return "an object";
    case Tok::BeginArray: return "an array";
    case Tok::String: return "a string";
    case Tok::Null: return "null";
    case Tok::True:
    case Tok::False: return "a boolean";
    default: return "a number";
  }
}

bool is_container(Tok t) { return t == Tok::BeginObject || t == Tok::BeginArray; }

// Skips the rest of a value whose first token was `first`.
void skip_value(Scanner& s, Tok first) {
  if (!is_container(first)) return;
  for (size_t depth = 1; depth > 0;) {
    Tok t = s.next();
    if (is_container(t)) ++depth;
    else if (t == Tok::EndObject || t == Tok::EndArray) --depth;
  }
}

// A scalar token as a row value (the caller has excluded containers and BigInteger).
Value scalar_value(const Scanner& s, Tok t) {
  switch (t) {
    case Tok::String: return Value::text(s.text());
    case Tok::Integer: return Value::integer(s.integer());
    case Tok::Real: return Value::real(s.real());
    case Tok::True: return Value::integer(1);
    case Tok::False: return Value::integer(0);
    default: return Value::null();
  }
}

std::string describe_token(const Scanner& s, Tok t) {
  if (is_container(t)) return std::string(token_kind(t));
  if (t == Tok::BigInteger) return s.text();
  return describe_json_value(scalar_value(s, t));
}

// Builds a (small) JSON value; recursion is bounded by the scanner's depth limit.
nlohmann::ordered_json json_value(Scanner& s, Tok t, DumpJsonVisitor& v) {
  switch (t) {
    case Tok::BeginObject: {
      nlohmann::ordered_json obj = nlohmann::ordered_json::object();
      for (Tok k = s.next(); k == Tok::Key; k = s.next()) {
        std::string key = s.text();
        obj[key] = json_value(s, s.next(), v);
      }
      return obj;
    }
    case Tok::BeginArray: {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      for (Tok e = s.next(); e != Tok::EndArray; e = s.next()) arr.push_back(json_value(s, e, v));
      return arr;
    }
    case Tok::String: return s.text();
    case Tok::Integer: return s.integer();
    case Tok::Real: return s.real();
    case Tok::True: return true;
    case Tok::False: return false;
    case Tok::BigInteger:
      v.problem("dump_metadata holds the integer " + s.text() + ", beyond the 64-bit range.");
      return nullptr;
    default: return nullptr;
  }
}

class Reader {
 public:
  Reader(Scanner& s, DumpJsonVisitor& v) : s_(s), v_(v) {}

  void document() {
    Tok t = s_.next();
    if (t != Tok::BeginObject) {
      s_.fail("the dump must be a JSON object of databases, not " + std::string(token_kind(t)));
    }
    std::set<std::string> seen;
    for (t = s_.next(); t == Tok::Key; t = s_.next()) {
      std::string key = s_.text();
      if (!seen.insert(key).second) v_.problem("The key `" + key + "` appears twice at the top level of the dump.");
      if (key == "dump_metadata") v_.metadata(json_value(s_, s_.next(), v_));
      else database(key);
    }
    s_.next();  // End, or "Extra data"
  }

 private:
  void database(const std::string& db) {
    Tok t = s_.next();
    if (t != Tok::BeginObject) {
      v_.problem("Database `" + db + "`: expecting a JSON object of tables, not " + describe_token(s_, t) + ".");
      skip_value(s_, t);
      return;
    }
    v_.begin_db(db);
    std::set<std::string> seen;
    for (t = s_.next(); t == Tok::Key; t = s_.next()) {
      std::string table = s_.text();
      if (!seen.insert(table).second)
        v_.problem("Database `" + db + "`: the table `" + table + "` appears twice.");
      this->table(db, table);
    }
  }

  void table(const std::string& db, const std::string& table) {
    Tok t = s_.next();
    if (t != Tok::BeginArray) {
      v_.problem("Database `" + db + "`, table `" + table + "`: expecting a JSON array of rows, not " +
                 describe_token(s_, t) + ".");
      skip_value(s_, t);
      return;
    }
    v_.begin_table(db, table);
    size_t index = 0;
    for (t = s_.next(); t != Tok::EndArray; t = s_.next(), ++index) {
      if (t != Tok::BeginObject) {
        v_.problem("Database `" + db + "`, table `" + table + "`, row " + std::to_string(index) +
                   ": expecting it to be a JSON object, not `" + describe_token(s_, t) + "`.");
        skip_value(s_, t);
        continue;
      }
      row(db, table, index);
    }
    v_.end_table(db, table, index);
  }

  void row(const std::string& db, const std::string& table, size_t index) {
    row_columns_.clear();
    values_.clear();
    bool ok = true;
    auto where = [&] {
      return "Database `" + db + "`, table `" + table + "`, row " + std::to_string(index) + ", column `" +
             row_columns_.back() + "`: ";
    };
    for (Tok t = s_.next(); t == Tok::Key; t = s_.next()) {
      row_columns_.push_back(s_.text());
      for (size_t i = 0; i + 1 < row_columns_.size(); ++i)
        if (row_columns_[i] == row_columns_.back()) {
          v_.problem(where() + "the field appears twice in the row.");
          ok = false;
        }
      Tok val = s_.next();
      if (is_container(val)) {
        v_.problem(where() + "expecting a single value, not " + std::string(token_kind(val)) + ".");
        skip_value(s_, val);
        ok = false;
      } else if (val == Tok::BigInteger) {
        v_.problem(where() + "the integer " + s_.text() + " is beyond the 64-bit range a database can store.");
        ok = false;
      } else {
        values_.push_back(scalar_value(s_, val));
      }
    }
    if (!ok) return;
    if (columns_ != row_columns_) columns_ = row_columns_;
    v_.row(db, table, index, columns_, values_);
  }

  Scanner& s_;
  DumpJsonVisitor& v_;
  std::vector<std::string> columns_, row_columns_;
  Row values_;
};

}  // namespace

std::string describe_json_value(const Value& v) {
  switch (v.kind) {
    case StorageClass::Null: return "null";
    case StorageClass::Integer: return std::to_string(v.i);
    case StorageClass::Real: return v.to_string();
    case StorageClass::Blob: return "a blob of " + std::to_string(v.s.size()) + " bytes";
    case StorageClass::Text: {
      // Escaped as JSON so control characters and invalid UTF-8 cannot garble the message;
      // long text is cut at a character boundary.
      constexpr size_t kMax = 60;
      size_t cut = std::min(v.s.size(), kMax);
      while (cut > 0 && cut < v.s.size() && (static_cast<unsigned char>(v.s[cut]) & 0xC0) == 0x80) --cut;
      std::string out;
      append_json_string(out, std::string_view(v.s).substr(0, cut));
      if (cut < v.s.size()) out.insert(out.size() - 1, "...");
      return out;
    }
  }
  return {};
}

void read_dump_json(const ReadFn& read, DumpJsonVisitor& visitor, std::string_view source,
                    const DumpJsonLimits& limits) {
  Scanner scanner(read, source, limits);
  Reader(scanner, visitor).document();
}

void read_dump_json(std::string_view text, DumpJsonVisitor& visitor, std::string_view source,
                    const DumpJsonLimits& limits) {
  size_t pos = 0;
  ReadFn read = [&](char* buf, size_t n) {
    size_t k = std::min(n, text.size() - pos);
    text.copy(buf, k, pos);
    pos += k;
    return k;
  };
  read_dump_json(read, visitor, source, limits);
}

}  // namespace mdb
