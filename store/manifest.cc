#include "store/manifest.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "formats/safe_path.h"
#include "formats/store.capnp.h"

namespace mdb::store {

namespace cs = mdb::capnp_store;

namespace {

constexpr size_t kPartMinEntries = 64;
constexpr size_t kPartMaxEntries = 4096;
constexpr size_t kPartMaxBytes = 4u << 20;
constexpr uint64_t kPartBoundaryMask = 0x1ff;  // about 512 entries per part

capnp::Data::Reader as_data(std::string_view s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
std::string str(capnp::Data::Reader d) { return std::string(reinterpret_cast<const char*>(d.begin()), d.size()); }
std::string str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }
capnp::Text::Reader text(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }

// Nanoseconds since the epoch, for readers of mtimeNs alone; 0 when the time does not fit.
int64_t ns_or_zero(const struct timespec& t) {
  constexpr int64_t kLimit = INT64_MAX / 1'000'000'000 - 1;
  if (t.tv_sec > kLimit || t.tv_sec < -kLimit) return 0;
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

struct timespec from_ns(int64_t ns) {
  struct timespec t {};
  t.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  t.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (t.tv_nsec < 0) {
    t.tv_nsec += 1'000'000'000;
    t.tv_sec -= 1;
  }
  return t;
}

void fill(cs::Owner::Builder o, const Owner& owner) {
  o.setUid(owner.uid);
  o.setGid(owner.gid);
}

std::optional<Owner> owner_of(cs::Owner::Reader o) { return Owner{o.getUid(), o.getGid()}; }

std::string to_bytes(capnp::MessageBuilder& msg) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(msg);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// Cap'n Proto needs word-aligned input; blob bytes come from anywhere.
kj::Array<capnp::word> aligned(std::string_view bytes, const std::string& what) {
  if (bytes.size() % sizeof(capnp::word) != 0)
    throw Error(what + " is damaged: not a Cap'n Proto message", ErrorKind::Damaged);
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  return words;
}

template <typename Fn>
auto decode(std::string_view bytes, const std::string& what, Fn&& fn) {
  kj::Array<capnp::word> words = aligned(bytes, what);
  try {
    capnp::ReaderOptions opts;
    opts.traversalLimitInWords = words.size() * 2 + 1024;
    capnp::FlatArrayMessageReader reader(words, opts);
    return fn(reader);
  } catch (const kj::Exception& e) {
    throw Error(what + " is damaged: " + std::string(e.getDescription().cStr()), ErrorKind::Damaged);
  }
}

// mtimeSec/mtimeNsec, or mtimeNs in manifests written before them (both 0 there).
struct timespec read_mtime(cs::Entry::Reader r, const std::string& what, const std::string& path) {
  if (r.getMtimeSec() == 0 && r.getMtimeNsec() == 0) return from_ns(r.getMtimeNs());
  if (r.getMtimeNsec() >= 1'000'000'000)
    throw Error(what + " is damaged: a modification time out of range at '" + path + "'", ErrorKind::Damaged);
  struct timespec t {};
  t.tv_sec = static_cast<time_t>(r.getMtimeSec());
  t.tv_nsec = static_cast<long>(r.getMtimeNsec());
  return t;
}

}  // namespace

bool path_less(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
    unsigned char y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

std::string_view parent_path(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string encode_manifest_part(const std::vector<Entry>& entries) {
  capnp::MallocMessageBuilder msg;
  auto part = msg.initRoot<cs::ManifestPart>();
  auto list = part.initEntries(static_cast<unsigned>(entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    auto b = list[i];
    b.setPath(as_data(e.path));
    b.setKind(static_cast<cs::Entry::Kind>(e.kind));
    b.setMode(e.mode);
    b.setMtimeNs(ns_or_zero(e.mtime));
    b.setMtimeSec(e.mtime.tv_sec);
    b.setMtimeNsec(static_cast<uint32_t>(e.mtime.tv_nsec));
    if (e.owner) fill(b.initOwner(), *e.owner);
    b.setHardLinked(e.hard_linked);
    b.setDeviceMajor(e.device_major);
    b.setDeviceMinor(e.device_minor);
    b.setSize(e.size);
    if (!e.chunks.empty()) {
      auto chunks = b.initChunks(static_cast<unsigned>(e.chunks.size()));
      for (unsigned c = 0; c < e.chunks.size(); ++c) chunks.set(c, as_data(e.chunks[c].raw()));
    }
    if (!e.target.empty()) b.setTarget(as_data(e.target));
    b.setDatabase(e.database);
    b.setChangedWhileRead(e.changed_while_read);
  }
  return to_bytes(msg);
}

std::vector<Entry> decode_manifest_part(std::string_view bytes, const std::string& what) {
  return decode(bytes, what, [&](capnp::FlatArrayMessageReader& reader) {
    std::vector<Entry> out;
    auto list = reader.getRoot<cs::ManifestPart>().getEntries();
    out.reserve(list.size());
    for (auto r : list) {
      Entry e;
      e.path = str(r.getPath());
      if (std::string problem = relative_path_problem(e.path); !problem.empty())
        throw Error(what + " is damaged: the path '" + e.path + "' " + problem, ErrorKind::Damaged);
      if (!out.empty() && !path_less(out.back().path, e.path))
        throw Error(what + " is damaged: paths out of order at '" + e.path + "'", ErrorKind::Damaged);
      auto kind = static_cast<uint16_t>(r.getKind());
      if (kind > static_cast<uint16_t>(EntryKind::BlockDevice))
        throw Error(what + " is damaged: an unknown entry kind at '" + e.path + "'", ErrorKind::Damaged);
      e.kind = static_cast<EntryKind>(kind);
      e.mode = r.getMode() & 07777;
      e.mtime = read_mtime(r, what, e.path);
      if (r.hasOwner()) e.owner = owner_of(r.getOwner());
      e.hard_linked = r.getHardLinked();
      e.device_major = r.getDeviceMajor();
      e.device_minor = r.getDeviceMinor();
      e.size = r.getSize();
      for (auto c : r.getChunks()) e.chunks.push_back(BlobId::from_raw(str(c), what));
      e.target = str(r.getTarget());
      e.database = r.getDatabase();
      e.changed_while_read = r.getChangedWhileRead();
      if (e.kind == EntryKind::Symlink && (e.target.empty() || e.target.find('\0') != std::string::npos))
        throw Error(what + " is damaged: a symlink without a target at '" + e.path + "'", ErrorKind::Damaged);
      if (e.kind == EntryKind::HardLink &&
          (!relative_path_problem(e.target).empty() || !path_less(e.target, e.path)))
        throw Error(what + " is damaged: a hard link at '" + e.path + "' to no earlier path", ErrorKind::Damaged);
      out.push_back(std::move(e));
    }
    return out;
  });
}

const char* kind_name(SnapshotKind kind) {
  switch (kind) {
    case SnapshotKind::Backup:
      return "backup";
    case SnapshotKind::BeforeImport:
      return "before_import";
    case SnapshotKind::BeforeRestore:
      return "before_restore";
    case SnapshotKind::BeforeExportDelete:
      return "before_export_delete";
  }
  return "backup";
}

SnapshotKind classify_snapshot(std::string_view name, std::string_view reason) {
  if (reason == "backup") return SnapshotKind::Backup;
  if (reason == "import") return SnapshotKind::BeforeImport;
  if (reason == "restore") return SnapshotKind::BeforeRestore;
  if (reason.rfind("export", 0) == 0) return SnapshotKind::BeforeExportDelete;
  auto named = [&](std::string_view part) { return name.find(part) != std::string_view::npos; };
  if (named("_before_import")) return SnapshotKind::BeforeImport;
  if (named("_before_restore")) return SnapshotKind::BeforeRestore;
  if (named("_before_export")) return SnapshotKind::BeforeExportDelete;
  return SnapshotKind::Backup;
}

namespace {

cs::Snapshot::Kind to_capnp(SnapshotKind kind) {
  switch (kind) {
    case SnapshotKind::Backup:
      return cs::Snapshot::Kind::BACKUP;
    case SnapshotKind::BeforeImport:
      return cs::Snapshot::Kind::BEFORE_IMPORT;
    case SnapshotKind::BeforeRestore:
      return cs::Snapshot::Kind::BEFORE_RESTORE;
    case SnapshotKind::BeforeExportDelete:
      return cs::Snapshot::Kind::BEFORE_EXPORT_DELETE;
  }
  return cs::Snapshot::Kind::BACKUP;
}

// The stored kind; records without one (or with a value a newer build added) by classify_snapshot.
SnapshotKind from_capnp(cs::Snapshot::Kind kind, const SnapshotRecord& s) {
  switch (kind) {
    case cs::Snapshot::Kind::BACKUP:
      return SnapshotKind::Backup;
    case cs::Snapshot::Kind::BEFORE_IMPORT:
      return SnapshotKind::BeforeImport;
    case cs::Snapshot::Kind::BEFORE_RESTORE:
      return SnapshotKind::BeforeRestore;
    case cs::Snapshot::Kind::BEFORE_EXPORT_DELETE:
      return SnapshotKind::BeforeExportDelete;
    default:
      return classify_snapshot(s.name, s.reason);
  }
}

}  // namespace

bool SnapshotRecord::has_tag(std::string_view tag) const {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

std::string encode_snapshot(const SnapshotRecord& s) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<cs::Snapshot>();
  b.setName(text(s.name));
  b.setTimeNs(s.time_ns);
  b.setHost(text(s.host));
  b.setDataDir(text(s.data_dir));
  b.setReason(text(s.reason));
  b.setFiles(s.files);
  b.setDirs(s.dirs);
  b.setBytes(s.bytes);
  b.setNewBytes(s.new_bytes);
  b.setStoredBytes(s.stored_bytes);
  b.setEntries(s.entries);
  b.setKind(to_capnp(s.kind));
  b.setChangedWhileRead(s.changed_while_read);
  if (s.root_owner) fill(b.initRootOwner(), *s.root_owner);
  auto tags = b.initTags(static_cast<unsigned>(s.tags.size()));
  for (unsigned i = 0; i < s.tags.size(); ++i) tags.set(i, text(s.tags[i]));
  auto parts = b.initManifest(static_cast<unsigned>(s.manifest.size()));
  for (unsigned i = 0; i < s.manifest.size(); ++i) parts.set(i, as_data(s.manifest[i].raw()));
  return to_bytes(msg);
}

SnapshotRecord decode_snapshot(std::string_view bytes, const std::string& what) {
  return decode(bytes, what, [&](capnp::FlatArrayMessageReader& reader) {
    auto r = reader.getRoot<cs::Snapshot>();
    SnapshotRecord s;
    s.name = str(r.getName());
    s.time_ns = r.getTimeNs();
    s.host = str(r.getHost());
    s.data_dir = str(r.getDataDir());
    s.reason = str(r.getReason());
    s.files = r.getFiles();
    s.dirs = r.getDirs();
    s.bytes = r.getBytes();
    s.new_bytes = r.getNewBytes();
    s.stored_bytes = r.getStoredBytes();
    s.entries = r.getEntries();
    s.changed_while_read = r.getChangedWhileRead();
    if (r.hasRootOwner()) s.root_owner = owner_of(r.getRootOwner());
    for (auto t : r.getTags()) s.tags.push_back(str(t));
    for (auto p : r.getManifest()) s.manifest.push_back(BlobId::from_raw(str(p), what));
    if (s.name.empty() || s.name.find('\0') != std::string::npos)
      throw Error(what + " is damaged: no snapshot name", ErrorKind::Damaged);
    s.kind = from_capnp(r.getKind(), s);
    return s;
  });
}

void ManifestWriter::add(Entry e) {
  if (count_ > 0 && !path_less(last_path_, e.path))
    throw std::logic_error("manifest entries out of order: " + last_path_ + " then " + e.path);
  last_path_ = e.path;
  ++count_;
  pending_bytes_ += e.path.size() + e.target.size() + e.chunks.size() * 40 + 64;
  uint64_t h = XXH3_64bits(e.path.data(), e.path.size());
  pending_.push_back(std::move(e));
  bool boundary = pending_.size() >= kPartMinEntries && (h & kPartBoundaryMask) == 0;
  if (boundary || pending_.size() >= kPartMaxEntries || pending_bytes_ >= kPartMaxBytes) cut();
}

void ManifestWriter::cut() {
  if (pending_.empty()) return;
  parts_.push_back(store_part_(encode_manifest_part(pending_)));
  pending_.clear();
  pending_bytes_ = 0;
}

std::vector<BlobId> ManifestWriter::finish() {
  cut();
  return std::move(parts_);
}

}  // namespace mdb::store
