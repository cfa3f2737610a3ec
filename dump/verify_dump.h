#pragma once
// `verify -f DUMP.zip` (store.md): checks a dump zip without importing it: the members, the
// JSON member (parses, has dump_metadata, only known DB keys, every value one the import takes),
// the Cap'n Proto half (it renders to the JSON member's very bytes, as the import requires before
// it uses the half: dump/dump_render.h), and every run file against its recorded size and hash.
#include <string>
#include <vector>

#include "datadir/context.h"
#include "formats/zip.h"

namespace mdb {

// Checks the validated dump zip `zip`, prints a summary line and fills the --json result;
// returns the problems found, one sentence each.
std::vector<std::string> verify_dump_zip(Context& ctx, const zip::Reader& zip);

}  // namespace mdb
