// HugePageScope: for as long as it lives, the calling thread allocates from an arena whose
// fresh memory is advised as transparent huge pages (madvise MADV_HUGEPAGE).
//
//   {
//     HugePageScope scope;           // this thread only
//     BuildLotsOfLongLivedState();   // a page fault per 2 MiB instead of per 4 KiB
//   }                                // the thread's own arena again
//
// Meant for a burst that builds much state at once (the engine's recovery folds every
// unfinished run: ~170 MB for 100,000 runs, where a fault per 4 KiB page was a quarter of the
// CPU). Scopes take a few such arenas in turn, so threads in scopes at once seldom share one.
// Only threads inside a scope take memory from them, so the rest of the process keeps small
// pages and never meets a huge-page fault (with the kernel's usual defrag=madvise, such a
// fault may compact memory first). What a scope allocated may be freed anywhere, at any time;
// it returns to the arena it came from.
//
// Huge pages pay only when the kernel hands them out fast. A VM's host may take back the
// memory the guest frees (virtio-balloon free page reporting, which reports free 2 MiB blocks:
// the ones huge pages come from, which the guest then hands out last). A huge page from such a
// block costs the host a fault per 4 KiB: seen at 0.3-0.6 GB/s, where small pages came at
// 2.9 GB/s and recycled huge pages at 21 GB/s. So each fresh mapping an arena gets has its
// first huge page touched and timed at once, and when one took longer than 2 MiB of small
// pages would (1 ms; BRFED_HUGE_PAGE_MAX_FAULT_MS), the process declines huge pages: the
// advice is taken back from every mapping, so what is not touched yet comes in small pages,
// and no later mapping is advised. BRFED_HUGE_PAGES=always skips the check (=check, the
// default, keeps it); BRFED_NO_HUGE_PAGES=1 turns the scopes off.
//
// Works when the program runs on jemalloc (found at run time, as `mallctl`); under any other
// allocator (the sanitizer builds') the scope does nothing and active() says so.
#pragma once

#include <cstddef>

namespace brfed {

class HugePageScope {
 public:
  // enable = false: a scope that does nothing (callers keep one code path).
  explicit HugePageScope(bool enable = true);
  ~HugePageScope();
  HugePageScope(const HugePageScope&) = delete;
  HugePageScope& operator=(const HugePageScope&) = delete;

  // Whether this thread now allocates from a huge-page arena.
  bool active() const { return arena_ != 0; }
  // The jemalloc arena this thread now allocates from; 0 when inactive.
  unsigned arena() const { return arena_; }

  // Bytes of fresh mappings the huge-page arenas advised so far, less what a decline took back.
  static size_t AdvisedBytes();
  // The slowest first touch of a huge page the check timed, in seconds; 0 when none was.
  static double SlowestFaultSeconds();
  // Whether the check declined huge pages for the rest of the process.
  static bool HugePagesDeclined();

 private:
  unsigned arena_ = 0;
  unsigned previous_ = 0;  // the thread's arena before the scope
};

}  // namespace brfed
