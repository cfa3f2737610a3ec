#pragma once
// Errors carry a kind, from which the process exit code follows, so every layer can fail with a
// user-facing message and the CLI only has to print it (docs/EXIT_CODES.md, "Error kinds").
//
// A message says what went wrong. What became of the user's data ("Nothing was imported.") is
// added once, by the command that ran (with_outcome, at the command boundary); advice that names
// a CLI command is worded there too, from the error's Remedy (the store names no command).
#include <stdexcept>
#include <string>
#include <string_view>

namespace mdb {

enum class ErrorKind {
  Failure,      // anything else that failed or was declined
  Usage,        // bad command line or option value, found before any file is opened
  NotFound,     // a named file, snapshot, store or data dir does not exist
  Damaged,      // a pack, index, database, zip, dump or config is not what it must be
  Busy,         // another process holds a lock
  Conflict,     // the input contradicts the data already there (an import's rows, a name taken)
  Io,           // the operating system failed a read, write, rename, ...
  Interrupted,  // SIGINT, SIGTERM or SIGHUP (interrupt::Interrupted, not an Error)
};

// "failure", "usage", "not_found", "damaged", "busy", "conflict", "io", "interrupted": the
// "kind" of --json's error object.
std::string_view kind_name(ErrorKind kind);

// A command that did its work but met something the user must look at (a file that kept
// changing while it was read) exits 3, "finished with warnings", as restic does.
inline constexpr int kExitWarnings = 3;

// 2 for Usage, 128 + signal for Interrupted (130 SIGINT, 143 SIGTERM, 129 SIGHUP), else 1.
int exit_code_of(ErrorKind kind, int signal = 0);

// What a deeper layer knows would help; commands/ words it (it may name a CLI command).
enum class Remedy {
  None,
  RebuildIndex,  // the index can be rebuilt from the packs
  FirstBackup,   // no store yet: a backup creates it, or another store was meant
  StalePin,      // a damaged pin can be deleted if no change is still running
  MountInside,   // a mount inside the data dir: unmount it, or restore elsewhere
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::Failure, Remedy remedy = Remedy::None)
      : std::runtime_error(message), message_(message), kind_(kind), remedy_(remedy) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return exit_code_of(kind_); }
  Remedy remedy() const { return remedy_; }
  // The message without the outcome.
  const std::string& message() const { return message_; }
  // What became of the user's data; empty until the command says.
  const std::string& outcome() const { return outcome_; }

  // This error with `advice` appended to its message as it is (the caller writes its leading
  // space or punctuation); the remedy is then said.
  Error with_advice(const std::string& advice) const;
  // This error with `outcome` as its last sentence (on a line of its own after a multi-line
  // message), unless an outcome was already set: the innermost layer that knows better wins.
  Error with_outcome(const std::string& outcome) const;

 private:
  Error(const std::string& message, const std::string& outcome, ErrorKind kind, Remedy remedy);

  std::string message_, outcome_;
  ErrorKind kind_;
  Remedy remedy_;
};

// Bad command line (unknown option, conflicting options). Exit code 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, ErrorKind::Usage) {}
};

}  // namespace mdb
