// Where a store's password comes from (docs/SECURITY.md "Passwords"), restic's conventions:
// --password-command CMD or --password-file FILE, else MEPHISTO_PASSWORD_COMMAND,
// MEPHISTO_PASSWORD_FILE, MEPHISTO_PASSWORD (in that order), else a prompt on the terminal.
// Never argv. A password is only ever held in memory: never printed, logged or cached on disk.
#include <cstdlib>

#include "commands/commands.h"
#include "platform/secret.h"
#include "store/keys.h"

namespace mdb {

namespace {

const char* kSources =
    "set MEPHISTO_PASSWORD, or give --password-file FILE (or MEPHISTO_PASSWORD_FILE) or --password-command CMD (or "
    "MEPHISTO_PASSWORD_COMMAND), or run on a terminal to be asked";

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

std::string checked(std::string password, const std::string& source) {
  if (password.empty()) throw UsageError("The password from " + source + " is empty; a store password cannot be.");
  return password;
}

// Asks on the terminal; a new password twice. nullopt when there is no terminal.
std::optional<std::string> ask(const std::string& what, bool twice) {
  std::optional<std::string> first = fs::prompt_secret("Enter " + what + ": ");
  if (!first || !twice) return first;
  std::optional<std::string> again = fs::prompt_secret("Enter " + what + " again: ");
  if (!again || *again != *first) throw UsageError("The passwords typed do not match; nothing was changed.");
  return first;
}

std::string open_password(const PasswordOptions& o, store::PasswordFor purpose, const std::string& where) {
  std::optional<std::string> command = o.command, file = o.file;
  if (!command && !file) {  // an option wins over both variables
    command = env("MEPHISTO_PASSWORD_COMMAND");
    file = env("MEPHISTO_PASSWORD_FILE");
  }
  if (command && file)
    throw UsageError("Give the password one way: MEPHISTO_PASSWORD_COMMAND and MEPHISTO_PASSWORD_FILE are both set.");
  if (command) return checked(fs::run_secret_command(*command), "the password command");
  if (file) return checked(fs::read_secret_file(*file), "the password file " + *file);
  if (std::optional<std::string> p = env("MEPHISTO_PASSWORD")) return *p;
  bool create = purpose == store::PasswordFor::Create;
  std::string what = create ? "a password for the new encrypted store " + where : "the password of the store " + where;
  if (std::optional<std::string> p = ask(what, create))
    return checked(*p, "the terminal");
  throw UsageError("The store " + where + (create ? " is to be encrypted" : " is encrypted") +
                   " and no password was given: " + kSources + ".");
}

std::string new_key_password(const PasswordOptions& o) {
  if (o.new_file) return checked(fs::read_secret_file(*o.new_file), "the password file " + *o.new_file);
  if (std::optional<std::string> p = ask("the new password", true)) return checked(*p, "the terminal");
  throw UsageError("A new password is needed: give --new-password-file FILE, or run on a terminal to be asked.");
}

}  // namespace

void install_password_sources(const PasswordOptions& opts) {
  if (opts.file && opts.command)
    throw UsageError("You cannot use these options together: --password-file --password-command. Give one.");
  if (opts.encrypt && opts.no_encryption)
    throw UsageError("You cannot use these options together: --encrypt --no-encryption. Give one.");
  store::KeyAccess access;
  access.password = [opts](store::PasswordFor purpose, const std::string& where) {
    return purpose == store::PasswordFor::NewKey ? new_key_password(opts) : open_password(opts, purpose, where);
  };
  if (opts.encrypt) access.encrypt = true;
  if (opts.no_encryption) access.encrypt = false;
  store::set_key_access(std::move(access));
}

}  // namespace mdb
