#pragma once
// `verify -f DUMP.zip` (store.md): checks a dump zip without importing it: the members, the
// JSON member (parses, has dump_metadata, only known DB keys, every value readable), the Cap'n
// Proto half (its recorded JSON hash still matches, and it decodes to the same rows as the JSON
// after the spec's normalisation), and every run file against its recorded size and hash.
#include <string>
#include <vector>

#include "core/commands.h"
#include "formats/zip.h"

namespace mdb::core {

// Checks the validated dump zip `zip`, prints a summary line and fills the --json result;
// returns the problems found, one sentence each.
std::vector<std::string> verify_dump_zip(Context& ctx, const zip::Reader& zip);

}  // namespace mdb::core
