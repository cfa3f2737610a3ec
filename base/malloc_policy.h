#pragma once
// The one place that tunes glibc's malloc. The peak RSS of every command stays under 64 MiB at any
// size (issue 16, docs/BENCHMARKS_HISTORY.md "Memory at S, 80k and M") only if memory one phase
// frees goes back to the system instead of staying resident in a heap the next phase cannot reuse.

namespace mdb {

// Called first in main. Blocks of 2 MiB and more are mapped on their own and unmapped when freed.
// glibc's threshold starts at 128 KiB but rises to the size of the largest mapped block freed (up
// to 32 MiB); from then on such blocks come from the heap, which only shrinks from its top. An
// import's checks (a 4 MiB Cap'n Proto batch, vectors of deferred references, SQLite's caches)
// left ~10 MB resident that its pre-import snapshot, a full backup, could not reuse. 2 MiB, not
// less: media-sized buffers (export's deflate, compressed chunks) stay in the heap, since mapping
// each anew costs page faults (1 MiB cost export and a seeded import 5-10% CPU at S; 2 MiB 2-4%).
void return_large_blocks_to_the_system();

// Gives the pages of free heap blocks back to the system (malloc_trim), at a boundary where a
// phase that freed much is followed by one that allocates much: before the snapshot of an atomic
// change (datadir/journal.h).
void release_free_memory();

// Makes every thread allocate from one malloc arena (glibc's M_ARENA_MAX), for the pools whose
// threads make large buffers that another thread frees: an arena of its own keeps what was freed
// in it, so each thread's arena held its own few MiB of windows or decoded blobs (an S3 restore of
// S peaked at 67-75 MB instead of 49, a local one at 46 MB instead of 23). Call before starting them.
// Not for a backup's compressor: its window is small enough that a first backup at M peaks alike
// either way (56-58 MB), and every thread taking the one arena's lock cost a one-day incremental
// backup at S a tenth of its CPU time (the walk's listers allocate per directory,
// docs/BENCHMARKS_HISTORY.md).
// An import whose extraction runs beside its snapshot still shares one (import/import_files.cc).
void share_one_malloc_arena();

}  // namespace mdb
