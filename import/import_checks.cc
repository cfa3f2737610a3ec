#include "import/import_checks.h"

#include "dump/dump_values.h"
#include "datadir/datadir.h"

namespace mdb {

namespace {

// The ids a reference value holds; nullopt when a JSON id list is not one.
std::optional<std::vector<Value>> ids_of(const ImportRef& r, const Value& v) {
  if (r.kind == RefKind::JsonIdList) return parse_id_list(v);
  return std::vector<Value>{v};
}

}  // namespace

ImportChecks::ImportChecks(Dump& dump, ImportTables& tables, const ImportSettings& settings)
    : dump_(dump), tables_(tables), settings_(settings) {}

void ImportChecks::check_metadata(Problems& problems) {
  const nlohmann::ordered_json& meta = dump_.metadata();
  if (!meta.is_object()) {
    problems.add("Dump file has to contain metadata under `dump_metadata` key.");
    return;
  }
  bool dump_qo = false;
  if (meta.contains("export_options") && meta["export_options"].is_object()) {
    const auto& opts = meta["export_options"];
    auto it = opts.find("-qo/--qualification-only");
    dump_qo = it != opts.end() && it->is_boolean() && it->get<bool>();
  }
  if (settings_.qualification_only && !dump_qo)
    problems.add("You cannot use `--qualification-only` option to import a regular dump file.");
  if (!settings_.qualification_only && dump_qo)
    problems.add("You cannot use regular import with a qualification-only dump file.");
}

void ImportChecks::check_tables(Problems& problems) {
  for (DumpTable& dt : dump_.tables()) {
    if (dt.items == 0) continue;
    std::string where = "Your local `" + std::string(db_spec(dt.db).key) + "` database";
    const TableSpec* spec = find_table_spec(dt.db, dt.name);
    const TableInfo* local = dt.db == DbId::Inhouse ? nullptr : tables_.local_table(dt.db, dt.name);
    if (!local || !spec) {
      problems.add(where + " does not have table '" + dt.name + "'.");
      continue;
    }
    if (spec->import_rank < 0) continue;  // imported_data (with -k), migrations: not imported as rows
    for (const std::string& c : dt.columns)
      if (!local->has_column(c)) problems.add(where + " does not have column '" + c + "' in table '" + dt.name + "'.");
    if (!spec->pk.empty() && dt.column(spec->pk) < 0)
      problems.add("Database `" + std::string(db_spec(dt.db).key) + "`, table `" + dt.name + "`: the rows lack their key `" +
                   std::string(spec->pk) + "`.");
  }
}

void ImportChecks::check_duplicates(Problems& problems) {
  for (DumpTable* dt : tables_.ordered()) {
    ImportTable& t = tables_.info(*dt);
    std::vector<std::vector<int>> keys;
    if (t.pk >= 0) keys.push_back({t.pk});
    if (!t.natural.empty()) keys.push_back(t.natural);
    for (const std::vector<int>& key : keys) {
      std::string cols, names;
      for (int c : key) {
        cols += (cols.empty() ? "c" : ", c") + std::to_string(c);
        names += (names.empty() ? "" : ", ") + dt->columns[c];
      }
      sql::Stmt s = dump_.stage().prepare("SELECT " + cols + ", count(*) FROM " + dt->stage + " GROUP BY " + cols +
                                          " HAVING count(*) > 1 LIMIT 10");
      while (s.step()) {
        std::string values;
        for (size_t i = 0; i < key.size(); ++i) values += (i ? ", " : "") + show_key(s.column(static_cast<int>(i)));
        problems.add("Database `" + std::string(db_spec(dt->db).key) + "`, table `" + dt->name + "`: " +
                     std::to_string(s.column_int(static_cast<int>(key.size()))) + " rows have the same " + names +
                     " (" + values + ").");
      }
    }
  }
}

// A NULL where the local schema says NOT NULL would fail the row's INSERT inside the transaction
// (as it fails the original's import): refused here instead, naming the rows.
void ImportChecks::check_not_null(Problems& problems) {
  for (DumpTable* dt : tables_.ordered()) {
    ImportTable& t = tables_.info(*dt);
    if (!t.local) continue;
    for (const ColumnInfo& c : t.local->columns) {
      int col = dt->column(c.name);
      if (!c.notnull || c.pk > 0 || col < 0) continue;
      std::string key = t.pk >= 0 ? "c" + std::to_string(t.pk) : "rowid - 1";
      sql::Stmt s = dump_.stage().prepare("SELECT " + key + " FROM " + dt->stage + " WHERE c" + std::to_string(col) +
                                          " IS NULL ORDER BY rowid LIMIT 10");
      while (s.step()) {
        std::string row =
            t.pk >= 0 ? dt->columns[t.pk] + " " + show_key(s.column(0)) : std::to_string(s.column_int(0));
        problems.add("Database `" + std::string(db_spec(dt->db).key) + "`, table `" + dt->name + "`, row " + row +
                     ", column `" + c.name + "`: null, but the column is NOT NULL.");
      }
    }
  }
}

void ImportChecks::check_references(Problems& problems, std::vector<DanglingReference>& dangling) {
  for (DumpTable* dt : tables_.ordered()) {
    ImportTable& t = tables_.info(*dt);
    for (const ImportRef& r : t.refs) check_reference(t, r, problems, dangling);
  }
}

void ImportChecks::check_reference(const ImportTable& t, const ImportRef& r, Problems& problems,
                                   std::vector<DanglingReference>& dangling) {
  DumpTable* dt = t.dt;
  DumpTable* target = dump_.table(r.target_db, r.target_table);
  int target_col = target ? target->column(r.target_column) : -1;
  const TableInfo* local_target = tables_.local_table(r.target_db, r.target_table);
  std::string col = "c" + std::to_string(r.index);
  std::string cols = col + (t.pk >= 0 ? ", c" + std::to_string(t.pk) : "");
  std::string filter = "src." + col + " IS NOT NULL";
  if (target_col >= 0 && r.kind != RefKind::JsonIdList) {
    // Rows whose value is a target's value as it is (what as_key keeps unchanged) pass the loop
    // below without a problem or a dangling reference: SQLite leaves them out in one join instead
    // of a lookup a row (most of the checks' time was these lookups).
    dump_.index_column(*target, target_col);
    filter += " AND NOT (" + (r.integer_target ? "typeof(src." + col + ") = 'integer'" : std::string("1")) +
              " AND EXISTS (SELECT 1 FROM " + target->stage + " AS target WHERE target.c" +
              std::to_string(target_col) + " = src." + col + "))";
  }
  sql::Stmt rows = dump_.stage().prepare("SELECT rowid, " + cols + " FROM " + dt->stage + " AS src WHERE " + filter +
                                         " ORDER BY rowid");
  while (rows.step()) {
    Value v = rows.column(1);
    auto where = [&] {  // named only for a problem: most rows have none
      Row key_row(dt->columns.size());
      if (t.pk >= 0) key_row[t.pk] = rows.column(2);
      return tables_.row_name(t, key_row, rows.column_int(0) - 1) + ", column `" + r.column + "`: ";
    };
    std::optional<std::vector<Value>> ids = ids_of(r, v);
    if (!ids) {
      problems.add(where() + show_key(v) + " is not a JSON list of ids.");
      continue;
    }
    for (const Value& id : *ids) {
      std::optional<Value> key = as_key(id, r.integer_target || r.kind == RefKind::JsonIdList);
      if (!key) {
        problems.add(where() + show_key(id) + " is not an id of " + r.target_table + ".");
        continue;
      }
      bool found = (target_col >= 0 && dump_.has_value(*target, target_col, *key)) ||
                   (local_target && tables_.local_has(r.target_db, r.target_table, r.target_column, *key));
      if (!found)  // imported as it is, with a warning (import.md "References that nothing satisfies")
        dangling.push_back({std::string(db_spec(dt->db).key), dt->name, t.pk >= 0 ? dt->columns[t.pk] : std::string(),
                            t.pk >= 0 ? rows.column(2) : Value::integer(rows.column_int(0) - 1), r.column,
                            r.target_table, r.target_column, *key});
    }
  }
}

void ImportChecks::check_project_dirs(Problems& problems) {
  DumpTable* projects = dump_.table(DbId::Mephisto, "projects");
  int name = projects ? projects->column("project_name") : -1;
  if (name < 0) return;
  ImportTable& t = tables_.info(*projects);
  sql::Stmt rows = dump_.stage().prepare("SELECT rowid, " + (t.pk >= 0 ? "c" + std::to_string(t.pk) : "NULL") +
                                         ", c" + std::to_string(name) + " FROM " + projects->stage + " ORDER BY rowid");
  while (rows.step()) {
    Value v = rows.column(2);
    std::string problem = project_dir_problem(v);
    if (problem.empty()) continue;
    Row key_row(projects->columns.size());
    if (t.pk >= 0) key_row[t.pk] = rows.column(1);
    problems.add(tables_.row_name(t, key_row, rows.column_int(0) - 1) + ", column `project_name`: " + show_key(v) +
                 " cannot be the directory data/runs/<project_name>/ of its task runs' files: it " + problem +
                 " (docs/PATHS.md).");
  }
}

void ImportChecks::check_files(Problems& problems) {
  DumpTable* runs = dump_.table(DbId::Mephisto, "task_runs");
  int run_col = runs ? runs->column("task_run_id") : -1;
  dump_.for_each_file([&](const DumpFile& f) {
    std::string path = dump_.path(f);
    stdfs::path p(path);
    std::vector<std::string> parts;
    for (const auto& part : p) parts.push_back(part.string());
    std::optional<int64_t> run = parts.size() >= 3 ? parse_integer_text(parts[1]) : std::nullopt;
    if (!run || run_col < 0 || !dump_.has_value(*runs, run_col, Value::integer(*run)))
      problems.add("The zip holds the file runs/" + path +
                   ", which is not in the run dir (runs/<project>/<task run>/) of a task run of the dump.");
  });
}

}  // namespace mdb
