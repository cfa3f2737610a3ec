#pragma once
// Whether this test binary, and so the `mephisto` of the same build dir that it runs, is built
// with AddressSanitizer (build-asan/): every program runs several times slower there and its
// memory is not the product's.
#include <algorithm>

namespace mdb::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// `n` trials of a loop of many (crash points, seeds), or a third of them, at least 2, in the
// sanitized build: the loop still runs there, only shorter.
inline int trials(int n) { return kSanitized ? std::max(2, n / 3) : n; }

}  // namespace mdb::test
