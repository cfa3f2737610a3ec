#pragma once
// Where the data dir, the outputs dir and the store are (cli.md, "Where things are").
#include <filesystem>
#include <optional>
#include <string>

namespace mdb {

namespace stdfs = std::filesystem;

struct GlobalOptions {
  std::optional<std::string> data_dir;
  std::optional<std::string> outputs_dir;
  std::optional<std::string> store;
  bool json = false;
  bool yes = false;
};

struct Locations {
  stdfs::path data_dir;
  stdfs::path outputs_dir;
  stdfs::path store_dir;
};

// Option, then environment, then ~/.mephisto/config.yml, else an error that says how to
// choose one. Never prompts. Paths are made absolute; nothing is created or checked here.
Locations resolve_locations(const GlobalOptions& opts);

// This tool's cache: `$XDG_CACHE_HOME/mephisto-db`, else `$HOME/.cache/mephisto-db` (the XDG
// convention). Needs no data dir. Deleting it is always safe: it holds scratch space and what can
// be rebuilt. An error when neither variable is set. Nothing is created here.
stdfs::path cache_dir();

// `$HOME/.mephisto/config.yml`, or empty when HOME is unset.
stdfs::path user_config_path();

}  // namespace mdb
