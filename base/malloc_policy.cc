#include "base/malloc_policy.h"

#include <malloc.h>

namespace mdb {

void return_large_blocks_to_the_system() { ::mallopt(M_MMAP_THRESHOLD, 2 << 20); }

void release_free_memory() { ::malloc_trim(0); }

void share_one_malloc_arena() { ::mallopt(M_ARENA_MAX, 1); }

}  // namespace mdb
