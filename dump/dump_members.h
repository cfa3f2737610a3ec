#pragma once
// Which members of a dump zip hold what (export.md "The zip"): the JSON member is
// `<zip stem>.json`, else the only `.json` at the root (so renamed zips still work); the
// Cap'n Proto half sits beside it with the same stem (else the only root `.capnp`); the run
// files are the members under `runs/`.
#include <filesystem>
#include <vector>

#include "formats/zip.h"

namespace mdb {

struct DumpMembers {
  const zip::Entry* json = nullptr;
  const zip::Entry* capnp = nullptr;          // null in the original's dumps
  std::vector<const zip::Entry*> run_files;  // members under runs/, directories left out
};

// Throws mdb::Error (Damaged) naming the zip when it has no JSON member to read.
DumpMembers find_dump_members(const zip::Reader& zip, const std::filesystem::path& zip_path);

}  // namespace mdb
