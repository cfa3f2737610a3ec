#include "core/commands.h"

namespace mdb::core {

int run_verify(Context&, const VerifyOptions&) { not_available_yet("verify"); }

}  // namespace mdb::core
