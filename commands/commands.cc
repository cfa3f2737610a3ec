#include "commands/commands.h"

#include <algorithm>

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
          {"--strict", o.strict},
          {"--dry-run", o.dry_run}};
}

std::vector<OptionSetting> option_settings(const BackupOptions& o) {
  return {{"-v/--verbosity", o.verbosity}, {"--zip", o.zip}, {"--tag", o.tags}};
}

std::vector<OptionSetting> option_settings(const RestoreOptions& o) {
  std::optional<std::string> file;
  if (!o.file.empty()) file = o.file;
  return {{"-f/--file", file}, {"-v/--verbosity", o.verbosity}, {"--only", o.only},
          {"--target", o.target},  {"--tag", o.tags},           {"--dry-run", o.dry_run}};
}

void require_file_option(const std::string& file) {
  if (file.empty()) throw UsageError("Option `-f/--file` is required.");
}

std::vector<std::string> checked_tags(const std::vector<std::string>& tags) {
  std::vector<std::string> out;
  for (const std::string& tag : tags) {
    bool bad = tag.empty() || tag.size() > 100;
    for (unsigned char c : tag) bad = bad || c <= ' ' || c == ',' || c == 0x7f;
    if (bad)
      throw UsageError("--tag '" + tag + "': a tag is 1 to 100 characters, without spaces, control characters or commas.");
    if (std::find(out.begin(), out.end(), tag) == out.end()) out.push_back(tag);
  }
  return out;
}

}  // namespace mdb
