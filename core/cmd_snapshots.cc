#include "core/commands.h"

namespace mdb::core {

int run_snapshots(Context&, const SnapshotsOptions&) { not_available_yet("snapshots"); }

}  // namespace mdb::core
