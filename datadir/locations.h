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
  stdfs::path store_dir;  // a directory, or an s3://BUCKET[/PREFIX] URL kept as given (docs/S3.md)
  // Neither the store nor the outputs dir was named: the store was found through the data dir.
  bool store_beside_data_dir = false;
};

// Option, then environment, then ~/.mephisto/config.yml, else an error that says how to
// choose one. Never prompts. Paths are made absolute; nothing is created or checked here.
Locations resolve_locations(const GlobalOptions& opts);

// A store location as given (--store, MEPHISTO_STORE, copy --to): an s3://BUCKET[/PREFIX] URL
// without trailing slashes, else an absolute directory path (docs/S3.md).
stdfs::path store_location(std::string given);

// `$HOME/.mephisto/config.yml`, or empty when HOME is unset.
stdfs::path user_config_path();

}  // namespace mdb
