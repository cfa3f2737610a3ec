#include "core/commands.h"

namespace mdb::core {

int run_export(Context&, const ExportOptions&) { not_available_yet("export"); }

}  // namespace mdb::core
