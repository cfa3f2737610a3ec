#include "formats/zip.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "formats/error.h"

namespace mdb::zip {

namespace stdfs = std::filesystem;

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp, min;
    if ((b & 0xE0) == 0xC0) n = 2, cp = b & 0x1F, min = 0x80;
    else if ((b & 0xF0) == 0xE0) n = 3, cp = b & 0x0F, min = 0x800;
    else if ((b & 0xF8) == 0xF0) n = 4, cp = b & 0x07, min = 0x10000;
    else return false;
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

namespace {

// zlib's default level, as Python's zipfile uses: a good balance of speed and size.
constexpr uint32_t kDeflateLevel = 6;

// Why a member name is unsafe, or empty when it is fine.
std::string name_problem(std::string_view name, bool directory) {
  if (name.empty()) return "has an empty name";
  if (name.find('\0') != std::string_view::npos) return "has a NUL byte in its name";
  if (name.front() == '/') return "has an absolute path";
  if (!is_valid_utf8(name)) return "has a name that is not valid UTF-8";
  std::string_view rest = name;
  if (directory) {
    if (rest.back() != '/') return "is a directory whose name does not end in '/'";
    rest.remove_suffix(1);
  } else if (rest.back() == '/') {
    return "is a file whose name ends in '/'";
  }
  while (true) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part.empty()) return "has an empty path component";
    if (part == "." || part == "..") return "has a '" + std::string(part) + "' path component";
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return {};
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
  if (!problem.empty()) throw Error("The zip " + archive + ": member " + in_quotes(name) + " " + problem + ".");
}

// ---------------------------------------------------------------------------------------
// Writer

namespace {

class MemoryInput : public Input {
 public:
  explicit MemoryInput(std::string data) : data_(std::move(data)) {}
  size_t read(char* buf, size_t n) override {
    size_t k = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  std::optional<uint64_t> size() override { return data_.size(); }

 private:
  std::string data_;
  size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<Input> memory_input(std::string data) { return std::make_unique<MemoryInput>(std::move(data)); }

struct Writer::Impl {
  struct Member {
    Impl* owner;
    std::string name;
    std::unique_ptr<Input> input;
    std::optional<uint64_t> declared;
    uint64_t read = 0;
    zip_error_t error;
  };

  std::unique_ptr<Output> out;
  time_t mtime;
  ::zip* za = nullptr;
  std::vector<std::unique_ptr<Member>> members;
  std::exception_ptr error;  // the first exception raised inside a libzip callback
  zip_error_t archive_error;
  uint64_t offset = 0, end = 0;
  uint64_t count = 0;
  bool committed = false;

  // libzip calls back into C++ code that may throw: exceptions never cross libzip, they
  // are kept here and rethrown by commit().
  int64_t fail(zip_error_t* e, int code) {
    if (!error) error = std::current_exception();
    zip_error_set(e, code, 0);
    return -1;
  }

  static zip_int64_t archive_cb(void* self, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    return static_cast<Impl*>(self)->archive_command(data, len, cmd);
  }

  int64_t archive_command(void* data, uint64_t len, zip_source_cmd_t cmd) {
    try {
      switch (cmd) {
        case ZIP_SOURCE_SUPPORTS: return ZIP_SOURCE_SUPPORTS_WRITABLE;
        case ZIP_SOURCE_STAT:  // the archive does not exist yet: libzip starts a new one
          zip_error_set(&archive_error, ZIP_ER_READ, ENOENT);
          return -1;
        case ZIP_SOURCE_BEGIN_WRITE:
          out->begin();
          offset = end = 0;
          return 0;
        case ZIP_SOURCE_WRITE:
          out->write_at(offset, std::string_view(static_cast<const char*>(data), len));
          offset += len;
          end = std::max(end, offset);
          return static_cast<int64_t>(len);
        case ZIP_SOURCE_SEEK_WRITE: {
          int64_t to = zip_source_seek_compute_offset(offset, end, data, len, &archive_error);
          if (to < 0) return -1;
          offset = static_cast<uint64_t>(to);
          return 0;
        }
        case ZIP_SOURCE_TELL_WRITE: return static_cast<int64_t>(offset);
        case ZIP_SOURCE_COMMIT_WRITE:
          out->commit();
          committed = true;
          return 0;
        case ZIP_SOURCE_ROLLBACK_WRITE:
        case ZIP_SOURCE_REMOVE:
          out->rollback();
          return 0;
        case ZIP_SOURCE_ERROR: return zip_error_to_data(&archive_error, data, len);
        case ZIP_SOURCE_FREE: return 0;
        default: zip_error_set(&archive_error, ZIP_ER_OPNOTSUPP, 0); return -1;
      }
    } catch (...) {
      return fail(&archive_error, cmd == ZIP_SOURCE_COMMIT_WRITE ? ZIP_ER_RENAME : ZIP_ER_WRITE);
    }
  }

  static zip_int64_t input_cb(void* member, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    auto* m = static_cast<Member*>(member);
    return m->owner->input_command(*m, data, len, cmd);
  }

  int64_t input_command(Member& m, void* data, uint64_t len, zip_source_cmd_t cmd) {
    try {
      switch (cmd) {
        case ZIP_SOURCE_SUPPORTS: return ZIP_SOURCE_SUPPORTS_READABLE;
        case ZIP_SOURCE_STAT: {
          auto* st = static_cast<zip_stat_t*>(data);
          zip_stat_init(st);
          st->mtime = mtime;
          st->valid |= ZIP_STAT_MTIME;
          if (!m.declared) m.declared = m.input->size();
          if (m.declared) {
            st->size = *m.declared;
            st->valid |= ZIP_STAT_SIZE;
          }
          return sizeof(zip_stat_t);
        }
        case ZIP_SOURCE_OPEN:
          m.read = 0;
          m.input->open();
          return 0;
        case ZIP_SOURCE_READ: {
          size_t n = m.input->read(static_cast<char*>(data), len);
          m.read += n;
          if (m.declared && m.read > *m.declared) size_changed(m);
          return static_cast<int64_t>(n);
        }
        case ZIP_SOURCE_CLOSE:
          m.input->close();
          if (m.declared && m.read != *m.declared) size_changed(m);
          return 0;
        case ZIP_SOURCE_ERROR: return zip_error_to_data(&m.error, data, len);
        case ZIP_SOURCE_FREE: return 0;
        default: zip_error_set(&m.error, ZIP_ER_OPNOTSUPP, 0); return -1;
      }
    } catch (...) {
      return fail(&m.error, ZIP_ER_READ);
    }
  }

  [[noreturn]] void size_changed(const Member& m) {
    throw Error("Writing the zip " + out->name() + " failed: the content of " + in_quotes(m.name) + " changed while it was "
                "being written (" + std::to_string(*m.declared) + " bytes expected, " + std::to_string(m.read) +
                " read). Nothing was written.");
  }

  [[noreturn]] void libzip_failed(const std::string& what) {
    throw Error("Writing the zip " + out->name() + " failed: " + what + ": " + zip_strerror(za) + ". Nothing was written.");
  }

  void configure(int64_t index, bool directory, bool executable) {
    auto i = static_cast<uint64_t>(index);
    mode_t mode = directory ? (S_IFDIR | 0755) : (S_IFREG | (executable ? 0755 : 0644));
    uint32_t attributes = (static_cast<uint32_t>(mode) << 16) | (directory ? 0x10 : 0);  // 0x10: MS-DOS directory
    if (zip_file_set_external_attributes(za, i, 0, ZIP_OPSYS_UNIX, attributes) != 0 ||
        zip_file_set_mtime(za, i, mtime, 0) != 0 ||
        zip_set_file_compression(za, i, directory ? ZIP_CM_STORE : ZIP_CM_DEFLATE, kDeflateLevel) != 0)
      libzip_failed("cannot set the attributes of a member");
  }

  static zip_flags_t name_flags(std::string_view name) {
    for (char c : name)
      if (static_cast<unsigned char>(c) >= 0x80) return ZIP_FL_ENC_UTF_8;
    return ZIP_FL_ENC_GUESS;  // plain ASCII: no UTF-8 flag, as Python writes it
  }
};

Writer::Writer(std::unique_ptr<Output> out, time_t mtime) : impl_(std::make_unique<Impl>()) {
  impl_->out = std::move(out);
  impl_->mtime = mtime;
  zip_error_init(&impl_->archive_error);
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_function_create(&Impl::archive_cb, impl_.get(), &err);
  if (src) {
    impl_->za = zip_open_from_source(src, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!impl_->za) zip_source_free(src);
  }
  if (!impl_->za) {
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    throw Error("Cannot start the zip " + impl_->out->name() + ": " + msg + ". Nothing was written.");
  }
  zip_error_fini(&err);
}

Writer::~Writer() {
  if (impl_->za) zip_discard(impl_->za);
  if (!impl_->committed) impl_->out->rollback();
  for (auto& m : impl_->members) zip_error_fini(&m->error);
  zip_error_fini(&impl_->archive_error);
}

uint64_t Writer::member_count() const { return impl_->count; }

void Writer::add_directory(std::string_view name) {
  std::string dir(name);
  if (dir.empty() || dir.back() != '/') dir += '/';
  check_member_name(dir, true, impl_->out->name());
  zip_int64_t index = zip_dir_add(impl_->za, dir.c_str(), Impl::name_flags(dir));
  if (index < 0) impl_->libzip_failed("cannot add the directory " + in_quotes(dir));
  impl_->configure(index, true, false);
  ++impl_->count;
}

void Writer::add_file(std::string_view name, std::unique_ptr<Input> in, bool executable) {
  check_member_name(name, false, impl_->out->name());
  auto m = std::make_unique<Impl::Member>();
  m->owner = impl_.get();
  m->name = std::string(name);
  m->input = std::move(in);
  zip_error_init(&m->error);
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_function_create(&Impl::input_cb, m.get(), &err);
  zip_error_fini(&err);
  if (!src) impl_->libzip_failed("cannot add " + in_quotes(name));
  zip_int64_t index = zip_file_add(impl_->za, m->name.c_str(), src, Impl::name_flags(name));
  if (index < 0) {
    zip_source_free(src);
    zip_error_fini(&m->error);
    impl_->libzip_failed("cannot add " + in_quotes(name));
  }
  impl_->members.push_back(std::move(m));
  impl_->configure(index, false, executable);
  ++impl_->count;
}

void Writer::commit() {
  ::zip* za = std::exchange(impl_->za, nullptr);
  if (zip_close(za) == 0) {
    if (impl_->committed) return;
    // libzip writes no file for an archive without members.
    throw Error("Writing the zip " + impl_->out->name() + " failed: it has no members. Nothing was written.");
  }
  // zip_close failed: libzip rolled the output back; free the archive and report why.
  std::string msg = zip_strerror(za);
  zip_discard(za);
  impl_->out->rollback();
  if (impl_->error) std::rethrow_exception(impl_->error);
  throw Error("Writing the zip " + impl_->out->name() + " failed: " + msg + ". Nothing was written.");
}

// ---------------------------------------------------------------------------------------
// Reader

Reader::Reader(const stdfs::path& path) : path_(path) {
  zip_error_t err;
  zip_error_init(&err);
  open(zip_source_file_create(path.c_str(), 0, -1, &err), &err);
}

Reader::Reader(std::string_view bytes, const std::string& name) : path_(name) {
  zip_error_t err;
  zip_error_init(&err);
  open(zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err), &err);
}

void Reader::open(zip_source_t* src, zip_error_t* err) {
  za_ = src ? zip_open_from_source(src, ZIP_RDONLY, err) : nullptr;
  if (!za_) {
    if (src) zip_source_free(src);
    std::string msg = zip_error_strerror(err);
    zip_error_fini(err);
    throw Error("Cannot read the zip " + path_.string() + ": " + msg + ". Nothing was changed.");
  }
  zip_error_fini(err);
  zip_int64_t n = zip_get_num_entries(za_, 0);
  entries_.reserve(static_cast<size_t>(std::clamp<zip_int64_t>(n, 0, 1 << 20)));
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (zip_stat_index(za_, static_cast<uint64_t>(i), ZIP_FL_ENC_RAW, &st) != 0) {
      std::string msg = zip_strerror(za_);
      zip_discard(std::exchange(za_, nullptr));
      throw Error("Cannot read the zip " + path_.string() + ": member #" + std::to_string(i) + ": " + msg +
                  ". Nothing was changed.");
    }
    Entry e;
    e.index = static_cast<uint64_t>(i);
    e.name = st.name ? st.name : "";
    e.name_is_utf8 = is_valid_utf8(e.name);
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
  throw Error("The zip " + path_.string() + ": member " + in_quotes(e.name) + " " + what + ". Nothing was changed.");
}

void Reader::validate(const Limits& limits) const {
  if (entries_.size() > limits.max_entries)
    throw Error("The zip " + path_.string() + " holds " + std::to_string(entries_.size()) + " members, more than the " +
                std::to_string(limits.max_entries) + " allowed. Nothing was changed.");
  std::set<std::string, std::less<>> files, dirs;  // names without the trailing '/'
  uint64_t total = 0;
  for (const Entry& e : entries_) {
    std::string problem = name_problem(e.name, e.is_directory);
    if (!problem.empty()) fail(e, problem);
    mode_t type = e.unix_mode & S_IFMT;
    if (S_ISLNK(type)) fail(e, "is a symbolic link");
    if (type != 0 && !S_ISREG(type) && !S_ISDIR(type)) fail(e, "is a device, FIFO or socket");
    if (S_ISDIR(type) != e.is_directory && type != 0) fail(e, "has a directory mode that does not match its name");
    zip_stat_t st;
    if (zip_stat_index(za_, e.index, ZIP_FL_ENC_RAW, &st) != 0) fail(e, std::string("cannot be read: ") + zip_strerror(za_));
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
    std::string key = e.is_directory ? e.name.substr(0, e.name.size() - 1) : e.name;
    if (files.count(key) || dirs.count(key)) fail(e, "appears twice");
    (e.is_directory ? dirs : files).insert(key);
  }
  // A file may not also be a directory on the path of another member.
  for (const Entry& e : entries_)
    for (size_t slash = e.name.find('/'); slash != std::string::npos; slash = e.name.find('/', slash + 1))
      if (files.count(std::string_view(e.name).substr(0, slash)))
        fail(e, "lies under " + in_quotes(e.name.substr(0, slash)) + ", which is a file in the same zip");
  if (limits.extract_to) {
    struct statvfs vfs{};
    if (::statvfs(limits.extract_to->c_str(), &vfs) == 0) {
      uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
      if (total > free_bytes)
        throw Error("The zip " + path_.string() + " declares " + std::to_string(total) + " bytes of content, but " +
                    limits.extract_to->string() + " has only " + std::to_string(free_bytes) +
                    " bytes free. Nothing was changed.");
    }
  }
}

std::unique_ptr<MemberReader> Reader::open(const Entry& e) const {
  zip_file_t* f = zip_fopen_index(za_, e.index, 0);
  if (!f) fail(e, std::string("cannot be opened: ") + zip_strerror(za_));
  return std::unique_ptr<MemberReader>(new MemberReader(*this, e, f));
}

MemberReader::~MemberReader() {
  if (file_) zip_fclose(file_);
}

size_t MemberReader::read(char* buf, size_t n) {
  if (!file_) return 0;
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
