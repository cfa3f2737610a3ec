#pragma once
// Which members of a dump zip hold what (export.md "The zip"): the JSON member is
// `<zip stem>.json`, else the only `.json` at the root (so renamed zips still work); the
// Cap'n Proto half sits beside it with the same stem (else the only root `.capnp`); the run
// files are the members under `runs/`.
#include <cstdint>
#include <filesystem>
#include <optional>

#include "formats/zip.h"

namespace mdb {

struct DumpMembers {
  zip::Entry json;
  std::optional<zip::Entry> capnp;  // none in the original's dumps
  uint64_t run_files = 0;           // members that are run files (is_run_file)
};

// A member under runs/ that is not a directory.
inline bool is_run_file(const zip::Entry& e) { return !e.is_directory && e.name.rfind("runs/", 0) == 0; }

// Throws mdb::Error (Damaged) naming the zip when it has no JSON member to read.
DumpMembers find_dump_members(const zip::Reader& zip, const std::filesystem::path& zip_path);

}  // namespace mdb
