#include "base/ordered_pool.h"

#include <pthread.h>
#include <signal.h>

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

std::thread start_worker(std::function<void()> fn) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);  // the new thread inherits the mask
  struct Restore {
    sigset_t* old;
    ~Restore() { pthread_sigmask(SIG_SETMASK, old, nullptr); }
  } restore{&old};
  return std::thread(std::move(fn));
}

}  // namespace mdb
