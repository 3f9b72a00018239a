#include "engine/run_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace brfed::internal {
namespace {

struct FakeRun {
  explicit FakeRun(std::string id) : run_id(std::move(id)) {}
  std::string run_id;
};

// Every id hashes to one of four homes: long clusters that wrap around the table's end.
struct ClusteringHash {
  size_t operator()(std::string_view id) const {
    return (std::hash<std::string_view>{}(id)&3) + ~size_t{0} - 5;
  }
};

template <typename Table>
std::vector<std::string> Ids(const Table& t) {
  std::vector<std::string> ids;
  t.ForEach([&](const auto& p) { ids.push_back(p->run_id); });
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(RunTableTest, InsertFindTake) {
  RunTable<std::unique_ptr<FakeRun>> t;
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.Find("a"), nullptr);
  EXPECT_EQ(t.Take("a"), nullptr);
  EXPECT_TRUE(t.Insert(std::make_unique<FakeRun>("a")));
  EXPECT_TRUE(t.Insert(std::make_unique<FakeRun>("b")));
  EXPECT_FALSE(t.Insert(std::make_unique<FakeRun>("a")));  // the first stays
  EXPECT_EQ(t.size(), 2u);
  ASSERT_NE(t.Find("a"), nullptr);
  EXPECT_EQ((*t.Find("a"))->run_id, "a");
  EXPECT_TRUE(t.Contains("b"));
  EXPECT_FALSE(t.Contains("c"));
  std::unique_ptr<FakeRun> a = t.Take("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->run_id, "a");
  EXPECT_FALSE(t.Contains("a"));
  EXPECT_EQ(Ids(t), std::vector<std::string>{"b"});
  EXPECT_TRUE(t.Erase("b"));
  EXPECT_FALSE(t.Erase("b"));
  EXPECT_TRUE(t.empty());
}

TEST(RunTableTest, ViewsOfRunsKeptElsewhere) {
  std::vector<std::unique_ptr<FakeRun>> owned;
  RunTable<const FakeRun*> t;
  for (int i = 0; i < 100; ++i) {
    owned.push_back(std::make_unique<FakeRun>("run-" + std::to_string(i)));
    ASSERT_TRUE(
        t.InsertHashed(RunTable<const FakeRun*>::Hash(owned.back()->run_id), owned.back().get()));
  }
  EXPECT_EQ(t.size(), 100u);
  for (const auto& r : owned) {
    const FakeRun* const* found = t.Find(r->run_id);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(*found, r.get());
  }
}

TEST(RunTableTest, ReserveGrowsOnceAndKeepsEntries) {
  RunTable<std::unique_ptr<FakeRun>> t;
  t.Insert(std::make_unique<FakeRun>("x"));
  t.Reserve(1000);
  for (int i = 0; i < 1000; ++i) t.Insert(std::make_unique<FakeRun>(std::to_string(i)));
  EXPECT_EQ(t.size(), 1001u);
  EXPECT_TRUE(t.Contains("x"));
  EXPECT_TRUE(t.Contains("999"));
  t.Reserve(10);  // never shrinks
  EXPECT_TRUE(t.Contains("0"));
}

// Against std::unordered_map, with a hash that piles ids into clusters wrapping the end of the
// table (backward shift across the wrap) and with the real one.
template <typename H>
void CheckAgainstUnorderedMap(uint32_t seed) {
  std::mt19937 rng(seed);
  RunTable<std::unique_ptr<FakeRun>, H> t;
  std::unordered_map<std::string, bool> want;
  for (int step = 0; step < 20000; ++step) {
    std::string id = "r" + std::to_string(rng() % 300);
    switch (rng() % 3) {
      case 0:
      case 1: {
        bool added = t.Insert(std::make_unique<FakeRun>(id));
        ASSERT_EQ(added, want.emplace(id, true).second) << id << " at step " << step;
        break;
      }
      case 2: {
        std::unique_ptr<FakeRun> taken = t.Take(id);
        ASSERT_EQ(taken != nullptr, want.erase(id) == 1) << id << " at step " << step;
        if (taken != nullptr) {
          ASSERT_EQ(taken->run_id, id);
        }
        break;
      }
    }
    ASSERT_EQ(t.size(), want.size());
    if (step % 500 == 0) {
      for (int i = 0; i < 300; ++i) {
        std::string probe = "r" + std::to_string(i);
        ASSERT_EQ(t.Contains(probe), want.count(probe) == 1) << probe << " at step " << step;
      }
    }
  }
  std::vector<std::string> ids;
  for (const auto& [id, unused] : want) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(Ids(t), ids);
}

TEST(RunTableTest, MatchesUnorderedMapWithClusters) {
  for (uint32_t seed = 1; seed <= 5; ++seed) CheckAgainstUnorderedMap<ClusteringHash>(seed);
}

TEST(RunTableTest, MatchesUnorderedMap) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    CheckAgainstUnorderedMap<std::hash<std::string_view>>(seed);
  }
}

}  // namespace
}  // namespace brfed::internal
