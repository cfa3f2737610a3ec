#pragma once
// The store in a local directory: `config`, `packs/<name>`, `pins/<name>` (and `indexes/`,
// `locks/` when a caller makes those). Objects are written
// under a temporary name (`tmp-<pid>-<n>`), fsynced, renamed to their name, and the directory
// fsynced (by sync() for packs, so that many packs share one).
#include <filesystem>
#include <list>
#include <map>

#include "platform/env.h"
#include "store/backend.h"

namespace mdb::store {

class LocalBackend : public Backend {
 public:
  explicit LocalBackend(std::filesystem::path dir) : dir_(std::move(dir)) {}
  void create_layout() override;

  std::string where(ObjectKind kind, const std::string& name) const override;
  std::string where(ObjectKind kind) const override;
  std::unique_ptr<ObjectWriter> create(ObjectKind kind) override;
  void save(ObjectKind kind, const std::string& name, std::string_view bytes) override;
  bool create_new(ObjectKind kind, const std::string& name, std::string_view bytes) override;
  void sync(ObjectKind kind) override;
  std::string read(ObjectKind kind, const std::string& name, uint64_t offset, size_t length) override;
  std::string read_all(ObjectKind kind, const std::string& name) override;
  std::optional<uint64_t> size(ObjectKind kind, const std::string& name) override;
  std::vector<ObjectInfo> list(ObjectKind kind) override;
  void forget(ObjectKind kind, const std::string& name) override;
  void remove(ObjectKind kind, const std::string& name) override;
  void remove_abandoned() override;
  // The lock file `lock` of the store (platform/lock.h): one command at a time, shared or not.
  std::unique_ptr<StoreLock> lock(bool exclusive, const std::string& command) override;

 private:
  std::filesystem::path dir_of(ObjectKind kind) const;
  std::filesystem::path path_of(ObjectKind kind, const std::string& name) const;
  fs::File& open(ObjectKind kind, const std::string& name);

  std::filesystem::path dir_;
  std::map<std::string, fs::File> open_;  // read handles, by path; at most kMaxOpen
  std::list<std::string> open_order_;
};

// Whether `name` is a temporary of an unfinished object.
bool is_temporary_object_name(std::string_view name);

}  // namespace mdb::store
