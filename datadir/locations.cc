#include "datadir/locations.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "datadir/config.h"
#include "platform/env.h"
#include "base/error.h"

namespace mdb {

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::optional<std::string> data_dir_from_config() {
  stdfs::path cfg = user_config_path();
  if (cfg.empty()) return std::nullopt;
  std::error_code ec;
  if (!stdfs::exists(cfg, ec)) return std::nullopt;
  std::string text;
  try {
    text = fs::read_file(cfg);
  } catch (const fs::IoError& e) {
    throw Error("cannot read the Mephisto config file " + cfg.string() + ": " + std::strerror(e.err()), ErrorKind::Io);
  }
  return parse_main_data_directory(text, cfg.string());
}

stdfs::path absolute(const std::string& p) {
  std::string expanded = p;
  if (!expanded.empty() && expanded[0] == '~') {
    if (auto home = env("HOME")) expanded = *home + expanded.substr(1);
  }
  return stdfs::absolute(stdfs::path(expanded)).lexically_normal();
}

stdfs::path strip_trailing_slash(stdfs::path p) {
  return p.has_filename() ? p : p.parent_path();
}

}  // namespace

stdfs::path store_location(std::string given) {
  if (given.rfind("s3://", 0) == 0) {  // object storage (docs/S3.md): a URL, not a path
    while (given.size() > 5 && given.back() == '/') given.pop_back();
    return given;
  }
  return strip_trailing_slash(absolute(given));
}

stdfs::path user_config_path() {
  auto home = env("HOME");
  return home ? stdfs::path(*home) / ".mephisto" / "config.yml" : stdfs::path();
}

Locations resolve_locations(const GlobalOptions& opts) {
  Locations loc;
  std::optional<std::string> data = opts.data_dir;
  if (!data) data = env("MEPHISTO_DATA_DIR");
  if (!data) data = data_dir_from_config();
  if (!data)
    throw Error(
        "No Mephisto data directory is configured. Pass --data-dir DIR, set MEPHISTO_DATA_DIR, or set "
        "core.main_data_directory in " +
        (user_config_path().empty() ? std::string("~/.mephisto/config.yml") : user_config_path().string()) +
        ".", ErrorKind::NotFound);
  loc.data_dir = strip_trailing_slash(absolute(*data));

  std::optional<std::string> outputs = opts.outputs_dir;
  if (!outputs) outputs = env("MEPHISTO_OUTPUTS_DIR");
  loc.outputs_dir = outputs ? strip_trailing_slash(absolute(*outputs)) : loc.data_dir.parent_path() / "outputs";

  std::optional<std::string> store = opts.store;
  if (!store) store = env("MEPHISTO_STORE");
  loc.store_dir = store ? store_location(*store) : loc.outputs_dir / "store";
  loc.store_beside_data_dir = !store && !outputs;
  return loc;
}

}  // namespace mdb
