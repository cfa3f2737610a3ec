#include "formats/dump_json.h"

#include <algorithm>
#include <set>

#include "base/error.h"
#include "formats/dump_json_scanner.h"
#include "formats/pyjson.h"

namespace mdb {

namespace {

using dump_json::Scanner;
using dump_json::Tok;

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
  Scanner scanner(read, source, limits.max_depth, limits.max_string_bytes);
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
