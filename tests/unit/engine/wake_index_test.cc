#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/runtime_waits.h"

namespace brfed {
namespace {

const ObjectRef kGate{"plane-a", "pods", "ns", "gate"};
const ObjectRef kOther{"plane-a", "pods", "ns", "other"};

std::vector<std::string> Woken(const WakeIndex& index, const ObjectRef& ref) {
  std::vector<std::string> runs;
  index.ForEachWaiting(ref, [&](const InstanceKey& k) { runs.push_back(k.run_id); });
  return runs;
}

// Runs are woken in the order the engine took them in (InstanceKey::order), not in the order
// of their ids: with random uids, id order is a random walk through memory.
TEST(WakeIndexTest, WaitersAreWokenInTheOrderTheirRunsWereTakenIn) {
  WakeIndex index;
  const std::vector<std::string> ids{"f3-uid", "07-uid", "c1-uid", "2a-uid"};
  for (size_t i = 0; i < ids.size(); ++i) {
    index.Set(InstanceKey{i + 1, ids[i], "wait", -1}, {kGate});
  }
  EXPECT_EQ(Woken(index, kGate), ids);
}

TEST(WakeIndexTest, SetReplacesWhatAnInstanceWaitsOn) {
  WakeIndex index;
  const InstanceKey a{1, "run-a", "wait", -1};
  const InstanceKey b{2, "run-b", "wait", 0};
  index.Set(a, {kGate, kOther});
  index.Set(b, {kGate});
  EXPECT_EQ(Woken(index, kGate), (std::vector<std::string>{"run-a", "run-b"}));
  EXPECT_EQ(Woken(index, kOther), (std::vector<std::string>{"run-a"}));
  index.Set(a, {kOther});
  EXPECT_EQ(Woken(index, kGate), (std::vector<std::string>{"run-b"}));
  index.Set(a, {});
  index.Set(b, {});
  EXPECT_TRUE(Woken(index, kGate).empty());
  EXPECT_TRUE(Woken(index, kOther).empty());
  EXPECT_EQ(index.size(), 0u);
}

TEST(WakeIndexTest, WaitingAgainOnTheSameRefsKeepsOneEntry) {
  WakeIndex index;
  const InstanceKey a{1, "run-a", "wait", -1};
  index.Set(a, {kGate, kOther});
  index.Set(a, {kGate, kOther});
  EXPECT_EQ(Woken(index, kGate), (std::vector<std::string>{"run-a"}));
  EXPECT_EQ(Woken(index, kOther), (std::vector<std::string>{"run-a"}));
  // Refs whose fields differ only in where one ends and the next begins are other refs.
  const ObjectRef shifted{kGate.cluster + kGate.resource.substr(0, 1), kGate.resource.substr(1),
                          kGate.ns, kGate.name};
  index.Set(a, {shifted, kOther});
  EXPECT_TRUE(Woken(index, kGate).empty());
  EXPECT_EQ(Woken(index, shifted), (std::vector<std::string>{"run-a"}));
  // A view of the key finds the entry the key made.
  index.Set(InstanceKeyView(1, std::string("run-") + "a", "wait", -1), {});
  EXPECT_EQ(index.size(), 0u);
}

// The same ref twice is one wait, ended once.
TEST(WakeIndexTest, ARefGivenTwiceIsOneWait) {
  WakeIndex index;
  const InstanceKey a{1, "run-a", "wait", -1};
  index.Set(a, {kGate, kGate});
  EXPECT_EQ(Woken(index, kGate), (std::vector<std::string>{"run-a"}));
  index.Set(a, {kGate, kGate});  // not "the same" as one wait: replaced, still one
  EXPECT_EQ(Woken(index, kGate), (std::vector<std::string>{"run-a"}));
  index.Set(a, {});
  EXPECT_EQ(index.size(), 0u);
}

// Ending the waits of some instances leaves every other waiter of the same objects, in order.
TEST(WakeIndexTest, EndingWaitsAmongManyLeavesTheOthers) {
  WakeIndex index;
  std::vector<std::string> left;
  for (uint64_t i = 1; i <= 300; ++i) {
    const std::string run = "run-" + std::to_string(i);
    index.Set(InstanceKey{i, run, "wait", -1}, {kGate, kOther});
    index.Set(InstanceKey{i, run, "each", 0}, {kGate});
    if (i % 3 != 0) left.push_back(run);
  }
  for (uint64_t i = 3; i <= 300; i += 3) {
    const std::string run = "run-" + std::to_string(i);
    index.Set(InstanceKeyView(i, run, "wait", -1), {});
    index.Set(InstanceKeyView(i, run, "each", 0), {});
  }
  EXPECT_EQ(Woken(index, kOther), left);
  std::vector<std::string> twice;  // each run left waits on kGate from two instances
  for (const std::string& run : left) twice.insert(twice.end(), {run, run});
  EXPECT_EQ(Woken(index, kGate), twice);
  for (uint64_t i = 1; i <= 300; ++i) {
    const std::string run = "run-" + std::to_string(i);
    index.Set(InstanceKeyView(i, run, "wait", -1), {});
    index.Set(InstanceKeyView(i, run, "each", 0), {});
  }
  EXPECT_EQ(index.size(), 0u);
}

}  // namespace
}  // namespace brfed
