// Several outcomes queued for one run reach the journal in one batch. When one of them fails
// a forEach step, fail-fast cancels the step's other instances: their outcomes, queued in the
// same batch, must not be journaled (they would not apply, and the run would stall with a
// record recovery rejects too). Here every instance fails at dispatch (its `with` does not
// resolve), so all the failures are queued before the run's next append.

#include <gtest/gtest.h>

#include <memory>

#include "base/fake_env.h"
#include "brfed/engine.h"
#include "brfed/workflow.h"
#include "engine/memory_journal.h"
#include "engine/replay.h"

namespace brfed {
namespace {

TEST(FailFastBatch, SiblingFailuresQueuedWithTheFirstAreNotJournaled) {
  FakeEnv env;
  MemoryJournal journal;
  StepRegistry registry;
  ASSERT_TRUE(RegisterTestSteps(&registry).ok());
  Result<Workflow> wf = LoadWorkflow(R"(name: bad-with
steps:
  - id: each
    action: test.echo
    forEach: [{a: 1}, {a: 2}, {a: 3}]
    with: {value: $(item.missing)}
finally:
  - id: last
    action: test.noop
)",
                                     "bad-with.yaml", registry);
  ASSERT_TRUE(wf.ok()) << wf.status().ToString();
  EngineOptions o;
  o.env = &env;
  o.journal = &journal;
  o.steps = &registry;
  Result<std::unique_ptr<Engine>> engine = OpenEngine(std::move(o));
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto workflow = std::make_shared<const Workflow>(std::move(*wf));
  ASSERT_TRUE((*engine)->StartRun("r1", workflow, Value::Map{}).ok());
  Result<RunView> done = (*engine)->WaitRun("r1", std::chrono::seconds(60));
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->state, RunState::kFailed) << done->message;
  int failed = 0, cancelled = 0;
  for (const InstanceView& i : done->instances) {
    if (i.step_id != "each") continue;
    failed += i.state == InstanceState::kFailed;
    cancelled += i.state == InstanceState::kCancelled;
  }
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(cancelled, 2);
  engine->reset();
  // The journal holds a run that replays cleanly to the same end.
  Result<std::vector<Event>> events = journal.ReadRun("r1");
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  Result<RunMachine> replayed = ReplayRun("r1", workflow, *events);
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  EXPECT_EQ(replayed->state(), RunState::kFailed);
}

}  // namespace
}  // namespace brfed
