// `mephisto db copy --to STORE [NAME...]` (docs/COPY.md): copies snapshots of the store (all, or
// those named) into another store, local or s3://, without reading the data dir. What the target
// already holds is neither read nor stored again.
#include <filesystem>
#include <system_error>

#include "commands/commands.h"
#include "commands/outcome.h"
#include "commands/snapshot_view.h"
#include "datadir/storeops.h"
#include "store/copy.h"
#include "store/store.h"

namespace mdb {

namespace {

namespace stdfs = std::filesystem;

bool is_remote(const stdfs::path& location) { return location.string().rfind("s3://", 0) == 0; }

// Whether two locations are the same store (one directory reached by two paths included).
bool same_store(const stdfs::path& a, const stdfs::path& b) {
  if (a == b) return true;
  if (is_remote(a) || is_remote(b)) return false;
  std::error_code ec;
  return stdfs::equivalent(a, b, ec);
}

std::vector<store::SnapshotInfo> chosen(store::Store& from, const std::vector<std::string>& names,
                                        const std::string& data_dir) {
  if (names.empty()) return from.snapshots();
  std::vector<store::SnapshotInfo> out;
  for (const std::string& n : names) {
    store::SnapshotInfo snap = require_snapshot(from, n, data_dir);
    bool twice = false;
    for (const store::SnapshotInfo& s : out) twice = twice || s.name == snap.name;
    if (!twice) out.push_back(std::move(snap));
  }
  return out;
}

// The target's key access for as long as the copy runs; the process's own again after.
class TargetKeys {
 public:
  TargetKeys(const PasswordOptions& to, bool source_encrypted) : saved_(store::key_access()) {
    store::set_key_access(target_key_access(to, source_encrypted));
  }
  ~TargetKeys() { store::set_key_access(std::move(saved_)); }
  TargetKeys(const TargetKeys&) = delete;
  TargetKeys& operator=(const TargetKeys&) = delete;

 private:
  store::KeyAccess saved_;
};

nlohmann::ordered_json copied_json(const store::CopiedSnapshot& c) {
  return {{"name", c.name},           {"copied_as", c.copied_as}, {"skipped", c.skipped},
          {"blobs_new", c.blobs_new}, {"bytes_new", c.bytes_new}, {"bytes_stored", c.bytes_stored},
          {"blobs_read", c.blobs_read}};
}

void report(Console& con, const store::CopiedSnapshot& c, const stdfs::path& to) {
  if (c.skipped) {
    con.info("Skipped " + c.name + ": " + to.string() + " already holds it.");
    return;
  }
  std::string as = c.copied_as == c.name ? "" : " as " + c.copied_as + " (the target has another " + c.name + ")";
  con.info("Copied " + c.name + as + ": " + std::to_string(c.blobs_new) + " new blob" +
           (c.blobs_new == 1 ? "" : "s") + ", " + human_bytes(c.bytes_new) + " (" + human_bytes(c.bytes_stored) +
           " stored).");
}

int copy(Context& ctx, const CopyOptions& opts) {
  const stdfs::path& src = ctx.locations().store_dir;
  stdfs::path dst = store_location(opts.to);
  if (same_store(src, dst))
    throw UsageError("copy --to " + opts.to + ": that is the store the snapshots are in (" + src.string() +
                     "); name another store.");
  if (!store::Store::exists(src))
    throw Error("There is no store at " + src.string() + ", so nothing to copy: `mephisto db backup` makes one.",
                ErrorKind::NotFound);
  store::Store from(src, store::Store::Mode::Read);
  std::vector<store::SnapshotInfo> snaps = chosen(from, opts.names, live_data_dir(ctx));
  ctx.console.set("store", src.string());
  ctx.console.set("to", dst.string());
  TargetKeys keys(opts.to_password, from.encrypted());  // the source's keys are unlocked already
  store::Store to(dst, store::Store::Mode::Write, "copy");
  ConsoleReporter reporter(ctx.console);
  std::vector<store::CopiedSnapshot> done = store::copy_snapshots(from, to, snaps, reporter);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  size_t skipped = 0;
  for (const store::CopiedSnapshot& c : done) {
    report(ctx.console, c, dst);
    list.push_back(copied_json(c));
    skipped += c.skipped ? 1 : 0;
  }
  ctx.console.set("snapshots", std::move(list));
  size_t copied = done.size() - skipped;
  ctx.console.info("Finished successfully: " + std::to_string(copied) + " snapshot" + (copied == 1 ? "" : "s") +
                   " copied to " + dst.string() +
                   (skipped ? ", " + std::to_string(skipped) + " already there" : std::string()) + ".");
  return 0;
}

}  // namespace

int run_copy(Context& ctx, const CopyOptions& opts) {
  try {
    return copy(ctx, opts);
  } catch (const Error& e) {
    throw finish(e, "The source store was not changed; every snapshot the target lists is complete.");
  }
}

}  // namespace mdb
