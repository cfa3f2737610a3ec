#pragma once
// What every command hands down to the layers below it: the global options, the console, the
// Env (the OS as the file layer sees it: the current one when the command starts), and where
// things are (resolved on first use).
#include <optional>
#include <string>

#include "datadir/locations.h"
#include "platform/console.h"
#include "platform/env.h"

namespace mdb {

struct Context {
  Context(GlobalOptions g, Console& c) : global(std::move(g)), console(c), env(fs::env()) {}
  GlobalOptions global;
  Console& console;
  fs::Env& env;
  // Resolved on first use, so usage errors never depend on the environment.
  const Locations& locations();

 private:
  std::optional<Locations> locations_;
};

// The exact command that makes the data dir snapshot `snapshot` again: `mephisto db restore -f
// NAME`, with the --data-dir/--outputs-dir/--store this run was given on its command line
// (absolute, shell-quoted when needed) so that it acts on the same data dir and store.
std::string restore_command(Context& ctx, const std::string& snapshot);

}  // namespace mdb
