#include "formats/zip_sums.h"

#include <deque>
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

struct Item {
  Entry entry;
  bool read = false;
};

}  // namespace

void judge_members(const Reader& zip, const std::function<bool(const Entry&)>& wanted,
                   const std::function<bool(const Entry&)>& read,
                   const std::function<void(const Entry&, const MemberSum* sum)>& judge) {
  const unsigned threads = worker_threads();
  OrderedPool<std::vector<std::optional<MemberSum>>> pool(threads);
  std::deque<std::vector<Entry>> handed;  // the batches in the pool, oldest first
  std::vector<Item> batch;
  uint64_t batch_bytes = 0;
  auto judge_oldest = [&] {
    std::vector<std::optional<MemberSum>> sums = pool.next();
    std::vector<Entry> entries = std::move(handed.front());
    handed.pop_front();
    for (size_t i = 0; i < entries.size(); ++i) judge(entries[i], sums[i] ? &*sums[i] : nullptr);
  };
  auto hand_over = [&] {
    if (batch.empty()) return;
    std::vector<Entry>& entries = handed.emplace_back();
    for (const Item& item : batch) entries.push_back(item.entry);
    pool.submit([&zip, b = std::move(batch)] {
      std::vector<std::optional<MemberSum>> sums;
      sums.reserve(b.size());
      for (const Item& item : b) sums.push_back(item.read ? std::optional(sum_member(zip, item.entry)) : std::nullopt);
      return sums;
    });
    batch.clear();
    batch_bytes = 0;
    while (handed.size() > 2 * size_t{threads}) judge_oldest();
  };
  for (const Entry& e : zip.entries()) {
    if (!wanted(e)) continue;
    bool to_read = read(e);
    batch.push_back(Item{e, to_read});
    if (to_read) batch_bytes += e.size;
    if (batch.size() >= kBatchMembers || batch_bytes >= kBatchBytes) hand_over();
  }
  hand_over();
  while (!handed.empty()) judge_oldest();
}

}  // namespace mdb::zip
