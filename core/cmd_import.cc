#include "core/commands.h"

namespace mdb::core {

int run_import(Context&, const ImportOptions&) { not_available_yet("import"); }

}  // namespace mdb::core
