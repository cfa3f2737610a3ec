#pragma once
// Reading a secret (a store's password) from the places the CLI's conventions name: a file, a
// command's output, or the terminal with echo off. The secret never goes to argv, a log or a file.
#include <optional>
#include <string>

namespace mdb::fs {

// The first line of the file (restic's --password-file): without its line end. Error naming the file.
std::string read_secret_file(const std::string& path);
// The first line a command prints (run by /bin/sh -c, its stderr passed through); Error naming the
// command when it cannot run or exits non-zero.
std::string run_secret_command(const std::string& command);
// Asks on the controlling terminal (/dev/tty) with echo off; nullopt when there is no terminal.
std::optional<std::string> prompt_secret(const std::string& prompt);

}  // namespace mdb::fs
