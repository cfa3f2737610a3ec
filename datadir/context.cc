#include "datadir/context.h"

#include <cctype>
#include <cstring>

namespace mdb {

const Locations& Context::locations() {
  if (!locations_) locations_ = resolve_locations(global);
  return *locations_;
}

namespace {
// Single quotes around anything a POSIX shell would split or expand.
std::string shell_word(const std::string& s) {
  bool plain = !s.empty();
  for (unsigned char c : s)
    if (!std::isalnum(c) && !std::strchr("_-./=:,+@%", c)) plain = false;
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

std::string restore_command(Context& ctx, const std::string& snapshot) {
  std::string cmd = "mephisto";
  const Locations& where = ctx.locations();
  if (ctx.global.data_dir) cmd += " --data-dir " + shell_word(where.data_dir.string());
  if (ctx.global.outputs_dir) cmd += " --outputs-dir " + shell_word(where.outputs_dir.string());
  if (ctx.global.store) cmd += " --store " + shell_word(where.store_dir.string());
  return cmd + " db restore -f " + shell_word(snapshot);
}

}  // namespace mdb
