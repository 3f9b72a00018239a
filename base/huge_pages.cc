#include "base/huge_pages.h"

#include <dlfcn.h>
#include <sys/mman.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string_view>
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
std::atomic<double> g_slowest_fault{0};
std::atomic<bool> g_declined{false};

#if BRFED_HAVE_JEMALLOC_H
constexpr size_t kHugePage = size_t{2} << 20;

// How the arenas' fresh mappings are checked (see the header), from the environment, once.
struct Check {
  bool on = true;
  double max_seconds = 1e-3;      // 2 MiB of small pages at 2.9 GB/s: ~0.7 ms
  const char* bad_mode = nullptr;  // BRFED_HUGE_PAGES when it is neither "always" nor "check"
  const char* bad_max = nullptr;   // BRFED_HUGE_PAGE_MAX_FAULT_MS when it is not a number
};
const Check& TheCheck() {
  static const Check check = [] {
    Check c;
    if (const char* mode = std::getenv("BRFED_HUGE_PAGES"); mode != nullptr) {
      if (std::string_view(mode) == "always") {
        c.on = false;
      } else if (std::string_view(mode) != "check") {
        c.bad_mode = mode;
      }
    }
    if (const char* ms = std::getenv("BRFED_HUGE_PAGE_MAX_FAULT_MS"); ms != nullptr) {
      char* end = nullptr;
      const double v = std::strtod(ms, &end);
      if (end != ms && *end == '\0' && v >= 0) {
        c.max_seconds = v / 1e3;
      } else {
        c.bad_max = ms;
      }
    }
    return c;
  }();
  return check;
}

// The arena's extent hooks: jemalloc's own, except that a fresh mapping is advised as huge
// pages, as jemalloc does for every mapping under opt.thp=always.
extent_hooks_t* g_default_hooks = nullptr;
extent_hooks_t g_hooks;

// The advised mappings, for a decline to take the advice back. Fixed: the hook runs inside
// jemalloc, where allocating could re-enter it. Mappings past the last slot keep their advice.
struct Advised {
  void* p;
  size_t size;
};
std::mutex g_mu;
std::array<Advised, 4096> g_ranges;  // GUARDED_BY(g_mu)
size_t g_nranges = 0;                // GUARDED_BY(g_mu)

// How long the first touch of the huge page at `p` takes: a fault that makes the kernel find
// and zero 2 MiB. Writes a zero: jemalloc may count on fresh mappings being zeroed.
double TimeFirstTouch(char* p) {
  volatile char* touch = p;
  const auto t0 = std::chrono::steady_clock::now();
  *touch = 0;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Takes the advice back from every advised mapping: what is not touched yet comes in small
// pages. REQUIRES: g_mu held.
void Decline() {
  for (size_t i = 0; i < g_nranges; ++i) {
    if (madvise(g_ranges[i].p, g_ranges[i].size, MADV_NOHUGEPAGE) == 0) {
      g_advised.fetch_sub(g_ranges[i].size, std::memory_order_relaxed);
    }
  }
  g_nranges = 0;
  g_declined.store(true, std::memory_order_relaxed);
}

void* AllocAdvised(extent_hooks_t* /*hooks*/, void* new_addr, size_t size, size_t alignment,
                   bool* zero, bool* commit, unsigned arena_ind) {
  // A mapping that starts on a huge-page boundary: only whole, aligned 2 MiB ranges can be
  // huge pages, and jemalloc grows its mappings in sizes that are not all multiples of 2 MiB.
  if (new_addr == nullptr && size >= kHugePage && alignment < kHugePage) alignment = kHugePage;
  void* p =
      g_default_hooks->alloc(g_default_hooks, new_addr, size, alignment, zero, commit, arena_ind);
  if (p == nullptr) return p;
  std::lock_guard<std::mutex> l(g_mu);
  if (g_declined.load(std::memory_order_relaxed)) return p;
  if (madvise(p, size, MADV_HUGEPAGE) != 0) return p;
  g_advised.fetch_add(size, std::memory_order_relaxed);
  if (g_nranges < g_ranges.size()) g_ranges[g_nranges++] = {p, size};
  const Check& check = TheCheck();
  if (check.on && *commit && size >= kHugePage && reinterpret_cast<uintptr_t>(p) % kHugePage == 0) {
    const double seconds = TimeFirstTouch(static_cast<char*>(p));
    if (seconds > g_slowest_fault.load(std::memory_order_relaxed)) {
      g_slowest_fault.store(seconds, std::memory_order_relaxed);
    }
    if (seconds > check.max_seconds) Decline();
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
  // Read here, not first in the hook, which runs inside jemalloc; a bad setting is said once,
  // and the default used.
  static std::once_flag warned;
  std::call_once(warned, [] {
    const Check& check = TheCheck();
    if (check.bad_mode != nullptr) {
      std::fprintf(stderr,
                   "brfed: BRFED_HUGE_PAGES=\"%s\" is neither \"always\" nor \"check\"; "
                   "checking\n",
                   check.bad_mode);
    }
    if (check.bad_max != nullptr) {
      std::fprintf(stderr,
                   "brfed: BRFED_HUGE_PAGE_MAX_FAULT_MS=\"%s\" is not a number of milliseconds "
                   ">= 0; using %g\n",
                   check.bad_max, check.max_seconds * 1e3);
    }
  });
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

double HugePageScope::SlowestFaultSeconds() {
  return g_slowest_fault.load(std::memory_order_relaxed);
}

bool HugePageScope::HugePagesDeclined() { return g_declined.load(std::memory_order_relaxed); }

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
