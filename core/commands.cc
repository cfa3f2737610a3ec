#include "core/commands.h"

#include "formats/error.h"

namespace mdb::core {

const Locations& Context::locations() {
  if (!locations_) locations_ = resolve_locations(global);
  return *locations_;
}

void not_available_yet(const char* command) {
  throw Error(std::string("mephisto db ") + command + " is not available yet in this build. Nothing was changed.");
}

}  // namespace mdb::core
