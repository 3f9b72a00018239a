#include "engine/replay.h"

#include <utility>

namespace brfed {

Result<RunMachine> ReplayRun(std::string run_id, std::shared_ptr<const Workflow> workflow,
                             const std::vector<Event>& events, uint64_t until_seq) {
  if (workflow == nullptr) return InvalidArgumentError("replay: run " + run_id + ": no workflow");
  return ReplayRun(std::move(run_id), PlanMachine(std::move(workflow)), events, until_seq);
}

Result<RunMachine> ReplayRun(std::string run_id, std::shared_ptr<const MachinePlan> plan,
                             const std::vector<Event>& events, uint64_t until_seq) {
  RunMachine m(std::move(run_id), std::move(plan));
  for (const Event& e : events) {
    if (e.seq > until_seq) break;
    Status s = m.Apply(e);
    if (!s.ok()) return s.WithContext("replay");
  }
  return m;
}

}  // namespace brfed
