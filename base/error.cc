#include "base/error.h"

namespace mdb {

std::string_view kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Failure: return "failure";
    case ErrorKind::Usage: return "usage";
    case ErrorKind::NotFound: return "not_found";
    case ErrorKind::Damaged: return "damaged";
    case ErrorKind::Busy: return "busy";
    case ErrorKind::Conflict: return "conflict";
    case ErrorKind::Io: return "io";
    case ErrorKind::Interrupted: return "interrupted";
  }
  return "failure";
}

int exit_code_of(ErrorKind kind, int signal) {
  switch (kind) {
    case ErrorKind::Usage: return 2;
    case ErrorKind::Interrupted: return 128 + signal;
    default: return 1;
  }
}

Error::Error(const std::string& message, const std::string& outcome, ErrorKind kind, Remedy remedy)
    : std::runtime_error(outcome.empty()                           ? message
                         : message.empty()                           ? outcome
                         : message.find('\n') != std::string::npos ? message + "\n" + outcome
                         : message.back() == '.'                     ? message + " " + outcome
                                                                     : message + ". " + outcome),
      message_(message),
      outcome_(outcome),
      kind_(kind),
      remedy_(remedy) {}

Error Error::with_advice(const std::string& advice) const {
  return Error(message_ + advice, outcome_, kind_, Remedy::None);
}

Error Error::with_outcome(const std::string& outcome) const {
  return outcome_.empty() ? Error(message_, outcome, kind_, remedy_) : *this;
}

}  // namespace mdb
