#pragma once
// How the store's engines report progress and warnings without knowing about the console
// (commands implement this with progress bars and stderr lines).
#include <cstdint>
#include <string>
#include <string_view>

namespace mdb::store {

class Reporter {
 public:
  virtual ~Reporter() = default;
  // Whether a progress display is shown (engines skip work that only feeds it otherwise).
  virtual bool wants_progress() const { return false; }
  // Starts a phase of `total` units (bytes when `bytes`), over `files` files when known (0:
  // not counted); ends the previous one.
  virtual void phase(std::string_view /*label*/, uint64_t /*total*/, bool /*bytes*/, uint64_t /*files*/ = 0) {}
  // `n` more units done, `files` more files among them.
  virtual void advance(uint64_t /*n*/, uint64_t /*files*/ = 0) {}
  virtual void end_phase() {}
  virtual void warn(const std::string& /*message*/) {}
};

}  // namespace mdb::store
