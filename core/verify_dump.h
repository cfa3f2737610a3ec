#pragma once
// `verify -f DUMP.zip`: the hook through which the dump readers (export/import) check a dump
// zip (structure, JSON, Cap'n Proto half, file hashes). cmd_verify checks backup zips itself
// and hands every other zip here.
#include "core/commands.h"
#include "formats/zip.h"

namespace mdb::core {

// Checks the validated dump zip `zip`; reports through ctx.console (prose and result());
// returns the exit code (0: sound, 1: problems found).
int verify_dump_zip(Context& ctx, const zip::Reader& zip);

}  // namespace mdb::core
