#include "base/huge_pages.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

namespace brfed {
namespace {

// The scopes here must advise whatever this host's huge pages cost: the check that declines
// slow ones has tests of its own (huge_pages_check_test.cc). Set before any scope exists.
const bool kAlways = setenv("BRFED_HUGE_PAGES", "always", 1) == 0;

// Whether this binary runs on jemalloc: the scope must work exactly then.
#ifdef BRFED_JEMALLOC_LINKED
constexpr bool kJemalloc = true;
#else
constexpr bool kJemalloc = false;
#endif

// The arena jemalloc took `p` from.
unsigned ArenaOf(const void* p) {
  using MallctlFn = int (*)(const char*, void*, size_t*, void*, size_t);
  auto mallctl = reinterpret_cast<MallctlFn>(dlsym(RTLD_DEFAULT, "mallctl"));
  EXPECT_NE(mallctl, nullptr);
  if (mallctl == nullptr) return 0;
  unsigned arena = 0;
  size_t len = sizeof(arena);
  EXPECT_EQ(mallctl("arenas.lookup", &arena, &len, &p, sizeof(p)), 0);
  return arena;
}

TEST(HugePageScopeTest, TheThreadAllocatesFromTheArenaWhileTheScopeLives) {
  ASSERT_TRUE(kAlways);
  std::vector<std::unique_ptr<char[]>> blocks;
  const size_t advised_before = HugePageScope::AdvisedBytes();
  unsigned arena = 0;
  {
    HugePageScope scope;
    ASSERT_EQ(scope.active(), kJemalloc);
    // 8 MiB in 1 KiB blocks: past what the thread's cache held, into fresh mappings.
    for (int i = 0; i < 8192; ++i) blocks.emplace_back(new char[1024]());
    if (kJemalloc) {
      EXPECT_NE(scope.arena(), 0u);
      EXPECT_EQ(ArenaOf(blocks.back().get()), scope.arena());
      EXPECT_GE(HugePageScope::AdvisedBytes(), advised_before + (2u << 20));
    } else {
      EXPECT_EQ(scope.arena(), 0u);
      EXPECT_EQ(HugePageScope::AdvisedBytes(), 0u);
    }
    arena = scope.arena();
  }
  if (kJemalloc) {
    std::vector<std::unique_ptr<char[]>> after;
    for (int i = 0; i < 8192; ++i) after.emplace_back(new char[1024]());
    EXPECT_NE(ArenaOf(after.back().get()), arena);
  }
  // What the scope allocated may be freed by any thread.
  std::thread([&blocks] { blocks.clear(); }).join();
  EXPECT_TRUE(blocks.empty());
}

TEST(HugePageScopeTest, ADisabledScopeLeavesTheThreadAlone) {
  HugePageScope scope(/*enable=*/false);
  EXPECT_FALSE(scope.active());
  EXPECT_EQ(scope.arena(), 0u);
}

TEST(HugePageScopeTest, ScopesAtOnceTakeDifferentArenasAndNestedOnesRestoreInOrder) {
  HugePageScope outer;
  ASSERT_EQ(outer.active(), kJemalloc);
  if (!kJemalloc) return;  // checked above: without jemalloc no scope is active
  unsigned inner_arena = 0;
  {
    HugePageScope inner;
    inner_arena = inner.arena();
    EXPECT_NE(inner_arena, outer.arena());
    auto p = std::make_unique<char[]>(1 << 20);
    EXPECT_EQ(ArenaOf(p.get()), inner_arena);
  }
  auto q = std::make_unique<char[]>(1 << 20);
  EXPECT_EQ(ArenaOf(q.get()), outer.arena());
}

}  // namespace
}  // namespace brfed
