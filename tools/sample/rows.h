#pragma once
// Writes rows into one database by column name, following the schema the database really
// has: a column the table lacks is left out (the legacy schemas have fewer columns), and
// `task_run_id` falls back to `run_id` (the legacy prolific tables name it so). One
// prepared statement per table and column set, reused for every row.
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "datadir/schema.h"
#include "formats/value.h"
#include "platform/sqlite.h"

namespace mdb::sample {

using Col = std::pair<std::string_view, Value>;

inline Value integer(int64_t v) { return Value::integer(v); }
inline Value text(std::string v) { return Value::text(std::move(v)); }
inline Value real(double v) { return Value::real(v); }
inline Value null() { return Value::null(); }
inline Value boolean(bool v) { return Value::integer(v ? 1 : 0); }
inline Value id_text(int64_t v) { return Value::text(std::to_string(v)); }

class Rows {
 public:
  explicit Rows(sql::Db& db) : db_(db), schema_(mdb::read_schema(db)) {}

  void insert(std::string_view table, std::initializer_list<Col> cols);
  // UPDATE table SET <set> WHERE <where, joined by AND>; `set` columns the table lacks are
  // left out (the legacy schemas have no update_date).
  void update(std::string_view table, std::initializer_list<Col> set, std::initializer_list<Col> where);
  // Runs `sql` with `params` bound as ?1, ?2, ... (statement cached by its text).
  void run(std::string_view sql, std::initializer_list<Value> params);
  // True when `table.column = value` has a row.
  bool exists(std::string_view table, std::string_view column, int64_t value);
  bool has_table(std::string_view table) const { return schema_.find(table) != nullptr; }

  sql::Db& db() { return db_; }

 private:
  sql::Stmt& cached(const std::string& sql);

  sql::Db& db_;
  mdb::SchemaInfo schema_;
  std::map<std::string, sql::Stmt> stmts_;
};

}  // namespace mdb::sample
