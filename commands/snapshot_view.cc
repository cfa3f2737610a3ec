#include "commands/snapshot_view.h"

#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/suggest.h"
#include "platform/lock.h"

namespace mdb {

using store::Entry;
using store::EntryKind;

namespace {

// The snapshot names, from the index alone (no record is read).
std::vector<std::string> snapshot_names(store::Store& store) {
  std::vector<std::string> names;
  store.index().for_each_snapshot(store.state(),
                                  [&](const std::string& name, const store::BlobId&) { names.push_back(name); });
  return names;
}

}  // namespace

std::string did_you_mean(store::Store& store, const std::string& spec) {
  return did_you_mean_sentence(closest_names(spec, snapshot_names(store)));
}

std::string live_data_dir(Context& ctx) {
  try {
    return ctx.locations().data_dir.string();
  } catch (const Error&) {
    return "";
  }
}

std::optional<store::SnapshotInfo> latest_backup(store::Store& store, const std::vector<std::string>& tags,
                                                 const std::string& data_dir) {
  std::optional<store::SnapshotInfo> mine, any;
  for (store::SnapshotInfo& s : store.snapshots()) {  // oldest first
    bool tagged = tags.empty() || std::any_of(tags.begin(), tags.end(), [&](const auto& t) { return s.record.has_tag(t); });
    if (store::is_automatic(s.record.kind) || !tagged) continue;
    if (s.record.data_dir == data_dir) mine = s;
    any = std::move(s);
  }
  return mine ? mine : any;
}

std::optional<store::SnapshotInfo> find_named(store::Store& store, const std::string& spec, const std::string& data_dir) {
  if (auto snap = store.find_snapshot(spec)) return snap;
  if (spec == "latest") return latest_backup(store, {}, data_dir);
  return std::nullopt;
}

store::SnapshotInfo require_snapshot(store::Store& store, const std::string& spec, const std::string& data_dir) {
  if (auto snap = find_named(store, spec, data_dir)) return *snap;
  if (spec == "latest")
    throw Error("There is no backup in the store " + store.dir().string() + ", so `latest` names none.",
                ErrorKind::NotFound);
  throw Error("There is no snapshot named " + spec + " (nor with an id starting so) in the store " +
                  store.dir().string() + "." + did_you_mean(store, spec) +
                  " `mephisto db snapshots` lists the snapshots.",
              ErrorKind::NotFound);
}

std::string display_path(const Entry& e) { return e.kind == EntryKind::Directory ? e.path + "/" : e.path; }

const char* type_name(EntryKind kind) {
  switch (kind) {
    case EntryKind::File: return "file";
    case EntryKind::Directory: return "dir";
    case EntryKind::Symlink: return "symlink";
    case EntryKind::HardLink: return "hardlink";
    case EntryKind::Fifo: return "fifo";
    case EntryKind::CharDevice: return "chardev";
    case EntryKind::BlockDevice: return "blockdev";
  }
  return "file";
}

namespace {

char type_letter(EntryKind kind) {
  switch (kind) {
    case EntryKind::Directory: return 'd';
    case EntryKind::Symlink: return 'l';
    case EntryKind::Fifo: return 'p';
    case EntryKind::CharDevice: return 'c';
    case EntryKind::BlockDevice: return 'b';
    default: return '-';  // a file; a hard link is a file too, as ls shows it
  }
}

// Nanoseconds since the epoch, or nullopt when they do not fit in 64 bits (mtimes of any year).
std::optional<int64_t> mtime_ns(const Entry& e) {
  int64_t ns = 0;
  if (__builtin_mul_overflow(static_cast<int64_t>(e.mtime.tv_sec), int64_t{1'000'000'000}, &ns) ||
      __builtin_add_overflow(ns, static_cast<int64_t>(e.mtime.tv_nsec), &ns))
    return std::nullopt;
  return ns;
}

std::string size_text(const Entry& e) {
  if (e.kind == EntryKind::CharDevice || e.kind == EntryKind::BlockDevice)
    return std::to_string(e.device_major) + "," + std::to_string(e.device_minor);
  return std::to_string(e.size);
}

std::string pad_left(std::string s, size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

}  // namespace

std::string mode_text(const Entry& e) {
  static const char kLetters[] = "rwxrwxrwx";
  std::string s(1, type_letter(e.kind));
  for (int i = 0; i < 9; ++i) s += (e.mode & (0400u >> i)) ? kLetters[i] : '-';
  if (e.mode & S_ISUID) s[3] = (e.mode & S_IXUSR) ? 's' : 'S';
  if (e.mode & S_ISGID) s[6] = (e.mode & S_IXGRP) ? 's' : 'S';
  if (e.mode & S_ISVTX) s[9] = (e.mode & S_IXOTH) ? 't' : 'T';
  return s;
}

std::string long_line(const Entry& e) {
  std::string owner = e.owner ? std::to_string(e.owner->uid) + ":" + std::to_string(e.owner->gid) : "?:?";
  std::string line = mode_text(e) + "  " + pad_left(owner, 11) + "  " + pad_left(size_text(e), 12) + "  " +
                     store::local_time_text(e.mtime.tv_sec) + "  " + display_path(e);
  if (e.kind == EntryKind::Symlink) line += " -> " + e.target;
  if (e.kind == EntryKind::HardLink) line += " => " + e.target;
  return line;
}

nlohmann::ordered_json entry_json(const Entry& e) {
  nlohmann::ordered_json j = {{"path", e.path},
                              {"type", type_name(e.kind)},
                              {"mode", e.mode},
                              {"size", e.size},
                              {"mtime", store::local_time_text(e.mtime.tv_sec)}};
  if (auto ns = mtime_ns(e))
    j["mtime_ns"] = *ns;
  else
    j["mtime_ns"] = nullptr;
  j["uid"] = e.owner ? nlohmann::ordered_json(e.owner->uid) : nlohmann::ordered_json(nullptr);
  j["gid"] = e.owner ? nlohmann::ordered_json(e.owner->gid) : nlohmann::ordered_json(nullptr);
  if (e.kind == EntryKind::Symlink || e.kind == EntryKind::HardLink) j["target"] = e.target;
  if (e.kind == EntryKind::CharDevice || e.kind == EntryKind::BlockDevice) {
    j["device_major"] = e.device_major;
    j["device_minor"] = e.device_minor;
  }
  return j;
}

}  // namespace mdb
