#include "core/commands.h"

#include <cctype>
#include <cstring>

#include "formats/error.h"

namespace mdb::core {

const Locations& Context::locations() {
  if (!locations_) locations_ = resolve_locations(global);
  return *locations_;
}

std::vector<OptionSetting> option_settings(const ImportOptions& o) {
  std::optional<std::string> file;
  if (!o.file.empty()) file = o.file;
  return {{"-f/--file", file},
          {"-l/--labels", o.labels},
          {"-cr/--conflict-resolver", std::optional<std::string>(o.conflict_resolver)},
          {"-k/--keep-import-metadata", o.keep_import_metadata},
          {"-qo/--qualification-only", o.qualification_only},
          {"-v/--verbosity", o.verbosity},
          {"--strict", o.strict}};
}

std::vector<OptionSetting> option_settings(const BackupOptions& o) {
  return {{"-v/--verbosity", o.verbosity}, {"--zip", o.zip}};
}

std::vector<OptionSetting> option_settings(const RestoreOptions& o) {
  std::optional<std::string> file;
  if (!o.file.empty()) file = o.file;
  return {{"-f/--file", file}, {"-v/--verbosity", o.verbosity}, {"--only", o.only}};
}

void require_file_option(const std::string& file) {
  if (file.empty()) throw UsageError("Option `-f/--file` is required.");
}

namespace {
// Single quotes around anything a POSIX shell would split or expand.
std::string shell_word(const std::string& s) {
  bool plain = !s.empty();
  for (unsigned char c : s)
    if (!std::isalnum(c) && !std::strchr("_-./=:,+@%", c)) plain = false;
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

std::string restore_command(Context& ctx, const std::string& snapshot) {
  std::string cmd = "mephisto";
  const Locations& where = ctx.locations();
  if (ctx.global.data_dir) cmd += " --data-dir " + shell_word(where.data_dir.string());
  if (ctx.global.outputs_dir) cmd += " --outputs-dir " + shell_word(where.outputs_dir.string());
  if (ctx.global.store) cmd += " --store " + shell_word(where.store_dir.string());
  return cmd + " db restore -f " + shell_word(snapshot);
}

void not_available_yet(const char* command) {
  throw Error(std::string("mephisto db ") + command + " is not available yet in this build. Nothing was changed.");
}

}  // namespace mdb::core
