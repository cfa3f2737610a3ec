#include "tools/sample/files.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "platform/env.h"

namespace mdb::sample {

namespace {

timespec to_timespec(int64_t us) {
  timespec t{};
  t.tv_sec = static_cast<time_t>(us / 1'000'000);
  t.tv_nsec = static_cast<long>(us % 1'000'000) * 1000;
  return t;
}

}  // namespace

void set_mtime(const stdfs::path& path, int64_t mtime_us) {
  timespec times[2] = {to_timespec(mtime_us), to_timespec(mtime_us)};
  if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    throw fs::IoError("cannot set the modification time of", path, errno);
}

void Files::make_dirs(const stdfs::path& dir) {
  if (known_.count(dir)) return;
  if (!fs::exists(dir)) {
    make_dirs(dir.parent_path());
    fs::mkdirs(dir);
    touched_.insert(dir.parent_path());
  }
  known_.insert(dir);
}

void Files::write(const stdfs::path& rel, std::string_view bytes, int64_t mtime_us) {
  stdfs::path path = root_ / rel;
  make_dirs(path.parent_path());
  touched_.insert(path.parent_path());
  put(path, bytes, mtime_us);
}

void Files::rewrite(const stdfs::path& rel, std::string_view bytes, int64_t mtime_us) {
  put(root_ / rel, bytes, mtime_us);
}

void Files::put(const stdfs::path& path, std::string_view bytes, int64_t mtime_us) {
  fs::File f = fs::File::create(path);
  f.write_all(bytes);
  timespec times[2] = {to_timespec(mtime_us), to_timespec(mtime_us)};
  if (::futimens(f.fd(), times) != 0) throw fs::IoError("cannot set the modification time of", path, errno);
  f.close();
  ++files_;
  bytes_ += bytes.size();
}

void Files::flush_dirs(int64_t mtime_us) {
  // Setting a directory's time never changes its parent's, so the order does not matter.
  for (const stdfs::path& dir : touched_) set_mtime(dir, mtime_us);
  touched_.clear();
  known_.clear();
}

}  // namespace mdb::sample
