#pragma once
// Checks of an LMDB data file (data.mdb) that LMDB itself does not make: it trusts the bytes
// it maps, so a damaged file can make it read outside a page or the file (SIGSEGV, SIGBUS) or
// divide by a page size of 0. Both checks read the file with pread, never through a mapping,
// and throw Damaged saying what is wrong (the caller names the file).
#include <cstdint>
#include <filesystem>

#include "base/error.h"

namespace mdb::store::lmdb_check {

// What the checks throw: one sentence on what is wrong.
class Damaged : public Error {
 public:
  explicit Damaged(const std::string& message) : Error(message, ErrorKind::Damaged) {}
};

// Before mdb_env_open: both meta pages have LMDB's page flag, magic and version, a page size
// LMDB supports (the same in both), and their last page and tree roots are within bounds.
void meta_pages(const std::filesystem::path& file);

// Inside a read transaction (whose pages no writer reuses meanwhile): every page of every tree
// of the meta committed by transaction `txnid` is inside the file, reached once, of the kind
// its parent says, and every node of it lies inside the page (overflow data inside the file);
// the free-page lists are well formed and name no page in use. Returns false when no meta page
// holds `txnid` any more (a writer committed twice since the transaction began: begin again).
bool trees(const std::filesystem::path& file, uint64_t txnid);

}  // namespace mdb::store::lmdb_check
