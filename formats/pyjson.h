#pragma once
// JSON exactly as Python's json.dumps renders it (ensure_ascii=True, default
// separators, indent=None or N), so our dumps are byte-identical to the original's.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mdb {

// Python's repr(float): shortest round-trip digits; exponent form when the decimal
// exponent is < -4 or >= 16; "Infinity", "-Infinity", "NaN" as json.dumps writes them.
std::string python_float_repr(double v);

// Appends `s` as a JSON string literal with ensure_ascii escaping. Bytes that are not
// valid UTF-8 are written as lone surrogates \udc80-\udcff (Python's surrogateescape),
// so no byte is lost and our reader restores them.
void append_json_string(std::string& out, std::string_view s);

// Python's repr(str) of UTF-8 text, as the original prints option values: single quotes, or
// double quotes when the text holds a ' and no "; \\, \n, \r, \t, \xNN for other control
// characters (C0, DEL, C1) and U+00A0/U+00AD, \udcNN for bytes that are not UTF-8 (Python's
// surrogateescape of argv); other characters as they are.
std::string python_repr(std::string_view s);

// Streaming writer. indent < 0 means indent=None (", " and ": " separators, one line).
class PyJsonWriter {
 public:
  PyJsonWriter(std::string& out, int indent) : out_(out), indent_(indent) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(std::string_view k);
  void null() { item(); out_ += "null"; }
  void boolean(bool b) { item(); out_ += b ? "true" : "false"; }
  void integer(int64_t v);
  void real(double v) { item(); out_ += python_float_repr(v); }
  void string(std::string_view s) { item(); append_json_string(out_, s); }
  // A value already rendered as JSON.
  void raw(std::string_view json) { item(); out_ += json; }
  // A value rendered by a writer with indent=None (", " and ": " separators, one line), written
  // again with this writer's indent: a Cap'n Proto half keeps dump_metadata that way. Only that
  // form is taken, token by token; false (part of it written) for any other text, whose
  // rendering then cannot match the original's bytes.
  bool compact(std::string_view json);

  std::string& buffer() { return out_; }
  size_t depth() const { return stack_.size(); }

 private:
  void open(char c);
  void close(char c);
  void item();  // separator/newline before a value (not after a key)
  void newline_indent(size_t level);

  std::string& out_;
  int indent_;
  std::vector<bool> stack_;  // per open container: has it any item yet
  bool after_key_ = false;
};

}  // namespace mdb
