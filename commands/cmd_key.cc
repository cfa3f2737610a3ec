// `mephisto db key list|add|remove ID|passwd` (restic's key command; docs/SECURITY.md "Keys"):
// the passwords of an encrypted store. Each password has a key in the store config wrapping the
// one master key, so adding or removing one re-encrypts nothing.
#include "commands/commands.h"
#include "platform/console.h"
#include "store/keys.h"
#include "store/store.h"

namespace mdb {

namespace {

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

int list(Context& ctx, store::Store& store) {
  std::vector<store::KeyInfo> keys = store::list_keys(store.backend());
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  ctx.console.info("  " + pad("id", 16) + "  " + pad("created", 20) + "  host");
  for (const store::KeyInfo& k : keys) {
    ctx.console.info((k.current ? "* " : "  ") + pad(k.id, 16) + "  " + pad(k.created, 20) + "  " + k.host);
    out.push_back({{"id", k.id}, {"created", k.created}, {"host", k.host}, {"current", k.current}});
  }
  ctx.console.set("keys", out);
  return 0;
}

}  // namespace

int run_key(Context& ctx, const KeyOptions& opts) {
  const stdfs::path& dir = ctx.locations().store_dir;
  ctx.console.set("store", dir.string());
  if (!store::Store::exists(dir))
    throw Error("There is no store at " + dir.string() + ".", ErrorKind::NotFound);
  // Changing keys holds the store lock, so two key changes do not overwrite each other's config.
  store::Store store(dir, opts.action == "list" ? store::Store::Mode::Read : store::Store::Mode::Write,
                     "key " + opts.action);
  if (!store.encrypted())
    throw Error("The store " + dir.string() + " is not encrypted: it has no keys (it was made without --encrypt).");
  if (opts.action == "list") return list(ctx, store);
  if (opts.action == "add") {
    std::string id = store::add_key(store.backend());
    ctx.console.info("Added key " + id + " to the store " + dir.string() + ".");
    ctx.console.set("added", id);
  } else if (opts.action == "remove") {
    std::string id = store::remove_key(store.backend(), opts.id);
    ctx.console.info("Removed key " + id + " from the store " + dir.string() + ".");
    ctx.console.set("removed", id);
  } else {
    std::vector<store::KeyInfo> before = store::list_keys(store.backend());
    std::string id = store::change_password(store.backend());
    std::string old;
    for (const store::KeyInfo& k : before)
      if (k.current) old = k.id;
    ctx.console.info("Changed the password: added key " + id + ", removed key " + old + ".");
    ctx.console.set("added", id);
    ctx.console.set("removed", old);
  }
  return 0;
}

}  // namespace mdb
