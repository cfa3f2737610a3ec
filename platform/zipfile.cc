#include "platform/zipfile.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace mdb::fs {

namespace {

stdfs::path partial_path(const stdfs::path& target) {
  return target.parent_path() / ("." + target.filename().string() + ".partial");
}

// False when another process holds the lock; other failures are errors, not "taken".
bool try_lock(const File& f) {
  if (env().flock(f.fd(), LOCK_EX | LOCK_NB) == 0) return true;
  if (errno != EWOULDBLOCK) throw IoError("cannot lock", f.path(), errno);
  return false;
}

// Whether `path` still names the open file `f` (and not a newer file, or nothing).
bool still_named(const File& f, const stdfs::path& path) {
  struct stat by_fd = f.stat(), by_name{};
  return ::stat(path.c_str(), &by_name) == 0 && by_name.st_ino == by_fd.st_ino && by_name.st_dev == by_fd.st_dev;
}

// Removes `path` if it is an unlocked partial file: its writer was killed. Holding the lock
// while checking that the name still refers to the locked file keeps a fresh partial file
// of another process safe.
void remove_if_stale(const stdfs::path& path) {
  int fd = env().open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return;
  File f(fd, path);
  if (try_lock(f) && still_named(f, path)) remove_file(path);
}

class FileScratch : public zip::Scratch {
 public:
  explicit FileScratch(File f) : file_(std::move(f)) {}
  void append(std::string_view data) override {
    file_.pwrite_all(data, size_);
    size_ += data.size();
  }
  size_t read_at(uint64_t offset, char* buf, size_t n) override { return file_.pread(buf, n, offset); }

 private:
  File file_;
  uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<zip::Scratch> ZipFileOutput::scratch() {
  // Named like a partial file where the filesystem needs a name: remove_stale_partials sweeps it.
  return std::make_unique<FileScratch>(
      File::create_unnamed(target_.parent_path(), partial_.filename().string() + ".", ".partial"));
}

std::unique_ptr<ZipFileOutput> ZipFileOutput::reserve(const stdfs::path& target) {
  stdfs::path partial = partial_path(target);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fs::exists(target)) return nullptr;
    try {
      File f = File::create(partial, /*exclusive=*/true, 0644);
      // Another process cleaning stale partials may have taken our file for one between its
      // creation and our lock: then it is removed (or about to be), and the name is not ours.
      if (!try_lock(f) || !still_named(f, partial)) continue;
      if (fs::exists(target)) {  // created between our check and our partial file
        remove_file(partial);
        return nullptr;
      }
      return std::unique_ptr<ZipFileOutput>(new ZipFileOutput(target, partial, std::move(f)));
    } catch (const IoError& e) {
      if (e.err() != EEXIST) throw;
    }
    remove_if_stale(partial);  // a live writer keeps it locked: then the name stays taken
  }
  return nullptr;
}

void ZipFileOutput::remove_stale_partials(const stdfs::path& dir) {
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() > 8 && name[0] == '.' && name.ends_with(".partial")) remove_if_stale(entry.path());
  }
}

ZipFileOutput::~ZipFileOutput() { rollback(); }

void ZipFileOutput::write_at(uint64_t offset, std::string_view data) { file_.pwrite_all(data, offset); }

void ZipFileOutput::commit() {
  file_.sync();
  fs::rename(partial_, target_);
  try {
    sync_dir(target_.parent_path());
  } catch (...) {
    discard_file(target_);  // not known to be durable: no zip rather than a doubtful one
    file_ = File();
    throw;
  }
  committed_ = true;
  file_.close();  // releases the lock; the name is now the zip's
}

void ZipFileOutput::rollback() noexcept {
  if (committed_ || !file_.valid()) return;
  discard_file(partial_);  // cleanup must not fail: not a fault point
  file_ = File();
}

void extract_member(const zip::Reader& zip, const zip::Entry& e, const stdfs::path& dest, mode_t mode, bool sync) {
  File out = File::create(dest, /*exclusive=*/true, mode);
  try {
    zip.stream(e, [&](std::string_view chunk) { out.write_all(chunk); });
    if (sync) out.sync();
    out.close();
  } catch (const IoError&) {
    discard_file(dest);
    throw;
  } catch (const Error& err) {
    discard_file(dest);
    throw Error(std::string(err.what()) + " (extracting to " + dest.string() + ")", err.kind());
  }
}

}  // namespace mdb::fs
