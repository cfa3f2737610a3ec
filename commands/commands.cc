#include "commands/commands.h"

#include "base/error.h"

namespace mdb {

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


}  // namespace mdb
