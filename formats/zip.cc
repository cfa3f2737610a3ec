#include "formats/zip.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "base/error.h"
#include "base/interrupt.h"
#include "formats/safe_path.h"
#include "formats/utf8.h"

namespace mdb::zip {

namespace stdfs = std::filesystem;

namespace {

// Why a member name is unsafe, or empty when it is fine.
std::string name_problem(std::string_view name, bool directory) {
  if (name.empty()) return "has an empty name";
  if (!utf8::valid(name)) return "has a name that is not valid UTF-8";
  std::string_view rest = name;
  if (directory) {
    if (rest.back() != '/') return "is a directory whose name does not end in '/'";
    rest.remove_suffix(1);
  } else if (rest.back() == '/') {
    return "is a file whose name ends in '/'";
  }
  return relative_path_problem(rest);
}

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string libzip_message(int code) {
  zip_error_t e;
  zip_error_init_with_code(&e, code);
  std::string msg = zip_error_strerror(&e);
  zip_error_fini(&e);
  return msg;
}

}  // namespace

void check_member_name(std::string_view name, bool directory, const std::string& archive) {
  std::string problem = name_problem(name, directory);
  if (!problem.empty())
    throw Error("The zip " + archive + ": member " + in_quotes(name) + " " + problem + ".", ErrorKind::Damaged);
}

// ---------------------------------------------------------------------------------------
// Reader

Reader::Reader(const stdfs::path& path) : path_(path) { index(); }

Reader::Reader(std::string_view bytes, const std::string& name) : path_(name), bytes_(bytes) { index(); }

::zip* Reader::open_archive() const {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = bytes_ ? zip_source_buffer_create(bytes_->data(), bytes_->size(), 0, &err)
                             : zip_source_file_create(path_.c_str(), 0, -1, &err);
  ::zip* za = src ? zip_open_from_source(src, ZIP_RDONLY, &err) : nullptr;
  if (!za) {
    if (src) zip_source_free(src);
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    throw Error("Cannot read the zip " + path_.string() + ": " + msg + ".", ErrorKind::Damaged);
  }
  zip_error_fini(&err);
  return za;
}

::zip* Reader::archive() const {
  if (za_) return za_;
  za_ = open_archive();
  bool same = zip_get_num_entries(za_, 0) == static_cast<zip_int64_t>(entries_.size());
  for (size_t i = 0; same && i < entries_.size(); ++i) {
    zip_stat_t st;
    same = zip_stat_index(za_, i, ZIP_FL_ENC_RAW, &st) == 0 && st.name && entries_[i].name == st.name &&
           st.size == entries_[i].size && st.comp_size == entries_[i].compressed_size;
  }
  if (!same) {
    zip_discard(std::exchange(za_, nullptr));
    throw Error("The zip " + path_.string() + " was changed while it was being read.");
  }
  return za_;
}

void Reader::release() {
  if (za_) zip_discard(std::exchange(za_, nullptr));
}

void Reader::index() {
  za_ = open_archive();
  zip_int64_t n = zip_get_num_entries(za_, 0);
  entries_.reserve(static_cast<size_t>(std::clamp<zip_int64_t>(n, 0, 1 << 20)));
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (zip_stat_index(za_, static_cast<uint64_t>(i), ZIP_FL_ENC_RAW, &st) != 0) {
      std::string msg = zip_strerror(za_);
      zip_discard(std::exchange(za_, nullptr));
      throw Error("Cannot read the zip " + path_.string() + ": member #" + std::to_string(i) + ": " + msg +
                  ".", ErrorKind::Damaged);
    }
    Entry e;
    e.index = static_cast<uint64_t>(i);
    e.name = st.name ? st.name : "";
    e.name_is_utf8 = utf8::valid(e.name);
    e.size = st.size;
    e.compressed_size = st.comp_size;
    e.is_directory = !e.name.empty() && e.name.back() == '/';
    uint8_t opsys = 0;
    uint32_t attributes = 0;
    if (zip_file_get_external_attributes(za_, e.index, 0, &opsys, &attributes) == 0 && opsys == ZIP_OPSYS_UNIX)
      e.unix_mode = attributes >> 16;
    entries_.push_back(std::move(e));
  }
}

Reader::~Reader() {
  if (za_) zip_discard(za_);
}

const Entry* Reader::find(std::string_view name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

void Reader::fail(const Entry& e, const std::string& what) const {
  throw Error("The zip " + path_.string() + ": member " + in_quotes(e.name) + " " + what + ".", ErrorKind::Damaged);
}

void Reader::validate(const Limits& limits) const {
  if (entries_.size() > limits.max_entries)
    throw Error("The zip " + path_.string() + " holds " + std::to_string(entries_.size()) + " members, more than the " +
                std::to_string(limits.max_entries) + " allowed.", ErrorKind::Damaged);
  std::set<std::string_view> files, dirs;  // names (in entries_) without the trailing '/'
  uint64_t total = 0;
  for (const Entry& e : entries_) {
    std::string problem = name_problem(e.name, e.is_directory);
    if (!problem.empty()) fail(e, problem);
    mode_t type = e.unix_mode & S_IFMT;
    if (S_ISLNK(type)) fail(e, "is a symbolic link");
    if (type != 0 && !S_ISREG(type) && !S_ISDIR(type)) fail(e, "is a device, FIFO or socket");
    if (S_ISDIR(type) != e.is_directory && type != 0) fail(e, "has a directory mode that does not match its name");
    zip_stat_t st;
    if (zip_stat_index(archive(), e.index, ZIP_FL_ENC_RAW, &st) != 0)
      fail(e, std::string("cannot be read: ") + zip_strerror(za_));
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) fail(e, "is encrypted");
    if ((st.valid & ZIP_STAT_COMP_METHOD) && !zip_compression_method_supported(st.comp_method, 0))
      fail(e, "uses an unsupported compression method (" + std::to_string(st.comp_method) + ")");
    if (e.is_directory && e.size != 0) fail(e, "is a directory with content");
    if (e.size > limits.max_member_size)
      fail(e, "declares " + std::to_string(e.size) + " bytes, more than the " + std::to_string(limits.max_member_size) +
                  " allowed per member");
    total += e.size;
    if (total > limits.max_total_size || total < e.size)
      fail(e, "brings the declared total over the " + std::to_string(limits.max_total_size) + " bytes allowed");
    std::string_view key = std::string_view(e.name).substr(0, e.name.size() - (e.is_directory ? 1 : 0));
    if (files.count(key) || dirs.count(key)) fail(e, "appears twice");
    (e.is_directory ? dirs : files).insert(key);
  }
  // A file may not also be a directory on the path of another member.
  for (const Entry& e : entries_)
    for (size_t slash = e.name.find('/'); slash != std::string::npos; slash = e.name.find('/', slash + 1))
      if (files.count(std::string_view(e.name).substr(0, slash)))
        fail(e, "lies under " + in_quotes(e.name.substr(0, slash)) + ", which is a file in the same zip");
  if (limits.extract_to) {
    struct statvfs vfs {};
    if (::statvfs(limits.extract_to->c_str(), &vfs) == 0) {
      uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
      if (total > free_bytes)
        throw Error("The zip " + path_.string() + " declares " + std::to_string(total) + " bytes of content, but " +
                    limits.extract_to->string() + " has only " + std::to_string(free_bytes) +
                    " bytes free.", ErrorKind::Io);
    }
  }
}

std::unique_ptr<MemberReader> Reader::open(const Entry& e) const {
  zip_file_t* f = zip_fopen_index(archive(), e.index, 0);
  if (!f) fail(e, std::string("cannot be opened: ") + zip_strerror(za_));
  return std::unique_ptr<MemberReader>(new MemberReader(*this, e, f));
}

MemberReader::~MemberReader() {
  if (file_) zip_fclose(file_);
}

size_t MemberReader::read(char* buf, size_t n) {
  if (!file_) return 0;
  interrupt::check();  // members are read in chunks: imports, restores and checks of large zips
  zip_int64_t got = zip_fread(file_, buf, n);
  if (got < 0) reader_.fail(entry_, std::string("is damaged: ") + zip_file_strerror(file_));
  total_ += static_cast<uint64_t>(got);
  if (total_ > entry_.size)
    reader_.fail(entry_, "holds more data than the " + std::to_string(entry_.size) + " bytes it declares");
  if (got > 0 || n == 0) return static_cast<size_t>(got);
  if (total_ != entry_.size)
    reader_.fail(entry_, "holds " + std::to_string(total_) + " bytes, not the " + std::to_string(entry_.size) +
                             " bytes it declares");
  int rc = zip_fclose(std::exchange(file_, nullptr));
  if (rc != 0) reader_.fail(entry_, "is damaged: " + libzip_message(rc));
  return 0;
}

void Reader::stream(const Entry& e, const std::function<void(std::string_view)>& sink) const {
  std::unique_ptr<MemberReader> in = open(e);
  std::string buf(1 << 16, '\0');
  while (size_t n = in->read(buf.data(), buf.size())) sink(std::string_view(buf.data(), n));
}

std::string Reader::read(const Entry& e, uint64_t max_size) const {
  if (e.size > max_size)
    fail(e, "declares " + std::to_string(e.size) + " bytes, more than the " + std::to_string(max_size) + " allowed");
  std::string out;
  out.reserve(static_cast<size_t>(e.size));
  stream(e, [&](std::string_view chunk) { out.append(chunk); });
  return out;
}

}  // namespace mdb::zip
