#include "base/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace mdb::interrupt {

namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");
thread_local int t_defer = 0;

// Async-signal-safe: an atomic store and write(2) only.
void on_signal(int sig) {
  int none = 0;
  if (g_signal.compare_exchange_strong(none, sig)) return;
  static const char kBusy[] = "\nInterrupt noted: still cleaning up, please wait.\n";
  ssize_t ignored = ::write(STDERR_FILENO, kBusy, sizeof kBusy - 1);
  (void)ignored;
}

}  // namespace

Interrupted::Interrupted(int signal, std::string outcome)
    : signal_(signal), outcome_(std::move(outcome)), what_("Interrupted (" + signal_name(signal) + ")") {}

Interrupted Interrupted::with_outcome(const std::string& outcome) const {
  return outcome_.empty() ? Interrupted(signal_, outcome) : *this;
}

void install() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read (the prompt) returns EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);
}

int received() { return g_signal.load(); }

bool pending() { return t_defer == 0 && std::uncaught_exceptions() == 0 && g_signal.load() != 0; }

void check() {
  if (pending()) throw Interrupted(g_signal.load());
}

Defer::Defer() { ++t_defer; }
Defer::~Defer() { --t_defer; }

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal " + std::to_string(signal);
  }
}

}  // namespace mdb::interrupt
