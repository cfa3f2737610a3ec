#include "store/keys.h"

#include <unistd.h>

#include <ctime>
#include <map>
#include <future>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "base/ordered_pool.h"

namespace mdb::store {

namespace {

constexpr std::string_view kMacContext = "mephisto-db store config\n";

KeyAccess& access() {
  static KeyAccess a;
  return a;
}

// The keys this process unlocked, by store id, so a command that opens one store several times
// (its Store, a pin's removal) asks for the password once. In memory only. The derivation may
// still run on a worker (unlock_config); `key_id` is written before `crypto` is ready.
struct Unlocked {
  std::shared_future<std::shared_ptr<const Crypto>> crypto;
  std::string key_id;
  std::thread worker;
  Unlocked() = default;
  Unlocked(const Unlocked&) = delete;
  Unlocked& operator=(const Unlocked&) = delete;
  ~Unlocked() {
    if (worker.joinable()) worker.join();
  }
};
std::map<std::string, Unlocked>& unlocked() {
  static std::map<std::string, Unlocked> m;  // node-based: a worker's entry stays where it is
  return m;
}

std::shared_future<std::shared_ptr<const Crypto>> ready(std::shared_ptr<const Crypto> crypto) {
  std::promise<std::shared_ptr<const Crypto>> p;
  p.set_value(std::move(crypto));
  return p.get_future().share();
}

std::string now_iso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

nlohmann::ordered_json new_key_entry(const std::string& store_id, std::string_view password, const MasterKey& key) {
  KdfParams kdf = KdfParams::fresh();
  std::string id = hex(random_bytes(8));
  nlohmann::ordered_json e;
  e["id"] = id;
  e["created"] = now_iso();
  e["host"] = host_name();
  e["kdf"] = {{"algorithm", "argon2id13"}, {"salt", hex(kdf.salt)}, {"opslimit", kdf.opslimit},
              {"memlimit", kdf.memlimit}};
  e["wrapped"] = hex(wrap_master(password, kdf, key, key_aad(store_id, id)));
  return e;
}

std::optional<MasterKey> try_key(const nlohmann::json& e, const std::string& store_id, std::string_view password) {
  try {
    KdfParams kdf;
    const nlohmann::json& k = e.at("kdf");
    if (k.at("algorithm").get<std::string>() != "argon2id13") return std::nullopt;
    kdf.salt = unhex(k.at("salt").get<std::string>());
    kdf.opslimit = k.at("opslimit").get<uint64_t>();
    kdf.memlimit = k.at("memlimit").get<uint64_t>();
    return unwrap_master(password, kdf, unhex(e.at("wrapped").get<std::string>()),
                         key_aad(store_id, e.at("id").get<std::string>()));
  } catch (const std::exception&) {  // a damaged entry opens nothing
    return std::nullopt;
  }
}

std::string where_config(Backend& backend) { return backend.where(ObjectKind::Config, "config"); }

nlohmann::ordered_json read_config(Backend& backend) {
  return nlohmann::ordered_json::parse(backend.read_all(ObjectKind::Config, "config"));
}

// Writes the config back with its keys changed: a fresh mac, then one atomic replace.
void save_config(Backend& backend, nlohmann::ordered_json cfg) {
  const Crypto* crypto = backend.crypto();
  if (!crypto) throw Error("The store " + backend.where(ObjectKind::Config) + " is not encrypted: it has no keys.");
  cfg.erase("mac");
  cfg["mac"] = config_mac(nlohmann::json::parse(cfg.dump()), *crypto);
  backend.save(ObjectKind::Config, "config", cfg.dump(2) + "\n");
}

Unlocked& current(Backend& backend, const nlohmann::ordered_json& cfg) {
  auto it = unlocked().find(cfg.value("id", ""));
  if (it == unlocked().end() || !backend.crypto())  // crypto(): the key id is known once it is
    throw Error("The store " + backend.where(ObjectKind::Config) + " is not encrypted: it has no keys.");
  return it->second;
}

}  // namespace

// What a wrapped key is bound to: its store and its own id, so an entry copied from another store
// or renamed does not open.
std::string key_aad(const std::string& store_id, const std::string& key_id) {
  return "mephisto-db key\n" + store_id + "\n" + key_id;
}

// The mac of a config: every member but `mac` itself, as canonical JSON (keys sorted).
std::string config_mac(const nlohmann::json& cfg, const Crypto& crypto) {
  nlohmann::json rest = cfg;
  rest.erase("mac");
  return crypto.mac(std::string(kMacContext) + rest.dump()).hex();
}

void set_key_access(KeyAccess a) { access() = std::move(a); }
const KeyAccess& key_access() { return access(); }

void encrypt_new_config(nlohmann::ordered_json& cfg, Backend& backend) {
  if (!access().password) throw Error("No password source is set up for a new encrypted store.", ErrorKind::Usage);
  std::string password = access().password(PasswordFor::Create, backend.where(ObjectKind::Config));
  MasterKey key = MasterKey::random();
  std::string store_id = cfg.at("id").get<std::string>();
  nlohmann::ordered_json entry = new_key_entry(store_id, password, key);
  cfg["encryption"] = {{"cipher", "xchacha20poly1305-ietf"},
                       {"blob_id", "hmac-sha256"},
                       {"keys", nlohmann::ordered_json::array({entry})}};
  auto crypto = std::make_shared<const Crypto>(key);
  cfg["mac"] = config_mac(nlohmann::json::parse(cfg.dump()), *crypto);
  Unlocked& u = unlocked()[store_id];
  u.crypto = ready(crypto);
  u.key_id = entry["id"].get<std::string>();
  backend.set_crypto(crypto);
}

// Argon2id for each key entry until one opens, then the config's mac: on a worker when the caller
// does not `wait`, so a backup walks its data dir meanwhile (docs/SECURITY.md "Opening a store").
void unlock_config(const nlohmann::json& cfg, Backend& backend, bool wait) {
  std::string store_id = cfg.value("id", "");
  std::string where = where_config(backend);
  auto damaged = [where](const std::string& why) {
    return Error("The store config " + where + " is damaged: " + why + ".", ErrorKind::Damaged);
  };
  const nlohmann::json& enc = cfg["encryption"];
  if (!enc.is_object() || enc.value("cipher", "") != "xchacha20poly1305-ietf" ||
      enc.value("blob_id", "") != "hmac-sha256" || !enc.contains("keys") || !enc["keys"].is_array())
    throw damaged("its encryption section names no cipher and keys this build knows");
  auto check_mac = [cfg, damaged](const Crypto& crypto) {
    if (cfg.value("mac", "") != config_mac(cfg, crypto))
      throw damaged("its mac does not match its contents (a byte of it was changed)");
  };
  auto it = unlocked().find(store_id);
  if (it != unlocked().end()) {  // opened before in this process: its keys, once derived
    check_mac(*it->second.crypto.get());
    backend.set_crypto(it->second.crypto.get());
    return;
  }
  if (!access().password) throw Error("No password source is set up for an encrypted store.", ErrorKind::Usage);
  std::string password = access().password(PasswordFor::Open, backend.where(ObjectKind::Config));
  Unlocked& u = unlocked()[store_id];
  auto task = std::make_shared<std::packaged_task<std::shared_ptr<const Crypto>()>>(
      [&u, keys = enc["keys"], store_id, password = std::move(password), check_mac, where] {
        for (const nlohmann::json& e : keys) {
          std::optional<MasterKey> key = try_key(e, store_id, password);
          if (!key) continue;
          auto crypto = std::make_shared<const Crypto>(*key);
          check_mac(*crypto);
          u.key_id = e.value("id", "");
          return std::shared_ptr<const Crypto>(crypto);
        }
        throw Error("Wrong password: it opens none of the " + std::to_string(keys.size()) +
                    " keys in the encrypted store's config " + where + ".");
      });
  u.crypto = task->get_future().share();
  if (wait || worker_threads() <= 1)
    (*task)();
  else
    u.worker = start_worker([task] { (*task)(); });
  backend.set_crypto_later(u.crypto);
  if (wait) backend.crypto();  // throws what unlocking threw
}

std::vector<KeyInfo> list_keys(Backend& backend) {
  nlohmann::ordered_json cfg = read_config(backend);
  const Unlocked& u = current(backend, cfg);
  std::vector<KeyInfo> out;
  for (const auto& e : cfg["encryption"]["keys"]) {
    KeyInfo k{e.value("id", ""), e.value("created", ""), e.value("host", ""), false};
    k.current = k.id == u.key_id;
    out.push_back(k);
  }
  return out;
}

std::string add_key(Backend& backend) {
  nlohmann::ordered_json cfg = read_config(backend);
  current(backend, cfg);
  std::string password = access().password(PasswordFor::NewKey, backend.where(ObjectKind::Config));
  nlohmann::ordered_json entry = new_key_entry(cfg["id"].get<std::string>(), password, backend.crypto()->key());
  cfg["encryption"]["keys"].push_back(entry);
  save_config(backend, cfg);
  return entry["id"].get<std::string>();
}

std::string remove_key(Backend& backend, const std::string& id) {
  nlohmann::ordered_json cfg = read_config(backend);
  const Unlocked& u = current(backend, cfg);
  nlohmann::ordered_json& keys = cfg["encryption"]["keys"];
  std::vector<size_t> matches;
  for (size_t i = 0; i < keys.size(); ++i)
    if (!id.empty() && keys[i].value("id", "").rfind(id, 0) == 0) matches.push_back(i);
  if (matches.empty()) throw Error("The store has no key " + id + ".", ErrorKind::NotFound);
  if (matches.size() > 1) throw Error("The key id prefix " + id + " is ambiguous.", ErrorKind::NotFound);
  std::string found = keys[matches[0]].value("id", "");
  if (keys.size() == 1)
    throw Error("The key " + found + " is the store's only key: without it nothing in the store could be read.",
                ErrorKind::Conflict);
  if (found == u.key_id)
    throw Error("The key " + found + " is the one this password opened; it is not removed while in use.",
                ErrorKind::Conflict);
  keys.erase(matches[0]);
  save_config(backend, cfg);
  return found;
}

std::string change_password(Backend& backend) {
  std::string added = add_key(backend);
  nlohmann::ordered_json cfg = read_config(backend);
  Unlocked& u = current(backend, cfg);
  std::string old = u.key_id;
  u.key_id = added;
  nlohmann::ordered_json& keys = cfg["encryption"]["keys"];
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i].value("id", "") == old) {
      keys.erase(i);
      break;
    }
  save_config(backend, cfg);
  return added;
}

}  // namespace mdb::store
