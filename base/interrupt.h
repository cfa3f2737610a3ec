#pragma once
// Ctrl-C (SIGINT), SIGTERM and SIGHUP end a command cleanly (docs/EXIT_CODES.md). The
// handlers only note the signal; the long loops call check() where stopping is safe, and it
// throws Interrupted, so what undoes a failure (the unwinding of temp dirs, partial zips,
// staging dirs, SQLite transactions; an AtomicChange's rollback) undoes the interrupted work too. Code
// past a command's commit point calls no check(): a signal arriving there lets it finish.
#include <exception>
#include <string>

#include "base/error.h"

namespace mdb::interrupt {

// Not an mdb::Error on purpose: code that collects or rewrites Errors (verify's problem
// lists, the outcome the command adds) must let an interrupt through unchanged.
class Interrupted : public std::exception {
 public:
  explicit Interrupted(int signal, std::string outcome = "");
  int signal() const { return signal_; }
  ErrorKind kind() const { return ErrorKind::Interrupted; }
  // 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.
  int exit_code() const { return exit_code_of(ErrorKind::Interrupted, signal_); }
  // What became of the user's data ("nothing was exported; ..."); empty until a command says.
  const std::string& outcome() const { return outcome_; }
  // This interrupt with `outcome`, unless an inner layer already said what became of the data.
  Interrupted with_outcome(const std::string& outcome) const;
  // "Interrupted (SIGINT)"
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  int signal_;
  std::string outcome_, what_;
};

// Installs the handlers (SIGINT, SIGTERM, SIGHUP: note the signal; no SA_RESTART, so a read
// of the prompt returns) and ignores SIGPIPE (a closed output pipe fails writes with EPIPE
// instead of killing the process mid-change). A second signal while the first is being
// handled prints "still cleaning up" on stderr and is otherwise ignored.
void install();
// The first signal received, or 0.
int received();
// Whether check() would throw now: a signal was received, no Defer is alive, and no
// exception is unwinding (destructors run by unwinding finish their cleanup).
bool pending();
// Throws Interrupted when pending().
void check();

// While alive, check() does not throw and pending() is false (signals are still noted):
// rollbacks and other cleanup run to the end.
class Defer {
 public:
  Defer();
  ~Defer();
  Defer(const Defer&) = delete;
  Defer& operator=(const Defer&) = delete;
};

// "SIGINT", "SIGTERM", "SIGHUP"
std::string signal_name(int signal);

}  // namespace mdb::interrupt
