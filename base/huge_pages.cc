#include "base/huge_pages.h"

#include <dlfcn.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <vector>

#if __has_include(<jemalloc/jemalloc.h>)
#include <jemalloc/jemalloc.h>
#define BRFED_HAVE_JEMALLOC_H 1
#else
#define BRFED_HAVE_JEMALLOC_H 0
#endif

namespace brfed {
namespace {

using MallctlFn = int (*)(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen);

// jemalloc's control interface when the program runs on it, else null. Looked up, not linked:
// the libraries do not depend on the allocator the program picks.
MallctlFn Mallctl() {
  static const MallctlFn fn = reinterpret_cast<MallctlFn>(dlsym(RTLD_DEFAULT, "mallctl"));
  return fn;
}

std::atomic<size_t> g_advised{0};

#if BRFED_HAVE_JEMALLOC_H
// The arena's extent hooks: jemalloc's own, except that a fresh mapping is advised as huge
// pages, as jemalloc does for every mapping under opt.thp=always.
extent_hooks_t* g_default_hooks = nullptr;
extent_hooks_t g_hooks;

constexpr size_t kHugePage = size_t{2} << 20;

void* AllocAdvised(extent_hooks_t* /*hooks*/, void* new_addr, size_t size, size_t alignment,
                   bool* zero, bool* commit, unsigned arena_ind) {
  // A mapping that starts on a huge-page boundary: only whole, aligned 2 MiB ranges can be
  // huge pages, and jemalloc grows its mappings in sizes that are not all multiples of 2 MiB.
  if (new_addr == nullptr && size >= kHugePage && alignment < kHugePage) alignment = kHugePage;
  void* p =
      g_default_hooks->alloc(g_default_hooks, new_addr, size, alignment, zero, commit, arena_ind);
  if (p != nullptr && madvise(p, size, MADV_HUGEPAGE) == 0) {
    g_advised.fetch_add(size, std::memory_order_relaxed);
  }
  return p;
}

// An arena of advised mappings, or 0 when there can be none.
unsigned CreateArena() {
  MallctlFn mallctl = Mallctl();
  if (mallctl == nullptr) return 0;
  // An operator's switch for hosts where huge pages are unwelcome.
  if (const char* off = std::getenv("BRFED_NO_HUGE_PAGES"); off != nullptr && *off != '\0') {
    return 0;
  }
  static std::once_flag hooks_once;
  std::call_once(hooks_once, [mallctl] {
    extent_hooks_t* defaults = nullptr;
    size_t len = sizeof(defaults);
    if (mallctl("arena.0.extent_hooks", &defaults, &len, nullptr, 0) != 0) return;
    g_default_hooks = defaults;
    if (defaults == nullptr) return;
    g_hooks = *defaults;
    g_hooks.alloc = AllocAdvised;
  });
  if (g_default_hooks == nullptr) return 0;
  extent_hooks_t* hooks = &g_hooks;
  unsigned arena = 0;
  size_t len = sizeof(arena);
  if (mallctl("arenas.create", &arena, &len, &hooks, sizeof(hooks)) != 0) return 0;
  return arena;  // never 0: arena 0 is jemalloc's first own arena
}
#else
unsigned CreateArena() { return 0; }
#endif

// Scopes take the arenas in turn, so threads in scopes at once rarely share one (an arena's
// bins are locked when a thread's cache refills from them). Created as first needed.
unsigned NextArena() {
  constexpr size_t kArenas = 8;
  static std::mutex mu;
  static std::vector<unsigned> arenas;  // GUARDED_BY(mu)
  static size_t next = 0;               // GUARDED_BY(mu)
  std::lock_guard<std::mutex> l(mu);
  const size_t i = next % kArenas;
  if (i == arenas.size()) {
    unsigned arena = CreateArena();
    if (arena == 0) return 0;  // the switch, or no jemalloc
    arenas.push_back(arena);
  }
  ++next;
  return arenas[i];
}

}  // namespace

size_t HugePageScope::AdvisedBytes() { return g_advised.load(std::memory_order_relaxed); }

HugePageScope::HugePageScope(bool enable) {
  if (!enable) return;
  unsigned arena = NextArena();
  if (arena == 0) return;
  size_t len = sizeof(previous_);
  if (Mallctl()("thread.arena", &previous_, &len, &arena, sizeof(arena)) == 0) arena_ = arena;
}

HugePageScope::~HugePageScope() {
  if (arena_ != 0) Mallctl()("thread.arena", nullptr, nullptr, &previous_, sizeof(previous_));
}

}  // namespace brfed
