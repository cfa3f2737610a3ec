#include "import/import_repair.h"

#include "dump/dump_values.h"

namespace mdb {

ImportRepair::ImportRepair(Dump& dump, ImportTables& tables, KeyMap& keys)
    : dump_(dump), tables_(tables), keys_(keys) {}

void ImportRepair::run(std::vector<std::pair<std::string, int64_t>>& restored) {
  const nlohmann::ordered_json& meta = dump_.metadata();
  if (!meta.is_object() || !meta.contains("pk_substitutions") || !meta["pk_substitutions"].is_object()) return;
  const auto& subs = meta["pk_substitutions"];
  undo_needless_substitutions(subs, restored);
  for (DumpTable* dt : tables_.ordered())
    for (const ImportRef& r : tables_.info(*dt).refs)
      if (r.integer_target || r.kind == RefKind::JsonIdList)
        rewrite_staged(*dt, r.index, [&](const Value& v) {
          return map_ids(r.kind, true, v, [&](const Value& key) { return substitute(subs, r, key); });
        });
  if (subs.contains("mephisto") && subs["mephisto"].contains("onboarding_agents") &&
      subs["mephisto"]["onboarding_agents"].is_object())
    for (const auto& [old, now] : subs["mephisto"]["onboarding_agents"].items())
      if (now.is_string()) keys_.onboarding_ids[old] = now.get<std::string>();
}

// The original's -r rewrote primary keys but not every reference to them: a reference still
// holding an old key (absent from the dump's target table) gets the new one.
std::optional<Value> ImportRepair::substitute(const nlohmann::ordered_json& subs, const ImportRef& r,
                                              const Value& key) {
  const std::string db_key(db_spec(r.target_db).key);
  if (!subs.contains(db_key) || !subs[db_key].is_object() || !subs[db_key].contains(r.target_table)) return std::nullopt;
  const auto& table_subs = subs[db_key][r.target_table];
  std::string old = key.to_string();
  if (!table_subs.is_object() || !table_subs.contains(old) || !table_subs[old].is_string()) return std::nullopt;
  DumpTable* target = dump_.table(r.target_db, r.target_table);
  if (target && target->column(r.target_column) >= 0 && dump_.has_value(*target, target->column(r.target_column), key))
    return std::nullopt;
  std::optional<int64_t> id = parse_integer_text(table_subs[old].get<std::string>());
  if (!id) return std::nullopt;
  return Value::integer(*id);
}

// The original's -r also replaced ids that were not legacy (>= 1,000,000: already random, so
// already identities), e.g. every prolific id (defect 9). Such a row gets its id back, so a dump
// and its `-r` twin recognise each other's rows instead of clashing on their other unique columns.
void ImportRepair::undo_needless_substitutions(const nlohmann::ordered_json& subs,
                                               std::vector<std::pair<std::string, int64_t>>& restored) {
  for (const auto& [db_key, tables] : subs.items()) {
    std::optional<DbId> db = db_from_key(db_key);
    if (!db || !tables.is_object()) continue;
    for (const auto& [table, pairs] : tables.items())
      if (int64_t n = restore_ids(*db, table, pairs); n > 0) restored.push_back({db_key + "." + table, n});
  }
  // References to those rows follow them back (through the same key map as the import itself).
  if (keys_.empty()) return;
  for (DumpTable* dt : tables_.ordered())
    for (const ImportRef& r : tables_.info(*dt).refs)
      if (keys_.maps({r.target_db, r.target_table, r.target_column}))
        rewrite_staged(*dt, r.index, [&](const Value& v) { return keys_.map_ref(r, v); });
  keys_.clear();
}

// Gives the rows of one table whose ids -r replaced needlessly their old ids; returns how many.
int64_t ImportRepair::restore_ids(DbId db, const std::string& table, const nlohmann::ordered_json& pairs) {
  DumpTable* dt = dump_.table(db, table);
  const TableSpec* spec = find_table_spec(db, table);
  if (!dt || !pairs.is_object() || !integer_keyed(spec) || dt->column(spec->pk) < 0) return 0;
  int pk = dt->column(spec->pk);
  int64_t restored = 0;
  sql::Stmt update = dump_.stage().prepare("UPDATE " + dt->stage + " SET c" + std::to_string(pk) + " = ?1 WHERE c" +
                                           std::to_string(pk) + " = ?2");
  for (const auto& [old_text, now] : pairs.items()) {
    std::optional<int64_t> old = parse_integer_text(old_text);
    std::optional<int64_t> id = now.is_string() ? parse_integer_text(now.get<std::string>()) : std::nullopt;
    if (!old || !id || *old < kLegacyIdLimit || dump_.has_value(*dt, pk, Value::integer(*old))) continue;
    update.bind(1, *old).bind(2, *id);
    update.run();
    restored += sqlite3_changes64(dump_.stage().get());
    keys_.set({db, table, std::string(spec->pk)}, Value::integer(*id), Value::integer(*old));
  }
  return restored;
}

void ImportRepair::rewrite_staged(DumpTable& dt, int column,
                                  const std::function<std::optional<Value>(const Value&)>& f) {
  std::string c = "c" + std::to_string(column);
  sql::Stmt rows = dump_.stage().prepare("SELECT rowid, " + c + " FROM " + dt.stage + " WHERE " + c + " IS NOT NULL");
  std::vector<std::pair<int64_t, Value>> changes;
  while (rows.step())
    if (std::optional<Value> now = f(rows.column(1))) changes.push_back({rows.column_int(0), *now});
  sql::Stmt update = dump_.stage().prepare("UPDATE " + dt.stage + " SET " + c + " = ?1 WHERE rowid = ?2");
  for (const auto& [rowid, value] : changes) {
    update.bind(1, value).bind(2, rowid);
    update.run();
  }
}

}  // namespace mdb
