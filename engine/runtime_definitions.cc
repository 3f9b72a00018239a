#include "engine/runtime_definitions.h"

#include <utility>

#include "engine/machine_internal.h"

namespace brfed {

std::shared_ptr<const MachinePlan> DefinitionCache::Put(std::shared_ptr<const Workflow> workflow) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = cache_.find(workflow->hash);
  if (it != cache_.end()) return it->second;
  std::string hash = workflow->hash;
  return cache_.emplace(std::move(hash), PlanMachine(std::move(workflow))).first->second;
}

Result<std::shared_ptr<const Workflow>> DefinitionCache::Get(std::string_view hash) {
  ASSIGN_OR_RETURN(std::shared_ptr<const MachinePlan> plan, GetPlan(hash));
  return plan->wf;
}

Result<std::shared_ptr<const MachinePlan>> DefinitionCache::GetPlan(std::string_view hash) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end()) return it->second;
  }
  // Parsed outside the lock; two threads racing on one hash both parse, one result is kept.
  Result<std::string> text = journal_->GetDefinition(hash);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return DataLossError("definition " + std::string(hash) + " is missing from the journal");
    }
    return text.status().WithContext("definition " + std::string(hash));
  }
  Result<Workflow> wf = LoadWorkflow(*text, "journal:" + std::string(hash), *actions_);
  if (!wf.ok()) {
    return FailedPreconditionError("definition " + std::string(hash) +
                                   " no longer loads: " + wf.status().message());
  }
  if (wf->hash != hash) {
    return DataLossError("definition " + std::string(hash) + " has text hashing to " + wf->hash);
  }
  std::shared_ptr<const MachinePlan> plan =
      PlanMachine(std::make_shared<const Workflow>(std::move(*wf)));
  std::lock_guard<std::mutex> l(mu_);
  return cache_.try_emplace(std::string(hash), std::move(plan)).first->second;
}

}  // namespace brfed
