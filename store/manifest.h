#pragma once
// Snapshot records and manifests (store.md), encoded with Cap'n Proto (formats/store.capnp).
// A manifest is the data dir's tree as entries sorted by path, split into bounded parts;
// each part and the snapshot record are blobs in packs, so the index can be rebuilt.
#include <time.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/hash.h"

namespace mdb::store {

enum class EntryKind : uint8_t {
  File = 0,
  Directory = 1,
  Symlink = 2,
  HardLink = 3,  // a hard link to the earlier File entry at `target` (chunks and size too, for --only)
  Fifo = 4,
  CharDevice = 5,
  BlockDevice = 6,
};

// Numeric owner and group (as `tar --numeric-owner`).
struct Owner {
  uint32_t uid = 0, gid = 0;
  bool operator==(const Owner&) const = default;
};

struct Entry {
  std::string path;  // relative, '/'-separated, never empty, no "." or ".." components
  EntryKind kind = EntryKind::File;
  uint32_t mode = 0;  // permission bits
  struct timespec mtime {};  // any year: int64 nanoseconds would end in 2262
  uint64_t size = 0;
  std::vector<BlobId> chunks;
  std::string target;  // symlinks; the linked path of hard links
  bool database = false;
  // The file kept changing while backup read it: its bytes are those of the last read and
  // may mix old and new content (docs/store.md, "Files that change while they are read").
  bool changed_while_read = false;
  std::optional<Owner> owner;  // unknown in manifests written before owners were recorded
  bool hard_linked = false;    // a File that later HardLink entries may link to
  uint32_t device_major = 0, device_minor = 0;  // CharDevice, BlockDevice
};

// Path order of manifests: component by component, bytewise ("a/b" < "a/b/c" < "a/b-c").
bool path_less(std::string_view a, std::string_view b);
// The parent of a relative path ("" for a top-level entry).
std::string_view parent_path(std::string_view path);

std::string encode_manifest_part(const std::vector<Entry>& entries);
// Decodes and checks a part (untrusted bytes: fuzzed). Throws mdb::Error naming `what`.
std::vector<Entry> decode_manifest_part(std::string_view bytes, const std::string& what);

// What made a snapshot: a user's backup, or the automatic snapshot taken before a change.
// prune keeps them by different rules (docs/PRUNE.md).
enum class SnapshotKind : uint8_t { Backup, BeforeImport, BeforeRestore, BeforeExportDelete };

// "backup", "before_import", "before_restore", "before_export_delete".
const char* kind_name(SnapshotKind kind);
inline bool is_automatic(SnapshotKind kind) { return kind != SnapshotKind::Backup; }
// The kind of a record written before kinds were stored: by its reason ("backup" or the
// command it preceded), else by its name (`..._before_import`, ...); otherwise a backup, so
// that no policy for automatic snapshots ever removes it.
SnapshotKind classify_snapshot(std::string_view name, std::string_view reason);

struct SnapshotRecord {
  std::string name;
  int64_t time_ns = 0;
  std::string host;
  std::string data_dir;
  std::string reason;  // "backup" or the command an automatic snapshot preceded
  SnapshotKind kind = SnapshotKind::Backup;
  uint64_t files = 0, dirs = 0, entries = 0, bytes = 0, new_bytes = 0, stored_bytes = 0;
  uint64_t changed_while_read = 0;  // entries marked changed_while_read
  std::optional<Owner> root_owner;  // of the data dir itself; unknown in older records
  std::vector<std::string> tags;    // `backup --tag`; none in older records
  bool has_tag(std::string_view tag) const;
  std::vector<BlobId> manifest;
};

std::string encode_snapshot(const SnapshotRecord& s);
SnapshotRecord decode_snapshot(std::string_view bytes, const std::string& what);

// Collects entries in path order and emits bounded parts through `store_part`, which stores
// the encoded part as a blob and returns its id. Part boundaries depend only on the paths
// around them, so an unchanged stretch of the tree gives the same part (deduplicated).
class ManifestWriter {
 public:
  explicit ManifestWriter(std::function<BlobId(std::string)> store_part) : store_part_(std::move(store_part)) {}
  void add(Entry e);
  // Emits the last part; returns the ids of all parts in order.
  std::vector<BlobId> finish();
  uint64_t count() const { return count_; }

 private:
  void cut();
  std::function<BlobId(std::string)> store_part_;
  std::vector<Entry> pending_;
  size_t pending_bytes_ = 0;
  std::vector<BlobId> parts_;
  std::string last_path_;
  uint64_t count_ = 0;
};

}  // namespace mdb::store
