#include "formats/zip_sums.h"

#include <optional>
#include <vector>

#include "base/error.h"
#include "base/ordered_pool.h"

namespace mdb::zip {

namespace {

// Batches cut by count or by declared bytes: one hand-over per small member would cost more than
// reading it, and a large member should not hold a batch of small ones back.
constexpr size_t kBatchMembers = 32;
constexpr uint64_t kBatchBytes = 4u << 20;

MemberSum sum_member(const Reader& zip, const Entry& e) {
  MemberSum sum;
  store::Xxh128Stream hash;
  try {
    zip.stream(e, [&](std::string_view chunk) {
      hash.update(chunk);
      sum.size += chunk.size();
    });
  } catch (const Error& err) {
    sum.error = err.what();
    return sum;
  }
  sum.hash = hash.digest();
  return sum;
}

// A member, and what a worker found reading it (nothing when it was the caller's to read).
struct Judged {
  Entry entry;
  bool read = false;
  std::optional<MemberSum> sum;
};

}  // namespace

void judge_members(const Reader& zip, const std::function<bool(const Entry&)>& wanted,
                   const std::function<bool(const Entry&)>& read,
                   const std::function<void(const Entry&, const MemberSum* sum)>& judge) {
  const unsigned threads = worker_threads();
  OrderedPool<std::vector<Judged>> pool(threads);
  std::vector<Judged> batch;
  uint64_t batch_bytes = 0;
  auto judge_oldest = [&] {
    for (const Judged& j : pool.next()) judge(j.entry, j.sum ? &*j.sum : nullptr);
  };
  auto hand_over = [&] {
    if (batch.empty()) return;
    pool.submit([&zip, b = std::move(batch)]() mutable {
      for (Judged& j : b)
        if (j.read) j.sum = sum_member(zip, j.entry);
      return std::move(b);
    });
    batch.clear();
    batch_bytes = 0;
    while (pool.pending() > 2 * size_t{threads}) judge_oldest();
  };
  for (const Entry& e : zip.entries()) {
    if (!wanted(e)) continue;
    bool to_read = read(e);
    batch.push_back(Judged{e, to_read, std::nullopt});
    if (to_read) batch_bytes += e.size;
    if (batch.size() >= kBatchMembers || batch_bytes >= kBatchBytes) hand_over();
  }
  hand_over();
  while (pool.pending() > 0) judge_oldest();
}

}  // namespace mdb::zip
