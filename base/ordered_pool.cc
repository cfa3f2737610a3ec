#include "base/ordered_pool.h"

#include <cstdlib>

namespace mdb {

unsigned worker_threads() {
  if (const char* v = std::getenv("MDB_THREADS")) {
    char* end = nullptr;
    unsigned long n = std::strtoul(v, &end, 10);
    if (end != v && *end == '\0' && n >= 1) return n > 64 ? 64 : static_cast<unsigned>(n);
  }
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

}  // namespace mdb
