// The VFS layers under every SQLite connection of this tool (installed by sql::install_vfs):
//   1. the temp VFS, always: SQLite's own temporary files (a temporary database that outgrows its
//      cache, like the import's staging database; temp tables; statement journals; large sorts) go
//      into the cache's tmp/ instead of $TMPDIR or /var/tmp, so nothing outside the data dir, the
//      store, the outputs dir and the cache is written, and a small /tmp cannot fail a large
//      import. Files named by SQLite pass straight through, with no wrapper on their I/O.
//   2. the hook VFS, on top, only when the current Env has hooks (a FaultEnv).
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>

#include "platform/env.h"
#include "platform/sqlite.h"

namespace mdb::sql {

// ---- the temp VFS ----
namespace {

sqlite3_vfs* g_unix = nullptr;
// Room for a temporary file's name, kept after SQLite's own file object (which a named file gets
// as it is): the unix VFS asks for names of at most 512 bytes.
constexpr size_t kTempNameRoom = 512 + 2;
std::atomic<uint64_t> g_temp_count{0};

// `<cache>/tmp`, made when missing (each time: a user may delete the cache while a command runs);
// empty when there is no cache to be had (neither XDG_CACHE_HOME nor HOME, or a read-only one):
// then SQLite picks its usual place, as it would without us. Made without the Env: scaffolding of
// the cache, not a write any crash test needs to stop at.
std::string temp_file_dir() {
  try {
    std::filesystem::path dir = fs::cache_scratch_dir();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    return ec ? std::string() : dir.string();
  } catch (const std::exception&) {
    return {};
  }
}

// A name SQLite's unix VFS takes as given: exclusive creation (O_EXCL) and unlinked right after
// its open, as its own temporary names are. Double-NUL terminated, as SQLite expects of a name it
// may read URI parameters after.
const char* temp_name(sqlite3_file* f) {
  std::string dir = temp_file_dir();
  if (dir.empty()) return nullptr;
  uint64_t random = 0;
  sqlite3_randomness(sizeof random, &random);
  std::string name = dir + "/sqlite-" + std::to_string(::getpid()) + "-" + std::to_string(++g_temp_count) + "-" +
                     std::to_string(random);
  if (name.size() + 2 > kTempNameRoom) return nullptr;
  char* room = reinterpret_cast<char*>(f) + g_unix->szOsFile;
  std::memcpy(room, name.c_str(), name.size());
  room[name.size()] = room[name.size() + 1] = '\0';
  return room;
}

int temp_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  if (!name && (flags & SQLITE_OPEN_DELETEONCLOSE)) name = temp_name(f);
  return g_unix->xOpen(g_unix, name, f, flags, out_flags);
}

void install_temp_vfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Before SQLite initializes (sqlite3_vfs_find does): with its memory statistics on, every
    // sqlite3_malloc and sqlite3_free took a global mutex, 4.5% of an import's checks at L. Nothing
    // here reads those statistics or sets a heap limit. SQLITE_MISUSE (already initialized, as in a
    // test that opened a database by hand first) only leaves them on.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    g_unix = sqlite3_vfs_find(nullptr);
    static sqlite3_vfs temp = *g_unix;
    temp.zName = "mdb-temp";
    temp.szOsFile = g_unix->szOsFile + static_cast<int>(kTempNameRoom);
    temp.xOpen = temp_open;
    sqlite3_vfs_register(&temp, 1);
  });
}

}  // namespace

// ---- the hook VFS: wraps the default VFS, calls the current Env's hooks before SQLite's writes ----
// SQLite's real file I/O stays its own (its unix VFS); what passes through the Env is the decision
// to fail, stop or trace at each of its writes, as for ours.
namespace {

sqlite3_vfs* g_base = nullptr;

struct ShimFile {
  sqlite3_file base;       // must be first: SQLite treats this struct as sqlite3_file
  sqlite3_file* real;      // the wrapped file, allocated right after this struct
  std::string path;
  int level;               // the SQLITE_LOCK_* this connection holds on the file
};

int fault_rc(const char* what, const std::string& path) {
  try {
    fs::env().fault_point(what, path);
  } catch (const fs::IoError& e) {
    return e.err() == ENOSPC ? SQLITE_FULL : SQLITE_IOERR;
  }
  return SQLITE_OK;
}

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f)->real; }

int x_close(sqlite3_file* f) {
  int rc = real(f)->pMethods ? real(f)->pMethods->xClose(real(f)) : SQLITE_OK;
  reinterpret_cast<ShimFile*>(f)->path.~basic_string();
  return rc;
}
int x_read(sqlite3_file* f, void* b, int n, sqlite3_int64 o) { return real(f)->pMethods->xRead(real(f), b, n, o); }
int x_write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  auto* sf = reinterpret_cast<ShimFile*>(f);
  if (int rc = fault_rc("write", sf->path); rc != SQLITE_OK) return rc;
  int want = static_cast<int>(fs::env().write_size(static_cast<size_t>(n)));
  int rc = real(f)->pMethods->xWrite(real(f), b, want, o);
  if (rc == SQLITE_OK && want < n) return SQLITE_IOERR_WRITE;
  return rc;
}
int x_truncate(sqlite3_file* f, sqlite3_int64 sz) {
  if (int rc = fault_rc("truncate", reinterpret_cast<ShimFile*>(f)->path); rc != SQLITE_OK) return rc;
  return real(f)->pMethods->xTruncate(real(f), sz);
}
int x_sync(sqlite3_file* f, int flags) {
  if (int rc = fault_rc("fsync", reinterpret_cast<ShimFile*>(f)->path); rc != SQLITE_OK) return rc;
  return real(f)->pMethods->xSync(real(f), flags);
}
int x_size(sqlite3_file* f, sqlite3_int64* s) { return real(f)->pMethods->xFileSize(real(f), s); }
// Traced: a connection taking a write lock ("lock") and giving it up ("unlock"); a reader's shared
// lock is neither, so another connection's reads do not look like the end of a write.
int x_lock(sqlite3_file* f, int l) {
  auto* sf = reinterpret_cast<ShimFile*>(f);
  int rc = real(f)->pMethods->xLock(real(f), l);
  if (rc != SQLITE_OK) return rc;
  if (l >= SQLITE_LOCK_RESERVED && sf->level < SQLITE_LOCK_RESERVED) fs::env().trace("lock", sf->path);
  sf->level = std::max(sf->level, l);
  return rc;
}
int x_unlock(sqlite3_file* f, int l) {
  auto* sf = reinterpret_cast<ShimFile*>(f);
  if (l <= SQLITE_LOCK_SHARED && sf->level >= SQLITE_LOCK_RESERVED) fs::env().trace("unlock", sf->path);
  sf->level = std::min(sf->level, l);
  return real(f)->pMethods->xUnlock(real(f), l);
}
int x_check(sqlite3_file* f, int* r) { return real(f)->pMethods->xCheckReservedLock(real(f), r); }
int x_fcntl(sqlite3_file* f, int op, void* a) { return real(f)->pMethods->xFileControl(real(f), op, a); }
int x_sector(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int x_devchar(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
int x_shmmap(sqlite3_file* f, int a, int b, int c, void volatile** d) {
  return real(f)->pMethods->xShmMap(real(f), a, b, c, d);
}
int x_shmlock(sqlite3_file* f, int a, int b, int c) { return real(f)->pMethods->xShmLock(real(f), a, b, c); }
void x_shmbarrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int x_shmunmap(sqlite3_file* f, int a) { return real(f)->pMethods->xShmUnmap(real(f), a); }
int x_fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** p) { return real(f)->pMethods->xFetch(real(f), o, n, p); }
int x_unfetch(sqlite3_file* f, sqlite3_int64 o, void* p) { return real(f)->pMethods->xUnfetch(real(f), o, p); }

const sqlite3_io_methods kShimMethods = {3,        x_close,  x_read,   x_write,      x_truncate, x_sync,
                                         x_size,   x_lock,   x_unlock, x_check,      x_fcntl,    x_sector,
                                         x_devchar, x_shmmap, x_shmlock, x_shmbarrier, x_shmunmap, x_fetch,
                                         x_unfetch};

int shim_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* sf = reinterpret_cast<ShimFile*>(f);
  sf->real = reinterpret_cast<sqlite3_file*>(sf + 1);
  new (&sf->path) std::string(name ? name : "");
  sf->level = SQLITE_LOCK_NONE;
  int rc = g_base->xOpen(g_base, name, sf->real, flags, out_flags);
  sf->base.pMethods = rc == SQLITE_OK ? &kShimMethods : nullptr;
  if (rc != SQLITE_OK) sf->path.~basic_string();
  return rc;
}

int shim_delete(sqlite3_vfs*, const char* name, int sync) {
  if (int rc = fault_rc("remove", name); rc != SQLITE_OK) return rc;
  return g_base->xDelete(g_base, name, sync);
}

}  // namespace

void install_vfs() {
  install_temp_vfs();
  // Without hooks (PosixEnv) no hook VFS: no cost. Once installed, the shim stays the default and
  // asks whichever Env is current at each write.
  if (!fs::env().hooks_active()) return;
  static std::once_flag once;
  std::call_once(once, [] {
    g_base = sqlite3_vfs_find(nullptr);
    static sqlite3_vfs shim = *g_base;
    shim.zName = "mdb-fault";
    shim.szOsFile = static_cast<int>(sizeof(ShimFile)) + g_base->szOsFile;
    shim.xOpen = shim_open;
    shim.xDelete = shim_delete;
    shim.pAppData = nullptr;
    sqlite3_vfs_register(&shim, 1);
  });
}

}  // namespace mdb::sql
