#include "tools/brfedctl/run_loader.h"

#include "engine/machine.h"

namespace brfed::ctl {

Result<std::shared_ptr<const Workflow>> RunLoader::Definition(const std::string& hash) {
  if (auto it = definitions_.find(hash); it != definitions_.end()) return it->second;
  Result<std::string> text = journal_.GetDefinition(hash);
  if (!text.ok()) {
    return text.status().WithContext("definition " + hash);
  }
  Result<Workflow> wf = LoadWorkflow(*text, "journal:d/" + hash, actions_);
  if (!wf.ok()) return wf.status().WithContext("definition " + hash + " no longer loads");
  auto loaded = std::make_shared<const Workflow>(std::move(wf).value());
  definitions_.emplace(hash, loaded);
  return std::shared_ptr<const Workflow>(loaded);
}

Result<LoadedRun> RunLoader::Load(std::string_view run_id, uint64_t until_seq) {
  LoadedRun run;
  run.run_id = std::string(run_id);
  ASSIGN_OR_RETURN(run.events, journal_.ReadRun(run_id, until_seq));
  run.view.run_id = run.run_id;
  if (run.events.empty()) {
    run.problem = DataLossError("run " + run.run_id + ": no records");
    return run;
  }
  const Event& first = run.events.front();
  const RunStart& start = first.start.get();
  run.view.workflow_name = start.workflow_name;
  run.view.definition_hash = start.definition_hash;
  run.view.params = start.params;
  run.view.started_at = first.time;
  if (first.type != EventType::kRunStarted) {
    run.problem = DataLossError("run " + run.run_id + " seq " + std::to_string(first.seq) +
                                ": the first record is " +
                                std::string(EventTypeName(first.type)) + ", not RunStarted");
    return run;
  }
  Result<std::shared_ptr<const Workflow>> wf = Definition(start.definition_hash);
  if (!wf.ok()) {
    run.problem = wf.status().WithContext("run " + run.run_id);
    return run;
  }
  run.workflow = *wf;
  RunMachine machine(run.run_id, run.workflow);
  for (const Event& e : run.events) {
    Status s = machine.Apply(e);
    if (!s.ok()) {
      run.problem = s;
      break;
    }
    ++run.applied;
  }
  run.view = machine.View();
  return run;
}

}  // namespace brfed::ctl
