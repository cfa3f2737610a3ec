#include "tools/sample/rows.h"

#include <vector>

#include "base/error.h"

namespace mdb::sample {

sql::Stmt& Rows::cached(const std::string& sql) {
  auto it = stmts_.find(sql);
  if (it == stmts_.end()) it = stmts_.emplace(sql, db_.prepare(sql)).first;
  return it->second;
}

void Rows::insert(std::string_view table, std::initializer_list<Col> cols) {
  const mdb::TableInfo* info = schema_.find(table);
  if (!info) throw Error("sample: " + db_.path().string() + " has no table " + std::string(table));
  std::vector<const Value*> values;
  std::string names, marks;
  for (const Col& c : cols) {
    std::string_view name = c.first;
    if (!info->has_column(name) && name == "task_run_id" && info->has_column("run_id")) name = "run_id";
    if (!info->has_column(name)) continue;
    names += (names.empty() ? "" : ", ") + sql::quote_ident(name);
    marks += (marks.empty() ? "?" : ", ?") + std::to_string(values.size() + 1);
    values.push_back(&c.second);
  }
  sql::Stmt& stmt =
      cached("INSERT INTO " + sql::quote_ident(table) + " (" + names + ") VALUES (" + marks + ")");
  for (size_t i = 0; i < values.size(); ++i) stmt.bind(static_cast<int>(i + 1), *values[i]);
  stmt.run();
}

void Rows::update(std::string_view table, std::initializer_list<Col> set, std::initializer_list<Col> where) {
  const mdb::TableInfo* info = schema_.find(table);
  if (!info) throw Error("sample: " + db_.path().string() + " has no table " + std::string(table));
  std::vector<const Value*> values;
  std::string assignments, conditions;
  for (const Col& c : set) {
    if (!info->has_column(c.first)) continue;
    values.push_back(&c.second);
    assignments += (assignments.empty() ? "" : ", ") + sql::quote_ident(c.first) + " = ?" + std::to_string(values.size());
  }
  for (const Col& c : where) {
    values.push_back(&c.second);
    conditions += (conditions.empty() ? "" : " AND ") + sql::quote_ident(c.first) + " = ?" + std::to_string(values.size());
  }
  sql::Stmt& stmt = cached("UPDATE " + sql::quote_ident(table) + " SET " + assignments + " WHERE " + conditions);
  for (size_t i = 0; i < values.size(); ++i) stmt.bind(static_cast<int>(i + 1), *values[i]);
  stmt.run();
}

void Rows::run(std::string_view sql, std::initializer_list<Value> params) {
  sql::Stmt& stmt = cached(std::string(sql));
  int i = 0;
  for (const Value& v : params) stmt.bind(++i, v);
  stmt.run();
}

bool Rows::exists(std::string_view table, std::string_view column, int64_t value) {
  sql::Stmt& stmt = cached("SELECT 1 FROM " + sql::quote_ident(table) + " WHERE " + sql::quote_ident(column) + " = ?1");
  stmt.bind(1, value);
  bool found = stmt.step();
  stmt.reset();
  return found;
}

}  // namespace mdb::sample
