#include "export/dangling.h"

#include "export/export_select.h"

namespace mdb {

namespace {

constexpr size_t kListedOnTerminal = 20;

std::string show(const Value& v) { return v.kind == StorageClass::Text ? "\"" + v.s + "\"" : v.to_string(); }

std::string qi(std::string_view name) { return sql::quote_ident(name); }

// The statement listing (key, value) of the selected rows of `r.table` whose reference finds no
// target row; for a JSON id list, one line per id that finds none.
std::string dangling_sql(const Source& src, const Selection& sel, const Reference& r, const std::string& key) {
  std::string source = src.qualified(r.db, r.table), target = src.qualified(r.target_db, r.target_table);
  std::string selected = sel.selects_all(r.db, r.table) ? "" : " AND s.rowid IN (" + sel.rowids_sql(r.db, r.table) + ")";
  std::string col = "s." + qi(r.column);
  std::string value = col, from = source + " AS s";
  if (r.kind == RefKind::JsonIdList) {
    value = "j.value";
    from += ", json_each(CASE WHEN json_valid(" + col + ") THEN " + col + " ELSE '[]' END) AS j";
  }
  return "SELECT " + key + ", " + value + " FROM " + from + " WHERE " + value + " IS NOT NULL" + selected +
         " AND NOT EXISTS (SELECT 1 FROM " + target + " AS t WHERE t." + qi(r.target_column) + " = " + value +
         ") ORDER BY s.rowid";
}

}  // namespace

std::string DanglingReference::sentence(std::string_view nobody) const {
  std::string row = key_column.empty() ? key.to_string() : key_column + " " + show(key);
  return "Database `" + db + "`, table `" + table + "`, row " + row + ", column `" + column + "`: refers to " +
         target_table + "." + target_column + " " + show(missing) + ", which " + std::string(nobody) + ".";
}

nlohmann::ordered_json DanglingReference::to_json() const {
  nlohmann::ordered_json row = nlohmann::ordered_json::object();
  row[key_column.empty() ? "index" : key_column] = key.to_string();
  return {{"db", db},          {"table", table},
          {"row", row},        {"column", column},
          {"target", target_table + "." + target_column},
          {"missing", missing.to_string()}};
}

void report_dangling(Console& console, const std::string& heading, const std::vector<DanglingReference>& refs,
                     std::string_view nobody) {
  if (refs.empty()) return;
  console.warn(heading);
  for (size_t i = 0; i < refs.size() && i < kListedOnTerminal; ++i) console.warn("  - " + refs[i].sentence(nobody));
  if (refs.size() > kListedOnTerminal)
    console.warn("  - ... and " + std::to_string(refs.size() - kListedOnTerminal) +
                 " more (--json lists every one)");
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const DanglingReference& r : refs) list.push_back(r.to_json());
  console.set("dangling_references", std::move(list));
}

std::vector<DanglingReference> dangling_in_selection(Source& src, const Selection& sel) {
  std::vector<DanglingReference> out;
  for (const DumpDb& d : sel.layout()) {
    if (!d.db || !src.attached(*d.db)) continue;
    for (const std::string& table : d.tables) {
      const TableInfo* info = src.schema(*d.db).find(table);
      if (!info) continue;
      std::string pk = info->primary_key();
      std::string key = pk.empty() ? "s.rowid" : "s." + qi(pk);
      for (const Reference& r : src.references()) {
        if (r.db != *d.db || r.table != table) continue;
        sql::Stmt s = src.conn().prepare(dangling_sql(src, sel, r, key));
        while (s.step())
          out.push_back({std::string(d.key), table, pk, s.column(0), r.column, r.target_table, r.target_column,
                         s.column(1)});
      }
    }
  }
  return out;
}

}  // namespace mdb
