#include "core/commands.h"

namespace mdb::core {

int run_backup(Context&, const BackupOptions&) { not_available_yet("backup"); }

}  // namespace mdb::core
