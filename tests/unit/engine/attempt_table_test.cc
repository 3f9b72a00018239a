#include "engine/attempt_table.h"

#include <gtest/gtest.h>

#include <vector>

#include "brfed/workflow.h"

namespace brfed::internal {
namespace {

// Running attempts as RunMachine::RunningAttempts gives them: in (step, item) order.
class AttemptTableTest : public ::testing::Test {
 protected:
  AttemptTableTest() {
    steps_[0].id = "check";
    steps_[1].id = "snapshot";
    steps_[2].id = "finish";
  }
  RunMachine::Attempt A(int step, int item, int attempt) {
    RunMachine::Attempt a;
    a.step = &steps_[step];
    a.step_index = step;
    a.item_index = item;
    a.attempt = attempt;
    return a;
  }
  // Syncs and returns which entries are fresh.
  std::vector<bool> Sync(const std::vector<RunMachine::Attempt>& running) {
    scratch_.ended.clear();
    table_.Sync(running, &scratch_);
    return scratch_.fresh;
  }

  StepDef steps_[3];
  AttemptTable table_;
  AttemptTable::SyncScratch scratch_;
  const std::vector<AttemptTable::Entry>& ended_ = scratch_.ended;
};

TEST_F(AttemptTableTest, SyncKeepsSlotsOfAttemptsThatStayAndEndsTheOthers) {
  EXPECT_EQ(Sync({A(0, -1, 1), A(1, 0, 1), A(1, 1, 1)}), (std::vector<bool>{true, true, true}));
  ASSERT_EQ(table_.size(), 3u);
  EXPECT_EQ(table_[1].step_id, "snapshot");
  EXPECT_EQ(table_[1].slot.attempt, 1);
  EXPECT_TRUE(ended_.empty());
  table_.Find(1, 1)->observed = "pending";
  table_.Find(1, 1)->dirty = false;

  // check ended, snapshot item 0 is on its second attempt, item 1 stays, finish begins.
  EXPECT_EQ(Sync({A(1, 0, 2), A(1, 1, 1), A(2, -1, 1)}), (std::vector<bool>{true, false, true}));
  ASSERT_EQ(ended_.size(), 2u);
  EXPECT_EQ(ended_[0].step_id, "check");  // in table order
  EXPECT_EQ(ended_[1].step_id, "snapshot");
  EXPECT_EQ(ended_[1].item_index, 0);
  EXPECT_EQ(ended_[1].slot.attempt, 1);
  ASSERT_EQ(table_.size(), 3u);
  EXPECT_EQ(table_[0].slot.attempt, 2);
  EXPECT_TRUE(table_[0].slot.dirty);              // a fresh slot
  EXPECT_EQ(table_[1].slot.observed, "pending");  // kept, with what it held
  EXPECT_FALSE(table_[1].slot.dirty);
  EXPECT_EQ(table_[2].step_id, "finish");

  EXPECT_EQ(Sync({}), std::vector<bool>{});
  EXPECT_EQ(ended_.size(), 3u);
  EXPECT_TRUE(table_.empty());
}

TEST_F(AttemptTableTest, FindSearchesByStepAndItem) {
  Sync({A(0, -1, 3), A(1, 0, 1), A(1, 2, 1), A(2, -1, 1)});
  ASSERT_NE(table_.Find(0, -1), nullptr);
  EXPECT_EQ(table_.Find(0, -1)->attempt, 3);
  EXPECT_EQ(table_.Find(1, 2), &table_[2].slot);
  EXPECT_EQ(table_.Find(1, 1), nullptr);  // not running
  EXPECT_EQ(table_.Find(0, 0), nullptr);
  EXPECT_EQ(table_.Find(-1, -1), nullptr);  // an unknown step
  EXPECT_EQ(table_.Find(3, -1), nullptr);
  // By the step's id: the same slots.
  EXPECT_EQ(table_.Find("check", -1), table_.Find(0, -1));
  EXPECT_EQ(table_.Find("snapshot", 2), &table_[2].slot);
  EXPECT_EQ(table_.Find("snapshot", 0), &table_[1].slot);
  EXPECT_EQ(table_.Find("snapshot", 1), nullptr);
  EXPECT_EQ(table_.Find("finish", -1), &table_[3].slot);
  EXPECT_EQ(table_.Find("snap", 0), nullptr);  // ids are compared whole
  EXPECT_EQ(table_.Find("other", -1), nullptr);
}

// One scratch serves every table (the engine's runs): the memory Sync builds in passes from
// table to table, and no table loses what it holds.
TEST_F(AttemptTableTest, TablesShareOneScratch) {
  AttemptTable other;
  Sync({A(0, -1, 1)});
  table_[0].slot.observed = "mine";
  other.Sync({A(1, 0, 1), A(2, -1, 4)}, &scratch_);
  EXPECT_EQ(other.size(), 2u);
  Sync({A(0, -1, 1), A(1, 3, 1)});
  ASSERT_EQ(table_.size(), 2u);
  EXPECT_EQ(table_[0].slot.observed, "mine");  // the same attempt keeps its slot
  EXPECT_EQ(scratch_.fresh, (std::vector<bool>{false, true}));
  ASSERT_NE(other.Find(2, -1), nullptr);
  EXPECT_EQ(other.Find(2, -1)->attempt, 4);
  EXPECT_EQ(other.Find("snapshot", 0), &other[0].slot);
}

}  // namespace
}  // namespace brfed::internal
