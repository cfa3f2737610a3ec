#include "commands/commands.h"
#include "store/remote_lock.h"

namespace mdb {

void install_lock_settings(const std::string& retry_lock, bool no_lock, const std::string& command,
                           Console& console) {
  store::LockSettings s;
  s.no_lock = no_lock;
  if (!retry_lock.empty()) s.retry_ms = store::parse_wait_ms(retry_lock, "--retry-lock");
  s.retry_text = retry_lock;
  s.command = command;
  s.notice = [&console](const std::string& line) { console.warn(line); };
  store::set_lock_settings(std::move(s));
}

}  // namespace mdb
