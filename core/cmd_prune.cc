#include "core/commands.h"

namespace mdb::core {

int run_prune(Context&, const PruneOptions&) { not_available_yet("prune"); }

}  // namespace mdb::core
