#include "store/lmdb_check.h"

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "formats/bytes.h"
#include "platform/env.h"

namespace mdb::store::lmdb_check {

namespace {

// LMDB 0.9's on-disk layout (mdb.c, 64-bit): a page header of 16 bytes (page number, pad,
// flags, lower and upper bounds of the free space, or the page count of an overflow run),
// then the meta record or an array of 16-bit node offsets; a node is 8 bytes (data size or
// child page number, flags, key size) followed by the key and the data.
constexpr size_t kHeader = 16;
constexpr uint32_t kMagic = 0xBEEFC0DE;
constexpr uint32_t kDataVersion = 1;
constexpr uint64_t kNoPage = ~uint64_t{0};
constexpr uint16_t kBranch = 0x01, kLeaf = 0x02, kOverflow = 0x04, kMeta = 0x08;
constexpr uint16_t kPageKinds = 0x6f;  // the kind bits; P_DIRTY and the high ones are in-memory state
constexpr uint16_t kBigData = 0x01, kSubData = 0x02;
constexpr uint16_t kIntegerKey = 0x08;
constexpr uint16_t kEnvFlags = 0x01 | 0x4000;  // MDB_FIXEDMAP, MDB_NOSUBDIR (kept in the meta)
constexpr size_t kNode = 8;
constexpr size_t kMaxKey = 511;
constexpr unsigned kMaxDepth = 32;  // LMDB's cursor stack
constexpr size_t kDbSize = 48;      // MDB_db
constexpr size_t kMetaSize = 152;   // MDB_meta
constexpr uint64_t kMaxPages = uint64_t{1} << 40;

struct Db {
  uint16_t flags = 0, depth = 0;
  uint64_t root = kNoPage;
};

Db db_at(std::string_view b, size_t pos) { return Db{get_u16(b, pos + 4), get_u16(b, pos + 6), get_u64(b, pos + 40)}; }

struct Meta {
  uint32_t psize = 0;
  Db free, main;
  uint64_t last_pg = 0, txnid = 0;
};

[[noreturn]] void bad(const std::string& what) { throw Damaged(what); }

// The meta page `n` (0 or 1) at `offset`, checked on its own.
Meta read_meta(fs::File& f, uint64_t offset, int n) {
  std::string b(kHeader + kMetaSize, '\0');
  std::string where = "meta page " + std::to_string(n);
  if (f.pread(b.data(), b.size(), offset) != b.size()) bad(where + " is cut off");
  if (get_u64(b, 0) != static_cast<uint64_t>(n) || !(get_u16(b, 10) & kMeta)) bad(where + " is not a meta page");
  if (get_u32(b, 16) != kMagic) bad(where + " has no LMDB magic");
  if (get_u32(b, 20) != kDataVersion) bad(where + " has LMDB format version " + std::to_string(get_u32(b, 20)));
  Meta m;
  m.txnid = get_u64(b, 144);
  // LMDB writes the meta of transaction N into page N % 2 and its readers take the page by
  // that parity: a page of the other parity would give them a different tree than ours.
  if (m.txnid != 0 && m.txnid % 2 != static_cast<uint64_t>(n)) bad(where + " holds a transaction of the other page");
  m.psize = get_u32(b, 40);
  m.free = db_at(b, 40);
  m.main = db_at(b, 88);
  m.last_pg = get_u64(b, 136);
  if (m.psize < 512 || m.psize > 32768 || (m.psize & (m.psize - 1)) != 0)
    bad(where + " has a page size of " + std::to_string(m.psize));
  if ((m.free.flags & ~(kIntegerKey | kEnvFlags)) != 0 || !(m.free.flags & kIntegerKey) || m.main.flags != 0)
    bad(where + " has unknown flags");
  if (m.last_pg < 1 || m.last_pg >= kMaxPages) bad(where + " has a last page of " + std::to_string(m.last_pg));
  for (const Db& db : {m.free, m.main}) {
    if (db.root == kNoPage) continue;
    if (db.root < 2 || db.root > m.last_pg || db.depth < 1 || db.depth > kMaxDepth)
      bad(where + " has a tree root out of bounds");
  }
  return m;
}

class Walker {
 public:
  Walker(fs::File& f, const Meta& m) : f_(f), psize_(m.psize), last_pg_(m.last_pg) {
    file_pages_ = f.size() / psize_;
    used_.assign(file_pages_, false);
  }

  // The main tree: the tables' records (each the root of a tree).
  void main_tree(const Db& db) { walk(db.root, 1, db.depth, true, "main"); }

  // The free-page lists: each a count followed by that many page numbers.
  void free_tree(const Db& db) {
    free_tree_ = true;
    walk(db.root, 1, db.depth, false, "of free pages");
    free_tree_ = false;
  }

  // Free pages are not in use, and the pages past the end of the file (allocated but never
  // written by LMDB) are all free.
  void check_free() const {
    uint64_t past_end = 0;
    for (uint64_t p : free_) {
      if (p < 2 || p > last_pg_) bad("a free-page list names page " + std::to_string(p));
      if (p < file_pages_ && used_[p]) bad("page " + std::to_string(p) + " is both free and in use");
      if (p >= file_pages_) ++past_end;
    }
    if (last_pg_ + 1 > file_pages_ && last_pg_ + 1 - file_pages_ > past_end)
      bad("the file ends before its last page " + std::to_string(last_pg_));
  }

 private:
  std::string page(uint64_t pgno, uint64_t count = 1) {
    if (pgno < 2 || pgno >= file_pages_ || count > file_pages_ - pgno)
      bad("page " + std::to_string(pgno) + " is outside the file");
    for (uint64_t p = pgno; p < pgno + count; ++p) {
      if (used_[p]) bad("page " + std::to_string(p) + " is reached twice");
      used_[p] = true;
    }
    std::string b(psize_ * count, '\0');
    if (f_.pread(b.data(), b.size(), pgno * psize_) != b.size()) bad("page " + std::to_string(pgno) + " is cut off");
    if (get_u64(b, 0) != pgno) bad("page " + std::to_string(pgno) + " says it is page " + std::to_string(get_u64(b, 0)));
    return b;
  }

  void walk(uint64_t pgno, unsigned depth, unsigned tree_depth, bool main, const std::string& name) {
    if (pgno == kNoPage) return;
    std::string where = "page " + std::to_string(pgno) + " (tree " + name + ")";
    if (depth > tree_depth || tree_depth > kMaxDepth) bad(where + " is deeper than its tree");
    std::string b = page(pgno);
    uint16_t kind = get_u16(b, 10) & kPageKinds;
    bool leaf = depth == tree_depth;
    if (kind != (leaf ? kLeaf : kBranch)) bad(where + " is not the " + (leaf ? "leaf" : "branch") + " page expected");
    size_t lower = get_u16(b, 12), upper = get_u16(b, 14);
    if (lower < kHeader || lower % 2 != 0 || lower > upper || upper > psize_) bad(where + " has bad bounds");
    size_t keys = (lower - kHeader) / 2;
    if (!leaf && keys == 0) bad(where + " is an empty branch");
    for (size_t i = 0; i < keys; ++i) {
      size_t at = get_u16(b, kHeader + 2 * i);
      if (at < upper || at + kNode > psize_) bad(where + " has a node outside the page");
      uint32_t lo = get_u16(b, at), hi = get_u16(b, at + 2);
      uint16_t flags = get_u16(b, at + 4);
      size_t ksize = get_u16(b, at + 6);
      if (ksize > kMaxKey || at + kNode + ksize > psize_) bad(where + " has a key outside the page");
      if (!leaf) {
        walk(lo | (uint64_t{hi} << 16) | (uint64_t{flags} << 32), depth + 1, tree_depth, main, name);
        continue;
      }
      uint64_t dsize = lo | (uint64_t{hi} << 16);
      std::string_view key(b.data() + at + kNode, ksize);
      size_t data_at = at + kNode + ksize;
      if (flags == 0 || flags == kSubData) {
        if (data_at + dsize > psize_) bad(where + " has data outside the page");
        std::string_view data(b.data() + data_at, dsize);
        if (flags == kSubData) sub_tree(key, data, main, where);
        else record(key, data, where);
      } else if (flags == kBigData) {
        if (data_at + 8 > psize_) bad(where + " has data outside the page");
        std::string run = overflow(get_u64(b, data_at), dsize, where);
        record(key, std::string_view(run).substr(kHeader, dsize), where);
      } else {
        bad(where + " has a node of unknown kind");
      }
    }
  }

  // A record of the data that follows a big value's node: a run of pages.
  std::string overflow(uint64_t pgno, uint64_t dsize, const std::string& where) {
    if (pgno < 2 || pgno >= file_pages_) bad(where + " points outside the file");
    std::string first(kHeader, '\0');
    if (f_.pread(first.data(), first.size(), pgno * psize_) != first.size()) bad(where + " points past the end");
    uint64_t count = get_u32(first, 12);
    if ((get_u16(first, 10) & kPageKinds) != kOverflow || count == 0 || dsize > count * psize_ - kHeader)
      bad("overflow page " + std::to_string(pgno) + " does not hold the data of " + where);
    return page(pgno, count);
  }

  void sub_tree(std::string_view key, std::string_view data, bool main, const std::string& where) {
    if (!main || data.size() != kDbSize) bad(where + " has a misplaced table record");
    Db db = db_at(data, 0);
    if (db.flags != 0) bad(where + ": the table " + std::string(key) + " has flags LMDB's index does not use");
    if (db.root != kNoPage && (db.depth < 1 || db.depth > kMaxDepth))
      bad(where + ": the table " + std::string(key) + " has a depth of " + std::to_string(db.depth));
    walk(db.root, 1, db.depth, false, std::string(key));
  }

  void record(std::string_view key, std::string_view data, const std::string& where) {
    if (!free_tree_) return;  // the index's own records are checked where they are decoded
    if (key.size() != 8 || data.size() < 8 || data.size() % 8 != 0 || get_u64(data, 0) != data.size() / 8 - 1)
      bad(where + " has a malformed free-page list");
    for (size_t pos = 8; pos < data.size(); pos += 8) free_.push_back(get_u64(data, pos));
  }

  fs::File& f_;
  uint64_t psize_, last_pg_, file_pages_ = 0;
  std::vector<bool> used_;
  std::vector<uint64_t> free_;
  bool free_tree_ = false;
};

Meta both_metas(fs::File& f) {
  Meta m0 = read_meta(f, 0, 0);
  Meta m1 = read_meta(f, m0.psize, 1);
  if (m1.psize != m0.psize) bad("the meta pages disagree on the page size");
  if (f.size() < 2 * uint64_t{m0.psize}) bad("the file is shorter than its two meta pages");
  return m0.txnid >= m1.txnid ? m0 : m1;
}

}  // namespace

void meta_pages(const std::filesystem::path& file) {
  fs::File f = fs::File::open_read(file);
  both_metas(f);
}

bool trees(const std::filesystem::path& file, uint64_t txnid) {
  fs::File f = fs::File::open_read(file);
  Meta m0 = read_meta(f, 0, 0), m1 = read_meta(f, m0.psize, 1);
  const Meta* m = m0.txnid == txnid ? &m0 : m1.txnid == txnid ? &m1 : nullptr;
  if (!m) return false;
  Walker w(f, *m);
  w.main_tree(m->main);
  w.free_tree(m->free);
  w.check_free();
  return true;
}

}  // namespace mdb::store::lmdb_check
