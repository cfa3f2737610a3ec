#include "formats/zip_sums.h"

#include <deque>
#include <utility>

#include "base/error.h"
#include "formats/zip_batches.h"

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

}  // namespace

void judge_members(const Reader& zip, const std::function<bool(const Entry&)>& wanted,
                   const std::function<bool(const Entry&)>& read,
                   const std::function<void(const Entry&, const MemberSum* sum)>& judge) {
  // Members wait here, in zip order, for their turn; those read have their sums in `sums`.
  const size_t ahead = 2 * size_t{worker_threads()} * kBatchMembers;
  MemberBatches<MemberSum> sums(zip, sum_member, kBatchMembers, kBatchBytes);
  std::deque<std::pair<Entry, bool>> waiting;
  auto judge_first = [&] {
    auto [e, was_read] = std::move(waiting.front());
    waiting.pop_front();
    if (!was_read) return judge(e, nullptr);
    MemberSum sum = sums.next();
    judge(e, &sum);
  };
  for (const Entry& e : zip.entries()) {
    if (!wanted(e)) continue;
    bool to_read = read(e);
    if (to_read) sums.add(e);
    waiting.emplace_back(e, to_read);
    while (waiting.size() > ahead) judge_first();
  }
  sums.flush();
  while (!waiting.empty()) judge_first();
}

}  // namespace mdb::zip
