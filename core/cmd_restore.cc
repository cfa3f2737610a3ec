#include "core/commands.h"

namespace mdb::core {

int run_restore(Context&, const RestoreOptions&) { not_available_yet("restore"); }

}  // namespace mdb::core
