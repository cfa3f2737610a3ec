#include "formats/pyjson.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "formats/utf8.h"

namespace mdb {

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v < 0 ? "-Infinity" : "Infinity";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, res.ptr - buf);  // [-]d[.ddd]e[+-]XX
  bool neg = sci[0] == '-';
  if (neg) sci.remove_prefix(1);
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits += c;
  int exp10 = std::stoi(std::string(sci.substr(e + 1)));
  int decpt = exp10 + 1;  // position of the decimal point after the first digit
  std::string out = neg ? "-" : "";
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0.";
      out.append(static_cast<size_t>(-decpt), '0');
      out += digits;
    } else if (static_cast<size_t>(decpt) >= digits.size()) {
      out += digits;
      out.append(decpt - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, decpt);
      out += '.';
      out += digits.substr(decpt);
    }
    return out;
  }
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  char expbuf[16];
  std::snprintf(expbuf, sizeof expbuf, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
  return out + expbuf;
}

namespace {

void append_u_escape(std::string& out, unsigned cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04x", cp);
  out += buf;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  auto plain = [](char c) {
    auto uc = static_cast<unsigned char>(c);
    return uc >= 0x20 && uc < 0x7F && c != '"' && c != '\\';
  };
  out += '"';
  for (size_t i = 0; i < s.size();) {
    // A run of characters written as they are goes in at once (one byte at a time was 3% of an
    // import's checks at L, which write every dump row as the original's JSON).
    size_t end = i;
    while (end < s.size() && plain(s[end])) ++end;
    out.append(s.data() + i, end - i);
    i = end;
    if (i == s.size()) break;
    char c = s[i];
    auto uc = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
      ++i;
      continue;
    }
    switch (c) {
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      default: break;
    }
    unsigned cp = 0;
    size_t n = utf8::decode(s, i, cp);
    if (n == 0) {  // invalid byte: surrogateescape
      append_u_escape(out, 0xDC00 + uc);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      unsigned v = cp - 0x10000;
      append_u_escape(out, 0xD800 + (v >> 10));
      append_u_escape(out, 0xDC00 + (v & 0x3FF));
    } else {
      append_u_escape(out, cp);
    }
    i += n;
  }
  out += '"';
}

std::string python_repr(std::string_view s) {
  char quote = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos ? '"' : '\'';
  std::string out(1, quote);
  char buf[16];
  for (size_t i = 0; i < s.size();) {
    unsigned cp = 0;
    size_t n = utf8::decode(s, i, cp);
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "\\udc%02x", static_cast<unsigned char>(s[i]));
      out += buf;
      ++i;
      continue;
    }
    if (cp == '\\' || cp == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD) {
      std::snprintf(buf, sizeof buf, "\\x%02x", cp);
      out += buf;
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out += quote;
  return out;
}

void PyJsonWriter::newline_indent(size_t level) {
  out_ += '\n';
  out_.append(level * static_cast<size_t>(indent_), ' ');
}

void PyJsonWriter::item() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  if (stack_.back()) out_ += indent_ < 0 ? ", " : ",";
  if (indent_ >= 0) newline_indent(stack_.size());
  stack_.back() = true;
}

void PyJsonWriter::open(char c) {
  item();
  out_ += c;
  stack_.push_back(false);
}

void PyJsonWriter::close(char c) {
  bool had_items = stack_.back();
  stack_.pop_back();
  if (had_items && indent_ >= 0) newline_indent(stack_.size());
  out_ += c;
}

void PyJsonWriter::key(std::string_view k) {
  item();
  append_json_string(out_, k);
  out_ += ": ";
  after_key_ = true;
}

namespace {

// The index just past the JSON string literal that starts at json[at], or npos if it is not closed.
size_t string_end(std::string_view json, size_t at) {
  for (size_t i = at + 1; i < json.size(); ++i) {
    if (json[i] == '\\') ++i;
    else if (json[i] == '"') return i + 1;
  }
  return std::string_view::npos;
}

}  // namespace

bool PyJsonWriter::compact(std::string_view json) {
  // What may come next; `objects` says per container opened here whether it is an object.
  enum class Expect { Value, KeyOrClose, ValueOrClose, Key, CommaOrClose, End } expect = Expect::Value;
  std::vector<bool> objects;
  auto after_value = [&] { expect = objects.empty() ? Expect::End : Expect::CommaOrClose; };
  size_t i = 0;
  while (i < json.size()) {
    char c = json[i];
    bool value_here = expect == Expect::Value || expect == Expect::ValueOrClose;
    bool close_here = expect == Expect::KeyOrClose || expect == Expect::ValueOrClose || expect == Expect::CommaOrClose;
    if (c == '{' || c == '[') {
      if (!value_here) return false;
      open(c);
      objects.push_back(c == '{');
      expect = c == '{' ? Expect::KeyOrClose : Expect::ValueOrClose;
      ++i;
    } else if (c == '}' || c == ']') {
      if (!close_here || objects.back() != (c == '}')) return false;
      close(c);
      objects.pop_back();
      after_value();
      ++i;
    } else if (c == ',') {  // item() writes this writer's separator before the next item
      if (expect != Expect::CommaOrClose || json.compare(i, 2, ", ") != 0) return false;
      expect = objects.back() ? Expect::Key : Expect::Value;
      i += 2;
    } else {
      size_t end = c == '"' ? string_end(json, i) : std::min(json.find_first_of(",:{}[]\" ", i), json.size());
      if (end == std::string_view::npos || end == i) return false;
      std::string_view token = json.substr(i, end - i);
      i = end;
      if (expect == Expect::Key || expect == Expect::KeyOrClose) {
        if (c != '"' || json.compare(i, 2, ": ") != 0) return false;
        item();
        out_ += token;
        out_ += ": ";
        after_key_ = true;
        expect = Expect::Value;
        i += 2;
      } else {
        if (!value_here) return false;
        raw(token);
        after_value();
      }
    }
  }
  return expect == Expect::End;
}

void PyJsonWriter::integer(int64_t v) {
  item();
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, res.ptr);
}

}  // namespace mdb
