#pragma once
// The keys of an encrypted store (docs/SECURITY.md, docs/store.md "Encryption"): the store config's
// `encryption` section holds, per password, the Argon2id parameters and the master key wrapped under
// the key they derive; its `mac` (HMAC-SHA-256 under the master MAC key) covers every other byte of
// meaning in the config. A Backend carries the unlocked keys (Backend::crypto) once a password opened
// one of them; every reader and writer of sealed bytes takes them from there.
//
// Where a password comes from is the caller's business (the CLI's conventions): it installs a
// KeyAccess once per process; the store asks it when it opens an encrypted store or creates one.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/backend.h"
#include "store/crypto.h"

namespace mdb::store {

// Open: an existing key's; Create: the first key's, for a store being made (the same sources as
// Open); NewKey: another key's (`key add`, `key passwd`).
enum class PasswordFor { Open, Create, NewKey };

struct KeyAccess {
  // A password for the store at `where`. Throws (a usage error naming the sources) when there is
  // none. Never called for a plain store.
  std::function<std::string(PasswordFor, const std::string& where)> password;
  // At creation: true encrypts, false does not, nullopt takes the default (S3 yes, local no).
  std::optional<bool> encrypt;
};
// Installs the process's KeyAccess (cli/main.cc, through the commands layer).
void set_key_access(KeyAccess access);
const KeyAccess& key_access();

// Adds the `encryption` section (one key, for a password asked with PasswordFor::Create) and the `mac`
// to a new store's config, and gives `backend` the new keys.
void encrypt_new_config(nlohmann::ordered_json& cfg, Backend& backend);
// For a config that has an `encryption` section: finds the key the password opens (asked once per
// process and store), checks the config's mac, and gives `backend` the keys. A password that opens no
// key is an Error (exit 1) naming the config; a config whose mac fails is damage. Without `wait`
// the key derivation (Argon2id) runs on a worker and these errors come from the first
// Backend::crypto() that waits for it; the password is asked here all the same.
void unlock_config(const nlohmann::json& cfg, Backend& backend, bool wait = true);

// What a key entry's wrapped master key is bound to (its store and its own id), and the config's
// mac (every member but `mac`, as canonical JSON, under the master MAC key).
std::string key_aad(const std::string& store_id, const std::string& key_id);
std::string config_mac(const nlohmann::json& cfg, const Crypto& crypto);

struct KeyInfo {
  std::string id;
  std::string created;  // ISO 8601 UTC
  std::string host;
  bool current = false;  // the key this process's password opened
};
// The keys of the unlocked store on `backend`, in config order.
std::vector<KeyInfo> list_keys(Backend& backend);
// Adds a key for a new password (PasswordFor::NewKey); returns its id.
std::string add_key(Backend& backend);
// Removes the key `id` (or the one key whose id starts with it). The store's last key and the key
// in use are refused (Error of kind Conflict).
std::string remove_key(Backend& backend, const std::string& id);
// A new password in place of the current one: adds its key, then removes the current key.
// Returns the new key's id.
std::string change_password(Backend& backend);

}  // namespace mdb::store
