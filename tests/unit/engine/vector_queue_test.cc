#include "engine/vector_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace brfed::internal {
namespace {

TEST(VectorQueueTest, PopsInOrderAcrossItsCompactions) {
  VectorQueue<int> q;
  int next_in = 0, next_out = 0;
  // Never empty: each round pushes three and pops two, so the spent front is dropped again
  // and again (kCompactAt) while the queue grows.
  for (int round = 0; round < 3000; ++round) {
    for (int i = 0; i < 3; ++i) q.push_back(next_in++);
    for (int i = 0; i < 2; ++i) ASSERT_EQ(q.PopFront(), next_out++);
  }
  EXPECT_EQ(q.size(), static_cast<size_t>(next_in - next_out));
  while (!q.empty()) ASSERT_EQ(q.PopFront(), next_out++);
  EXPECT_EQ(next_out, next_in);
}

TEST(VectorQueueTest, AnEmptyQueueTakesABatchOverWholeAndALaterOneIsAppended) {
  VectorQueue<int> q;
  std::vector<int> batch{1, 2, 3};
  q.Append(&batch);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.PopFront(), 1);
  batch = {4, 5};
  q.Append(&batch);
  EXPECT_TRUE(batch.empty());
  std::vector<int> out;
  while (!q.empty()) out.push_back(q.PopFront());
  EXPECT_EQ(out, (std::vector<int>{2, 3, 4, 5}));
  // Emptied, the queue kept its memory; the next batch takes its place and gets that memory
  // back for the batch after.
  std::vector<int> again{6};
  again.shrink_to_fit();
  q.Append(&again);
  EXPECT_GE(again.capacity(), 4u);
  EXPECT_EQ(q.PopFront(), 6);
}

}  // namespace
}  // namespace brfed::internal
