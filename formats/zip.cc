#include "formats/zip.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
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

std::string in_quotes(std::string_view s) { return shown_name(s); }

}  // namespace

std::string shown_name(std::string_view name) {
  static const char* hex = "0123456789abcdef";
  std::string out = "'";
  for (char c : name) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f)
      out += std::string("\\x") + hex[b >> 4] + hex[b & 15];
    else
      out += c;
  }
  return out + "'";
}

void check_member_name(std::string_view name, bool directory, const std::string& archive) {
  std::string problem = name_problem(name, directory);
  if (!problem.empty())
    throw Error("The zip " + archive + ": member " + in_quotes(name) + " " + problem + ".", ErrorKind::Damaged);
}

// ---------------------------------------------------------------------------------------
// Validation (the archive side is zip_reader.cc)

namespace {

// A member's name as a path: without a directory's trailing '/'.
std::string_view key_of(const Entry& e) {
  return std::string_view(e.name).substr(0, e.name.size() - (e.is_directory ? 1 : 0));
}

uint64_t name_hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

// Every member's key hash and index, sorted: duplicates and files on another member's path are
// found by hash, then confirmed on the names read again, so memory holds 16 bytes a member.
struct Keys {
  std::vector<std::pair<uint64_t, uint64_t>> sorted;  // (hash of key, index)
  // Whether each member is a directory: a directory on a member's path is no file there, and
  // knowing it without reading its record again keeps the reads in archive order (reading the
  // record of every directory on every path re-read the directory window: 92k reads of 64 KiB
  // for a dump of 20k files).
  std::vector<bool> directory;
  // The indices of the members whose key hashes like `key`.
  template <typename Fn>
  void each_like(std::string_view key, Fn fn) const {
    auto it = std::lower_bound(sorted.begin(), sorted.end(), std::make_pair(name_hash(key), uint64_t{0}));
    for (; it != sorted.end() && it->first == name_hash(key); ++it) fn(it->second);
  }
};

}  // namespace

void Reader::validate(const Limits& limits) const {
  if (size() > limits.max_entries)
    throw Error("The zip " + path_.string() + " holds " + std::to_string(size()) + " members, more than the " +
                std::to_string(limits.max_entries) + " allowed.", ErrorKind::Damaged);
  Keys keys;
  keys.sorted.reserve(static_cast<size_t>(size()));
  keys.directory.reserve(static_cast<size_t>(size()));
  uint64_t total = 0;
  for (const Entry& e : entries()) {
    std::string problem = name_problem(e.name, e.is_directory);
    if (!problem.empty()) fail(e, problem);
    mode_t type = e.unix_mode & S_IFMT;
    if (S_ISLNK(type)) fail(e, "is a symbolic link");
    if (type != 0 && !S_ISREG(type) && !S_ISDIR(type)) fail(e, "is a device, FIFO or socket");
    if (S_ISDIR(type) != e.is_directory && type != 0) fail(e, "has a directory mode that does not match its name");
    if (e.flags & 1) fail(e, "is encrypted");
    if (e.method != 0 && e.method != 8)
      fail(e, "uses an unsupported compression method (" + std::to_string(e.method) + ")");
    if (e.is_directory && e.size != 0) fail(e, "is a directory with content");
    if (e.size > limits.max_member_size)
      fail(e, "declares " + std::to_string(e.size) + " bytes, more than the " + std::to_string(limits.max_member_size) +
                  " allowed per member");
    total += e.size;
    if (total > limits.max_total_size || total < e.size)
      fail(e, "brings the declared total over the " + std::to_string(limits.max_total_size) + " bytes allowed");
    keys.sorted.emplace_back(name_hash(key_of(e)), e.index);
    keys.directory.push_back(e.is_directory);
  }
  std::sort(keys.sorted.begin(), keys.sorted.end());
  // The first member (in archive order) whose key an earlier member has: within each run of
  // equal hashes (indices ascending), the first that matches one before it.
  std::optional<uint64_t> twice;
  const auto& sorted = keys.sorted;
  for (size_t start = 0, end = 0; start < sorted.size(); start = end) {
    for (end = start + 1; end < sorted.size() && sorted[end].first == sorted[start].first;) ++end;
    for (size_t i = start + 1; i < end; ++i) {
      Entry later = entry(sorted[i].second);
      bool seen = false;
      for (size_t j = start; j < i && !seen; ++j) seen = key_of(entry(sorted[j].second)) == key_of(later);
      if (!seen) continue;
      if (!twice || later.index < *twice) twice = later.index;
      break;
    }
  }
  if (twice) fail(entry(*twice), "appears twice");
  // A file may not also be a directory on the path of another member.
  for (const Entry& e : entries())
    for (size_t slash = e.name.find('/'); slash != std::string::npos; slash = e.name.find('/', slash + 1)) {
      std::string_view dir = std::string_view(e.name).substr(0, slash);
      keys.each_like(dir, [&](uint64_t i) {
        if (keys.directory[i]) return;
        Entry other = entry(i);
        if (!other.is_directory && other.name == dir)
          fail(e, "lies under " + in_quotes(dir) + ", which is a file in the same zip");
      });
    }
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

}  // namespace mdb::zip
