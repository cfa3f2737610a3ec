// The `mephisto` binary: parses the command line (CLI11 lives only in this file because it
// is slow to compile) and dispatches to the commands. Usage errors exit 2 before any file is opened.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cli/examples.h"
#include "commands/commands.h"
#include "base/error.h"
#include "base/interrupt.h"
#include "base/malloc_policy.h"
#include "platform/fault_env.h"

namespace {

using namespace mdb;

// The original's multi-letter short names. CLI11 2.1 cannot register them, so the exact
// tokens are rewritten to their long names before parsing, and shown by the formatter.
const std::map<std::string, std::string>& multi_letter_shorts() {
  static const std::map<std::string, std::string> kShorts = {
      {"-tn", "--export-tasks-by-names"},      {"-ti", "--export-tasks-by-ids"},
      {"-tri", "--export-task-runs-by-ids"},   {"-trs", "--export-task-runs-since-date"},
      {"-del", "--delete-exported-data"},      {"-qo", "--qualification-only"},
      {"-qn", "--qualification-names"},        {"-cr", "--conflict-resolver"},
  };
  return kShorts;
}

std::vector<std::string> rewrite_args(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    for (const auto& [short_name, long_name] : multi_letter_shorts()) {
      if (a == short_name) {
        a = long_name;
        break;
      }
      if (a.rfind(short_name + "=", 0) == 0) {
        a = long_name + a.substr(short_name.size());
        break;
      }
    }
    out.push_back(a);
  }
  return out;
}

class Formatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override {
    std::string name = CLI::Formatter::make_option_name(opt, is_positional);
    for (const auto& [short_name, long_name] : multi_letter_shorts())
      if (opt->check_lname(long_name.substr(2))) return short_name + "," + name;
    return name;
  }
};

struct Parsed {
  GlobalOptions global;
  ExportOptions exp;
  ImportOptions imp;
  BackupOptions backup;
  RestoreOptions restore;
  SnapshotsOptions snapshots;
  LsOptions ls;
  FindOptions find;
  DiffOptions diff;
  StatsOptions stats;
  CopyOptions copy;
  VerifyOptions verify;
  PruneOptions prune;
  ForgetOptions forget;
  KeyOptions key;
  PasswordOptions password;
  std::string read_data_subset;
  std::string retry_lock;
  bool no_lock = false;
};

CLI::Option* repeatable(CLI::App* app, const std::string& names, std::vector<std::string>& into,
                        const std::string& help) {
  return app->add_option(names, into, help)->allow_extra_args(false)->type_name("VALUE");
}

// `-v` alone means 1, as in the original's documented `mephisto db export --verbosity`.
CLI::Option* verbosity(CLI::App* app, int& into) {
  return app
      ->add_option("-v,--verbosity", into, "Verbosity: 0 or 1 (1 adds details and error traces; -v alone means 1)")
      ->expected(0, 1)
      ->default_str("1")
      ->check(CLI::Range(0, 1))
      ->type_name("N");
}

CLI::App* command(CLI::App* db, const std::string& name, const std::string& help) {
  CLI::App* c = db->add_subcommand(name, help);
  c->fallthrough();
  return c;
}

void add_export(CLI::App* db, Parsed& p) {
  CLI::App* c = command(db, "export", "Export data into a dump zip (Mephisto-compatible JSON, Cap'n Proto, files)");
  ExportOptions& o = p.exp;
  repeatable(c, "--export-tasks-by-names", o.task_names, "Export the task runs of these tasks (by name)");
  repeatable(c, "--export-tasks-by-ids", o.task_ids, "Export the task runs of these tasks (by id)");
  repeatable(c, "--export-task-runs-by-ids", o.task_run_ids, "Export these task runs (by id)");
  c->add_option("--export-task-runs-since-date", o.since_date,
                "Export task runs created at or after this ISO 8601 date or datetime")
      ->type_name("DATE");
  repeatable(c, "-l,--labels", o.labels, "Export task runs imported under these labels");
  c->add_flag("--delete-exported-data", o.delete_exported, "After exporting, delete the exported data (asks first)");
  c->add_flag("-r,--randomize-legacy-ids", o.randomize_legacy_ids,
              "Replace legacy ids (< 1,000,000) with random ids in the dump");
  c->add_flag("--qualification-only", o.qualification_only,
              "Export only qualifications, granted qualifications and their workers");
  repeatable(c, "--qualification-names", o.qualification_names, "With -qo: only these qualifications");
  c->add_option("-i,--export-indent", o.indent, "JSON indent (default 2)")->type_name("N")->check(CLI::Range(0, 64));
  verbosity(c, o.verbosity);
}

void add_import(CLI::App* db, Parsed& p) {
  CLI::App* c = command(db, "import", "Import a dump zip atomically, merging conflicts");
  ImportOptions& o = p.imp;
  // -f is checked by the command, after its options block, as the original does.
  c->add_option("-f,--file", o.file, "Dump zip (required): a path, or a name in <outputs>/export/")->type_name("FILE");
  c->add_option("--conflict-resolver", o.conflict_resolver,
                "DefaultMergeConflictResolver (default), ExampleMergeConflictResolver, or a resolver JSON file")
      ->type_name("NAME_OR_FILE");
  repeatable(c, "-l,--labels", o.labels, "Labels stored in imported_data (default: the dump file name)");
  c->add_flag("-k,--keep-import-metadata", o.keep_import_metadata, "Also merge the dump's own imported_data rows");
  c->add_flag("--qualification-only", o.qualification_only, "Import a qualification-only dump");
  c->add_flag("--strict", o.strict,
              "Refuse a dump whose references neither the dump nor the data dir can satisfy (default: import "
              "them as they are, with a warning naming each)");
  c->add_flag("--dry-run", o.dry_run, "Show the rows and files the import would add; change nothing");
  verbosity(c, o.verbosity);
}

// ls and find: what the snapshots hold, read from the store alone.
void add_inspect_commands(CLI::App* db, Parsed& p) {
  CLI::App* l = command(db, "ls", "List a snapshot's entries (all, or PATH and what is under it)");
  l->footer("Example: mephisto db ls 2026_12_05_04_23_35_mephisto_backup data/runs --long\n");
  l->add_option("NAME", p.ls.name, "Snapshot name, unique id prefix or `latest` (as restore -f takes it)")->required();
  l->add_option("PATH", p.ls.path, "Only this entry and, for a directory, everything under it");
  l->add_flag("-l,--long", p.ls.long_format, "Also type and mode, uid:gid, size, mtime, link targets");

  CLI::App* f = command(db, "find", "Which snapshots hold a path matching a glob, newest first");
  f->footer("Example: mephisto db find 'data/runs/**/agent_data.json'\n"
            "* and ? do not match '/', ** does (**/ also matches nothing); [a-z] classes; whole paths\n");
  f->add_option("PATTERN", p.find.pattern, "Glob over the paths relative to the data dir")->required();

  CLI::App* d = command(db, "diff", "What changed from A to B: files, and rows of the databases by table and task run");
  d->footer("Example: mephisto db diff 2026_12_05_04_23_35_mephisto_backup now\n"
            "A and B: a snapshot name, unique id prefix or `latest`, a backup or dump zip, or `now` (the data dir). "
            "Exits 0 with or without differences.\n");
  d->add_option("A", p.diff.a, "The older side: snapshot, zip, or now")->required();
  d->add_option("B", p.diff.b, "The newer side: snapshot, zip, or now")->required();

  CLI::App* s = command(db, "stats", "Store size, deduplication and compression, and what each snapshot alone holds");
  s->footer("Example: mephisto db stats 2026_12_05_04_23_35_mephisto_backup\n");
  s->add_option("NAME", p.stats.name, "Only this snapshot (name, unique id prefix or `latest`)");
}

void add_store_commands(CLI::App* db, Parsed& p) {
  CLI::App* b = command(db, "backup", "Snapshot the data directory into the store");
  repeatable(b, "--tag", p.backup.tags, "Tag the snapshot (repeatable; see snapshots/prune/restore --tag)")
      ->type_name("TAG");
  b->add_flag("--zip", p.backup.zip, "Also write a zip in the original's backup format");
  verbosity(b, p.backup.verbosity);

  CLI::App* r = command(db, "restore", "Restore the data directory from a snapshot or a backup zip");
  r->add_option("-f,--file", p.restore.file, "Snapshot name, unique id prefix, `latest` (the newest snapshot), or backup zip (required)")
      ->type_name("NAME_OR_FILE");
  r->add_option("--only", p.restore.only, "Restore only this path (relative to the data dir)")->type_name("PATH");
  r->add_option("--target", p.restore.target, "Restore into this new or empty directory, not the data dir")
      ->type_name("DIR");
  repeatable(r, "--tag", p.restore.tags, "With -f latest: the newest backup with this tag")->type_name("TAG");
  r->add_flag("--dry-run", p.restore.dry_run, "Show the files restore would add, remove and change; change nothing");
  verbosity(r, p.restore.verbosity);

  CLI::App* sn = command(db, "snapshots", "List backups and automatic snapshots");
  repeatable(sn, "--tag", p.snapshots.tags, "Only snapshots with this tag (repeatable: any of them)")->type_name("TAG");
  add_inspect_commands(db, p);

  CLI::App* cp = command(db, "copy", "Copy snapshots into another store (a directory or s3://), data dir untouched");
  cp->add_option("--to", p.copy.to, "The store to copy into (created when missing)")->type_name("STORE")->required();
  cp->add_option("NAME", p.copy.names, "Snapshots to copy (names, unique id prefixes or `latest`); all when none")
      ->type_name("NAME...");
  PasswordOptions& to = p.copy.to_password;
  cp->add_option("--to-password-file", to.file,
                 "The target's password from FILE; else env MEPHISTO_TO_PASSWORD_FILE, MEPHISTO_TO_PASSWORD_COMMAND, "
                 "MEPHISTO_TO_PASSWORD; else the source's password")
      ->type_name("FILE")
      ->excludes(cp->add_option("--to-password-command", to.command, "The target's password from CMD")
                     ->type_name("CMD"));
  cp->add_flag("--to-encrypt", to.encrypt, "A new local target is encrypted (it is anyway when the source is)")
      ->excludes(cp->add_flag("--to-no-encryption", to.no_encryption, "A new target (S3 included) is not encrypted"));

  CLI::App* v = command(db, "verify", "Check the store (or a dump/backup zip with -f)");
  CLI::Option* rd = v->add_flag("--read-data", p.verify.read_data, "Decompress and re-hash every blob");
  CLI::Option* rds = v->add_option("--read-data-subset", p.read_data_subset, "Re-hash this percent of the blobs")
                         ->type_name("PERCENT");
  rd->excludes(rds);
  v->add_flag("--repair-index", p.verify.repair_index, "Rebuild the index from the packs");
  CLI::Option* rp = v->add_flag("--repair", p.verify.repair,
                                "With --read-data: store damaged blobs anew from the data dir, drop the rest");
  rp->needs(rd);
  CLI::Option* vf =
      v->add_option("-f,--file", p.verify.file, "Check a dump or backup zip instead of the store")->type_name("ZIP");
  rp->excludes(vf);

  CLI::App* pr = command(db, "prune", "Forget snapshots outside the policy and reclaim space");
  pr->add_option("--keep-last", p.prune.keep_last, "Keep the N newest backups of each data dir")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  pr->add_option("--keep-within", p.prune.keep_within, "Keep backups newer than this (e.g. 30d, 12h, 2w)")
      ->type_name("DURATION");
  pr->add_option("--keep-auto", p.prune.keep_auto,
                 "Keep the N newest automatic snapshots (before import/restore/export) of each data dir (default 3)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  for (auto [name, into, what] : {std::tuple{"--keep-hourly", &p.prune.keep_hourly, "hours"},
                                  {"--keep-daily", &p.prune.keep_daily, "days"},
                                  {"--keep-weekly", &p.prune.keep_weekly, "ISO weeks"},
                                  {"--keep-monthly", &p.prune.keep_monthly, "months"},
                                  {"--keep-yearly", &p.prune.keep_yearly, "years"}})
    pr->add_option(name, *into, std::string("Keep the newest backup of each of the last N ") + what + " that have one")
        ->type_name("N")
        ->check(CLI::PositiveNumber);
  repeatable(pr, "--keep-tag", p.prune.keep_tags, "Keep the backups with this tag")->type_name("TAG");
  repeatable(pr, "--tag", p.prune.tags, "Consider only snapshots with this tag; keep the rest")->type_name("TAG");
  pr->add_flag("--dry-run", p.prune.dry_run, "Show what would be forgotten and the space freed; change nothing");

  CLI::App* fg = command(db, "forget", "Forget these snapshots and reclaim the space only they use");
  fg->add_option("NAME", p.forget.names, "Snapshot names or unique id prefixes")->required();
  fg->add_flag("--dry-run", p.forget.dry_run, "Show what would be forgotten and the space freed; change nothing");
}

// One example per command (cli/examples.h), shown at the end of its --help.
void add_examples(CLI::App* db) {
  for (CLI::App* c : db->get_subcommands({})) {
    auto it = command_examples().find(c->get_name());
    if (it != command_examples().end()) c->footer("Example: " + it->second + "\n");
  }
}

void add_key_command(CLI::App* app, CLI::App* db, Parsed& p) {
  CLI::App* k = command(db, "key", "Manage the passwords (keys) of an encrypted store")->require_subcommand(1);
  for (auto [action, help] : std::map<std::string, std::string>{{"list", "List the keys"}, {"add", "Add a key"},
           {"remove", "Remove a key (not the last, not the one in use)"}, {"passwd", "Replace the current key"}}) {
    CLI::App* a = k->add_subcommand(action, help)->fallthrough();
    a->callback([&p, action = action] { p.key.action = action; });
    if (action == "remove") a->add_option("ID", p.key.id, "Key id or a unique prefix")->required();
  }
  app->add_option("--password-file", p.password.file, "Store password from FILE (else env MEPHISTO_PASSWORD_FILE)");
  app->add_option("--password-command", p.password.command, "Store password from CMD (MEPHISTO_PASSWORD_COMMAND)");
  app->add_option("--new-password-file", p.password.new_file, "key add, key passwd: the new password, from FILE");
  app->add_flag("--encrypt", p.password.encrypt, "A new local store is encrypted");
  app->add_flag("--no-encryption", p.password.no_encryption, "A new S3 store is not encrypted");
}

[[noreturn]] void conflict(const std::vector<std::string>& names, const std::string& advice) {
  std::string msg = "You cannot use these options together:";
  for (const std::string& n : names) msg += " " + n;
  throw UsageError(msg + ". " + advice);
}

std::string label(const std::string& long_name) {
  for (const auto& [s, l] : multi_letter_shorts())
    if (l == long_name) return s + "/" + l;
  static const std::map<std::string, std::string> kSingle = {
      {"--labels", "-l"}, {"--randomize-legacy-ids", "-r"}, {"--keep-import-metadata", "-k"}};
  auto it = kSingle.find(long_name);
  return it == kSingle.end() ? long_name : it->second + "/" + long_name;
}

void check_export_rules(const ExportOptions& o) {
  std::vector<std::string> filters;
  if (!o.task_names.empty()) filters.push_back(label("--export-tasks-by-names"));
  if (!o.task_ids.empty()) filters.push_back(label("--export-tasks-by-ids"));
  if (!o.task_run_ids.empty()) filters.push_back(label("--export-task-runs-by-ids"));
  if (o.since_date) filters.push_back(label("--export-task-runs-since-date"));
  if (!o.labels.empty()) filters.push_back(label("--labels"));
  if (o.qualification_only) {
    std::vector<std::string> bad = filters;
    if (o.delete_exported) bad.push_back(label("--delete-exported-data"));
    if (o.randomize_legacy_ids) bad.push_back(label("--randomize-legacy-ids"));
    if (!bad.empty()) {
      bad.insert(bad.begin(), label("--qualification-only"));
      conflict(bad, "Use -qo/--qualification-only or the other options, not both.");
    }
  }
  if (filters.size() > 1) conflict(filters, "Use one of them, or none of them to export all data.");
  if (!o.qualification_names.empty() && !o.qualification_only)
    throw UsageError("You cannot use option -qn/--qualification-names without -qo/--qualification-only.");
}

void check_import_rules(const ImportOptions& o) {
  if (!o.qualification_only) return;
  std::vector<std::string> bad;
  if (!o.labels.empty()) bad.push_back(label("--labels"));
  if (o.keep_import_metadata) bad.push_back(label("--keep-import-metadata"));
  if (!bad.empty()) {
    bad.insert(bad.begin(), label("--qualification-only"));
    conflict(bad, "A qualification-only import takes no labels and no import metadata.");
  }
}

std::optional<double> parse_percent(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::string t = text.back() == '%' ? text.substr(0, text.size() - 1) : text;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !(v > 0 && v <= 100))
    throw UsageError("--read-data-subset: '" + text + "' is not a percentage in (0, 100].");
  return v;
}

// The word typed where the command goes: after `db`, or in place of `db` (`after_db` false).
// Options and the values of the global options are skipped; empty when there is no word.
struct TypedCommand {
  std::string word;
  bool after_db = false;
};

TypedCommand typed_command(const std::vector<std::string>& args) {
  static const std::set<std::string> kTakesValue = {"--data-dir",         "--outputs-dir",      "--store",
                                                    "--password-file",    "--password-command", "--new-password-file",
                                                    "--retry-lock"};
  bool after_db = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (kTakesValue.count(args[i])) {
      ++i;
      continue;
    }
    if (args[i].empty() || args[i][0] == '-') continue;
    if (after_db || args[i] != "db") return {args[i], after_db};
    after_db = true;
  }
  return {};
}

// The word given where a command was expected, if it is not a known command: CLI11 only
// says "A subcommand is required", which does not name the mistake.
std::optional<std::string> unknown_command(const std::vector<std::string>& args, const CLI::App& db) {
  TypedCommand typed = typed_command(args);
  if (typed.word.empty()) return std::nullopt;
  if (typed.after_db)
    for (const CLI::App* c : db.get_subcommands({}))
      if (c->get_name() == typed.word) return std::nullopt;
  return typed.word;
}

// A usage error found by the parser: the message on stderr and, with --json, the one object.
int usage_error(const std::vector<std::string>& args, const std::string& message) {
  std::cerr << message << "\nRun with --help for more information.\n";
  if (std::find(args.begin(), args.end(), "--json") == args.end()) return 2;
  Console console(true, false);
  console.set("ok", false);
  console.set("error", message);
  console.set("kind", std::string(kind_name(ErrorKind::Usage)));
  console.finish(2, typed_command(args).word);
  return 2;
}

int dispatch(CLI::App& db, Parsed& p, Context& ctx) {
  CLI::App* sub = db.get_subcommands().front();
  std::string name = sub->get_name();
  if (name == "export") return run_export(ctx, p.exp);
  if (name == "import") return run_import(ctx, p.imp);
  if (name == "backup") return run_backup(ctx, p.backup);
  if (name == "restore") return run_restore(ctx, p.restore);
  if (name == "snapshots") return run_snapshots(ctx, p.snapshots);
  if (name == "ls") return run_ls(ctx, p.ls);
  if (name == "find") return run_find(ctx, p.find);
  if (name == "diff") return run_diff(ctx, p.diff);
  if (name == "stats") return run_stats(ctx, p.stats);
  if (name == "copy") return run_copy(ctx, p.copy);
  if (name == "verify") return run_verify(ctx, p.verify);
  if (name == "forget") return run_forget(ctx, p.forget);
  if (name == "key") return run_key(ctx, p.key);
  return run_prune(ctx, p.prune);
}

// MDB_FAULT, MDB_FAULT_COUNT, MDB_FAULT_TRACE and MDB_FAULT_CLOCK (platform/fault_env.h): when
// any is set, the process runs on a FaultEnv over the real Env. The only place these are read.
void use_fault_env_from_environment() {
  const char* fault = std::getenv("MDB_FAULT");
  const char* count = std::getenv("MDB_FAULT_COUNT");
  const char* trace = std::getenv("MDB_FAULT_TRACE");
  const char* clock = std::getenv("MDB_FAULT_CLOCK");
  if (!fault && !count && !trace && !clock) return;
  // Static: it lives until exit, which writes the count.
  static fs::FaultEnv faults(fs::posix_env(), fs::FaultSpec::parse(fault ? fault : ""), count ? count : "",
                             trace ? trace : "");
  if (clock) faults.set_clock(std::strtoll(clock, nullptr, 10));
  static fs::UseEnv use(faults);
}

// A failed command: `line` on stderr and, with --json, the one object with `error`.
int failed(Console& console, const std::string& command, const std::string& line, const std::string& error,
           ErrorKind kind, int code, const std::string& signal = "") {
  std::cerr << line << "\n";
  if (!console.json()) return code;
  console.set("ok", false);
  console.set("error", error);
  console.set("kind", std::string(kind_name(kind)));
  if (!signal.empty()) console.set("signal", signal);
  console.finish(code, command);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  return_large_blocks_to_the_system();
  use_fault_env_from_environment();
  interrupt::install();
  Parsed p;
  CLI::App app{"mephisto-db: fast, crash-safe export, import, backup and restore of Mephisto data directories",
               "mephisto"};
  app.formatter(std::make_shared<Formatter>());
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("mephisto-db ") + MDB_VERSION +
                                        " (the mephisto db commands of Mephisto 1.5.2)");
  app.add_option("--data-dir", p.global.data_dir,
                 "Mephisto data directory (else env MEPHISTO_DATA_DIR, else core.main_data_directory in "
                 "~/.mephisto/config.yml)")
      ->type_name("DIR");
  app.add_option("--outputs-dir", p.global.outputs_dir,
                 "Outputs directory (else env MEPHISTO_OUTPUTS_DIR, else outputs/ beside the data dir)")
      ->type_name("DIR");
  app.add_option("--store", p.global.store, "Blob store directory (else env MEPHISTO_STORE, else <outputs>/store)")
      ->type_name("DIR");
  app.add_flag("--json", p.global.json, "Print one JSON object with the result instead of prose");
  app.add_flag("-y,--yes", p.global.yes, "Do not ask for confirmation");
  app.add_option("--retry-lock", p.retry_lock, "Wait up to DURATION (e.g. 5m) for a locked store")->type_name("DURATION");
  app.add_flag("--no-lock", p.no_lock, "Read a shared store without a lock object (read-only credentials)");
  CLI::App* db = app.add_subcommand("db", "Export, import, back up and restore Mephisto data");
  db->fallthrough();
  db->require_subcommand(1);
  add_export(db, p);
  add_import(db, p);
  add_store_commands(db, p);
  add_key_command(&app, db, p);
  add_examples(db);

  std::vector<std::string> args = rewrite_args(argc, argv);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes a reversed vector
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    if (auto word = unknown_command(args, *db))
      return usage_error(args, "Unknown command '" + *word +
                                   "'. Commands: mephisto db export | import | backup | restore | snapshots | ls | find "
                                   "| diff | stats | copy | verify | prune | forget | key.");
    return usage_error(args, e.what());
  }
  const std::string command = db->get_subcommands().front()->get_name();

  Console console(p.global.json, p.global.yes);
  try {
    check_export_rules(p.exp);
    check_import_rules(p.imp);
    p.verify.read_data_subset = parse_percent(p.read_data_subset);
    install_password_sources(p.password);
    install_lock_settings(p.retry_lock, p.no_lock, command, console);
    Context ctx(p.global, console);
    int rc = dispatch(*db, p, ctx);
    if (int sig = interrupt::received())  // it came after the last point where stopping was safe
      console.warn(interrupt::signal_name(sig) + " arrived after the point where the command could stop: it ran "
                   "to completion.");
    console.finish(rc, command);
    return rc;
  } catch (const interrupt::Interrupted& e) {
    std::string line = "Interrupted: " + (e.outcome().empty() ? std::string("nothing was changed.") : e.outcome());
    return failed(console, command, line, line, e.kind(), e.exit_code(), interrupt::signal_name(e.signal()));
  } catch (const mdb::Error& e) {
    return failed(console, command, std::string("Error: ") + e.what(), e.what(), e.kind(), e.exit_code());
  } catch (const std::exception& e) {
    return failed(console, command, std::string("Error: ") + e.what() + "\nNothing was changed.",
                  std::string(e.what()) + " Nothing was changed.", ErrorKind::Failure, 1);
  }
}
