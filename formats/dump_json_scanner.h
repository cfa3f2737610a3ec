#pragma once
// The tokenizer under read_dump_json (dump_json.h), apart from the reader that walks the
// dump's layout with it.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace mdb::dump_json {

enum class Tok { BeginObject, EndObject, BeginArray, EndArray, Key, String, Integer, BigInteger, Real, True, False, Null, End };

// A pull tokenizer over a byte stream. Each next() returns one token; keys, strings and the digits
// of a BigInteger are in text(). Grammar and error wording follow Python's json module, which
// wrote (and reads) the original's dumps.
class Scanner {
 public:
  // `read` fills a buffer and returns the byte count, 0 at the end (dump_json.h's ReadFn).
  Scanner(const std::function<size_t(char*, size_t)>& read, std::string_view source, size_t max_depth,
          size_t max_string_bytes)
      : read_(read), source_(source), max_depth_(max_depth), max_string_bytes_(max_string_bytes) {}

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

  const std::function<size_t(char*, size_t)>& read_;
  std::string_view source_;
  size_t max_depth_, max_string_bytes_;
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

}  // namespace mdb::dump_json
