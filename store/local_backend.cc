#include "store/local_backend.h"

#include <unistd.h>

#include <atomic>

#include "platform/lock.h"

namespace mdb::store {

namespace stdfs = std::filesystem;

namespace {

constexpr size_t kMaxOpen = 16;

class LocalWriter : public ObjectWriter {
 public:
  explicit LocalWriter(stdfs::path dir) : dir_(std::move(dir)) {
    static std::atomic<uint64_t> counter{0};
    tmp_ = dir_ / ("tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    file_ = fs::File::create(tmp_, true, 0444);
  }
  ~LocalWriter() override {
    if (finished_) return;
    file_ = fs::File();
    fs::discard_file(tmp_);
  }
  void append(std::string_view bytes) override {
    file_.write_all(bytes);
    written_ += bytes.size();
    // The pack's bytes go to the disk while the next are made, so the fsync of finish() waits for
    // little: on a journaled ext4 each 32 MiB pack's fsync took 40-110 ms of the walking thread.
    if (written_ - flushed_ >= kWritebackBytes) {
      file_.start_writeback(flushed_, written_ - flushed_);
      flushed_ = written_;
    }
  }
  void finish(const std::string& name) override {
    file_.sync();
    file_.close();
    fs::rename(tmp_, dir_ / name);
    finished_ = true;
  }
  // Like finish(), but false (and nothing changed) when `name` exists.
  bool finish_new(const std::string& name) {
    file_.sync();
    file_.close();
    if (fs::env().link(tmp_, dir_ / name) == 0) return true;
    if (errno != EEXIST) throw fs::IoError("cannot create", dir_ / name, errno);
    return false;
  }

 private:
  static constexpr uint64_t kWritebackBytes = 4u << 20;
  stdfs::path dir_, tmp_;
  fs::File file_;
  uint64_t written_ = 0, flushed_ = 0;
  bool finished_ = false;
};

class LocalLock : public StoreLock {
 public:
  LocalLock(const stdfs::path& dir, const std::string& command)
      : file_(dir / "lock", "The store " + dir.string(), command) {}

 private:
  LockFile file_;
};

}  // namespace

std::unique_ptr<StoreLock> LocalBackend::lock(bool, const std::string& command) {
  return std::make_unique<LocalLock>(dir_, command);
}

bool is_temporary_object_name(std::string_view name) {
  return name.rfind("tmp-", 0) == 0 || name.find(".tmp-") != std::string_view::npos;  // write_file_atomic's
}

void LocalBackend::create_layout() { fs::mkdirs(dir_of(ObjectKind::Pack)); }

stdfs::path LocalBackend::dir_of(ObjectKind kind) const {
  switch (kind) {
    case ObjectKind::Pack: return dir_ / "packs";
    case ObjectKind::Pin: return dir_ / "pins";
    case ObjectKind::Index: return dir_ / "indexes";
    case ObjectKind::Lock: return dir_ / "locks";
    case ObjectKind::Config: break;
  }
  return dir_;
}

stdfs::path LocalBackend::path_of(ObjectKind kind, const std::string& name) const { return dir_of(kind) / name; }

std::string LocalBackend::where(ObjectKind kind, const std::string& name) const { return path_of(kind, name).string(); }

std::string LocalBackend::where(ObjectKind kind) const { return dir_of(kind).string(); }

std::unique_ptr<ObjectWriter> LocalBackend::create(ObjectKind kind) {
  return std::make_unique<LocalWriter>(dir_of(kind));
}

void LocalBackend::save(ObjectKind kind, const std::string& name, std::string_view bytes) {
  forget(kind, name);
  if (kind != ObjectKind::Config && !fs::exists(dir_of(kind))) {  // stores made before the kind existed
    fs::mkdirs(dir_of(kind));
    fs::sync_dir(dir_);
  }
  fs::write_file_atomic(path_of(kind, name), bytes);
}

// Written whole under a temporary name, then linked to its name: link(2) never replaces.
bool LocalBackend::create_new(ObjectKind kind, const std::string& name, std::string_view bytes) {
  if (kind != ObjectKind::Config && !fs::exists(dir_of(kind))) {
    fs::mkdirs(dir_of(kind));
    fs::sync_dir(dir_);
  }
  LocalWriter w(dir_of(kind));
  w.append(bytes);
  bool made = w.finish_new(name);
  if (made) fs::sync_dir(dir_of(kind));
  return made;
}

void LocalBackend::sync(ObjectKind kind) { fs::sync_dir(dir_of(kind)); }

fs::File& LocalBackend::open(ObjectKind kind, const std::string& name) {
  std::string key = path_of(kind, name).string();
  auto it = open_.find(key);
  if (it != open_.end()) return it->second;
  if (open_.size() >= kMaxOpen) {
    open_.erase(open_order_.front());
    open_order_.pop_front();
  }
  if (!fs::exists(key)) throw CorruptError(object_kind_word(kind) + " " + name + " is missing from " + where(kind));
  fs::File f = fs::File::open_read(key);
  open_order_.push_back(key);
  return open_.emplace(key, std::move(f)).first->second;
}

std::string LocalBackend::read(ObjectKind kind, const std::string& name, uint64_t offset, size_t length) {
  std::string out(length, '\0');
  out.resize(open(kind, name).pread(out.data(), length, offset));
  return out;
}

std::string LocalBackend::read_all(ObjectKind kind, const std::string& name) {
  if (!fs::exists(path_of(kind, name)))
    throw CorruptError(object_kind_word(kind) + " " + name + " is missing from " + where(kind));
  return fs::read_file(path_of(kind, name));
}

std::optional<uint64_t> LocalBackend::size(ObjectKind kind, const std::string& name) {
  std::error_code ec;
  uint64_t n = stdfs::file_size(path_of(kind, name), ec);
  if (ec) return std::nullopt;
  return n;
}

std::vector<ObjectInfo> LocalBackend::list(ObjectKind kind) {
  std::vector<ObjectInfo> out;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir_of(kind), ec)) {
    std::string name = e.path().filename().string();
    if (is_temporary_object_name(name) || !e.is_regular_file(ec)) continue;
    if (kind == ObjectKind::Config && name != "config") continue;
    std::error_code size_ec;
    uint64_t n = e.file_size(size_ec);
    if (!size_ec) out.push_back({name, n});
  }
  return out;
}

void LocalBackend::forget(ObjectKind kind, const std::string& name) {
  std::string key = path_of(kind, name).string();
  open_.erase(key);
  open_order_.remove(key);
}

void LocalBackend::remove(ObjectKind kind, const std::string& name) {
  forget(kind, name);
  fs::remove_file(path_of(kind, name));
}

void LocalBackend::remove_abandoned() {
  for (ObjectKind kind : {ObjectKind::Pack, ObjectKind::Pin, ObjectKind::Index, ObjectKind::Lock}) {
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(dir_of(kind), ec)) {
      std::string name = e.path().filename().string();
      if (is_temporary_object_name(name)) fs::remove_file(e.path());
    }
  }
}

}  // namespace mdb::store
