// A watch event that arrives while the step's Reconcile is still running must not be lost:
// the step read the world before the change, returns Wait on that object, and has to look
// again at once — not after its recheck (here: never, it asks for none).

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "base/fake_env.h"
#include "brfed/engine.h"
#include "brfed/step.h"
#include "brfed/workflow.h"
#include "engine/memory_journal.h"

namespace brfed {
namespace {

const ObjectRef kRef{"k8s-1", "backups.pingcap.com", "ns", "member"};

// First call: the "object" changes (Wake) while the step is still deciding, then it returns
// Wait on it with no recheck. Second call: done.
class RacyStep final : public Step {
 public:
  explicit RacyStep(std::function<void()> wake) : wake_(std::move(wake)) {}
  StepResult Reconcile(StepContext&) override {
    if (calls_.fetch_add(1) == 0) {
      wake_();  // the engine thread handles it before this Reconcile returns
      return Wait{.wake_on = {kRef}, .recheck_after = std::nullopt, .observed = "not yet"};
    }
    return Done{};
  }
  int calls() const { return calls_.load(); }

 private:
  std::function<void()> wake_;
  std::atomic<int> calls_{0};
};

TEST(WakeRace, WakeDuringReconcileIsNotLost) {
  FakeEnv env;
  MemoryJournal journal;
  StepRegistry registry;
  Engine* engine_ptr = nullptr;
  std::atomic<bool> woke{false};
  auto step = std::make_unique<RacyStep>([&] {
    engine_ptr->Wake(kRef);
    woke = true;
  });
  RacyStep* racy = step.get();
  ASSERT_TRUE(registry.Register({"test.racy", {}, {}}, std::move(step)).ok());
  Result<Workflow> wf = LoadWorkflow(
      "name: racy\nsteps:\n  - id: s\n    action: test.racy\n", "racy.yaml", registry);
  ASSERT_TRUE(wf.ok()) << wf.status().ToString();
  EngineOptions o;
  o.env = &env;
  o.journal = &journal;
  o.steps = &registry;
  o.workers = 1;
  Result<std::unique_ptr<Engine>> engine = OpenEngine(std::move(o));
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  engine_ptr = engine->get();
  ASSERT_TRUE((*engine)->StartRun("r1", std::make_shared<Workflow>(std::move(*wf)), Value::Map{}).ok());
  // No clock movement at all: only the wake can finish the run.
  Result<RunView> done = (*engine)->WaitRun("r1", std::chrono::seconds(20));
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->state, RunState::kSucceeded);
  EXPECT_TRUE(woke.load());
  EXPECT_EQ(racy->calls(), 2);
}

}  // namespace
}  // namespace brfed
