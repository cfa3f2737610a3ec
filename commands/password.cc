// Where a store's password comes from (docs/SECURITY.md "Passwords"), restic's conventions:
// --password-command CMD or --password-file FILE, else MEPHISTO_PASSWORD_COMMAND,
// MEPHISTO_PASSWORD_FILE, MEPHISTO_PASSWORD (in that order), else a prompt on the terminal.
// copy's target has the same sources with --to- and MEPHISTO_TO_ (docs/COPY.md), else the source's.
// Never argv. A password is only ever held in memory: never printed, logged or cached on disk.
#include <cstdlib>

#include "commands/commands.h"
#include "platform/secret.h"
#include "store/keys.h"

namespace mdb {

namespace {

// One set of password sources: the options given, and the environment variables named with
// `env` (MEPHISTO_ or MEPHISTO_TO_) whose options are named with `option` (-- or --to-).
struct Sources {
  std::optional<std::string> file, command;
  std::string env = "MEPHISTO_", option = "--";
};

std::string sources_text(const Sources& s) {
  return "set " + s.env + "PASSWORD, or give " + s.option + "password-file FILE (or " + s.env + "PASSWORD_FILE) or " +
         s.option + "password-command CMD (or " + s.env + "PASSWORD_COMMAND), or run on a terminal to be asked";
}

// The options this process was started with (install_password_sources).
PasswordOptions& installed() {
  static PasswordOptions o;
  return o;
}

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

// Whether any source of `s` but the terminal is given.
bool given(const Sources& s) {
  for (const char* name : {"PASSWORD_COMMAND", "PASSWORD_FILE", "PASSWORD"})
    if (env((s.env + name).c_str())) return true;
  return s.file || s.command;
}

std::string open_password(const Sources& s, store::PasswordFor purpose, const std::string& where) {
  std::optional<std::string> command = s.command, file = s.file;
  if (!command && !file) {  // an option wins over both variables
    command = env((s.env + "PASSWORD_COMMAND").c_str());
    file = env((s.env + "PASSWORD_FILE").c_str());
  }
  if (command && file)
    throw UsageError("Give the password one way: " + s.env + "PASSWORD_COMMAND and " + s.env +
                     "PASSWORD_FILE are both set.");
  if (command) return checked(fs::run_secret_command(*command), "the password command");
  if (file) return checked(fs::read_secret_file(*file), "the password file " + *file);
  if (std::optional<std::string> p = env((s.env + "PASSWORD").c_str())) return *p;
  bool create = purpose == store::PasswordFor::Create;
  std::string what = create ? "a password for the new encrypted store " + where : "the password of the store " + where;
  if (std::optional<std::string> p = ask(what, create))
    return checked(*p, "the terminal");
  throw UsageError("The store " + where + (create ? " is to be encrypted" : " is encrypted") +
                   " and no password was given: " + sources_text(s) + ".");
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
  installed() = opts;
  store::KeyAccess access;
  access.password = [opts](store::PasswordFor purpose, const std::string& where) {
    return purpose == store::PasswordFor::NewKey ? new_key_password(opts)
                                                 : open_password(Sources{opts.file, opts.command}, purpose, where);
  };
  if (opts.encrypt) access.encrypt = true;
  if (opts.no_encryption) access.encrypt = false;
  store::set_key_access(std::move(access));
}

store::KeyAccess target_key_access(const PasswordOptions& to, bool source_encrypted) {
  Sources own{to.file, to.command, "MEPHISTO_TO_", "--to-"};
  Sources source{installed().file, installed().command};
  store::KeyAccess access;
  access.password = [own, source](store::PasswordFor purpose, const std::string& where) {
    return open_password(given(own) ? own : source, purpose, where);
  };
  // An encrypted store's copy is not written in clear unless asked (--to-no-encryption).
  if (source_encrypted) access.encrypt = true;
  if (to.encrypt) access.encrypt = true;
  if (to.no_encryption) access.encrypt = false;
  return access;
}

}  // namespace mdb
