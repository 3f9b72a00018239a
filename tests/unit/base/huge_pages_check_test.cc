// HugePageScope's check of the huge pages its arenas get, made to find every one slow
// (BRFED_HUGE_PAGE_MAX_FAULT_MS=0): the first mapping it times declines huge pages for the
// process. Its own binary: the check's settings are read once per process.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "base/huge_pages.h"

namespace brfed {
namespace {

#ifdef BRFED_JEMALLOC_LINKED
constexpr bool kJemalloc = true;
#else
constexpr bool kJemalloc = false;
#endif

const bool kEverythingSlow = setenv("BRFED_HUGE_PAGE_MAX_FAULT_MS", "0", 1) == 0;

struct Free {
  void operator()(char* p) const { std::free(p); }
};
using Blocks = std::vector<std::unique_ptr<char, Free>>;

constexpr size_t kBlock = 64 << 10;  // a large allocation: an extent of its own

// 8 MiB in 64 KiB blocks from calloc: fresh mappings, which jemalloc knows to be zeroed and
// hands out for large blocks without clearing them again.
Blocks Allocate() {
  Blocks blocks;
  for (int i = 0; i < 128; ++i) blocks.emplace_back(static_cast<char*>(std::calloc(1, kBlock)));
  return blocks;
}

TEST(HugePageCheckTest, ASlowHugePageDeclinesThemForTheProcess) {
  ASSERT_TRUE(kEverythingSlow);
  EXPECT_FALSE(HugePageScope::HugePagesDeclined());
  Blocks blocks;
  {
    HugePageScope scope;
    ASSERT_EQ(scope.active(), kJemalloc);  // the arena is there; its mappings go unadvised
    blocks = Allocate();
  }
  if (!kJemalloc) {
    EXPECT_FALSE(HugePageScope::HugePagesDeclined());
    EXPECT_EQ(HugePageScope::SlowestFaultSeconds(), 0);
    return;
  }
  EXPECT_TRUE(HugePageScope::HugePagesDeclined());
  EXPECT_GT(HugePageScope::SlowestFaultSeconds(), 0);
  EXPECT_EQ(HugePageScope::AdvisedBytes(), 0u);  // the advice given before was taken back
  // Later scopes, on any arena, advise nothing.
  for (int i = 0; i < 3; ++i) {
    HugePageScope scope;
    Blocks more = Allocate();
    EXPECT_EQ(HugePageScope::AdvisedBytes(), 0u);
  }
  // The check touched the mappings it timed; what calloc handed out of them reads zero.
  for (const auto& b : blocks) {
    ASSERT_NE(b, nullptr);
    for (size_t i = 0; i < kBlock; ++i) ASSERT_EQ(b.get()[i], 0) << i;
  }
}

// Settings that make no sense are said on stderr, and the defaults used. Without jemalloc
// no arena reads them, and the scope stays inactive (exit 1).
TEST(HugePageCheckDeathTest, BadSettingsAreSaidAndTheDefaultsUsed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process reads the settings anew
  struct Bad {
    const char* name;
    const char* value;
    const char* said;
  };
  for (const Bad& bad : {
           Bad{"BRFED_HUGE_PAGE_MAX_FAULT_MS", "soon",
               "BRFED_HUGE_PAGE_MAX_FAULT_MS=\"soon\" is not a number of milliseconds >= 0; "
               "using 1"},
           Bad{"BRFED_HUGE_PAGES", "alwyas",
               "BRFED_HUGE_PAGES=\"alwyas\" is neither \"always\" nor \"check\""},
       }) {
    EXPECT_EXIT(
        {
          setenv(bad.name, bad.value, 1);
          HugePageScope scope;
          std::exit(scope.active() ? 0 : 1);
        },
        testing::ExitedWithCode(kJemalloc ? 0 : 1), kJemalloc ? bad.said : "")
        << bad.name;
  }
}

}  // namespace
}  // namespace brfed
