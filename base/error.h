#pragma once
// Errors carry the process exit code they map to, so every layer can fail with a
// user-facing message and the CLI only has to print it.
#include <stdexcept>
#include <string>

namespace mdb {

// The operation failed or was declined; the user's data is unchanged. Exit code 1.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, int exit_code = 1)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// `e` with `outcome` ("Nothing was imported.") appended, unless its message already says what
// became of the data ("Nothing was ..."); the exit code is kept.
inline Error with_outcome(const Error& e, const std::string& outcome) {
  std::string what = e.what();
  if (what.find("Nothing was") != std::string::npos) return e;
  return Error(what + (what.empty() || what.back() == '.' ? " " : ". ") + outcome, e.exit_code());
}

// Bad command line (unknown option, conflicting options). Exit code 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, 2) {}
};

}  // namespace mdb
