// StepRegistry: actions by name (brfed/step.h).

#include <algorithm>
#include <utility>

#include "brfed/step.h"

namespace brfed {

Status StepRegistry::Register(ActionSpec spec, std::unique_ptr<Step> step) {
  if (spec.name.empty()) return InvalidArgumentError("step registry: empty action name");
  if (step == nullptr) {
    return InvalidArgumentError("step registry: action " + spec.name + ": no step");
  }
  for (const std::string& key : spec.required) {
    if (std::find(spec.with_keys.begin(), spec.with_keys.end(), key) == spec.with_keys.end()) {
      return InvalidArgumentError("step registry: action " + spec.name + ": required key " +
                                  key + " is not among its with keys");
    }
  }
  if (entries_.find(spec.name) != entries_.end()) {
    return AlreadyExistsError("step registry: action " + spec.name + " is already registered");
  }
  std::string name = spec.name;
  entries_.emplace(std::move(name), Entry{std::move(spec), std::move(step)});
  return Status::OK();
}

const ActionSpec* StepRegistry::FindAction(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second.spec;
}

Step* StepRegistry::FindStep(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.step.get();
}

std::vector<std::string> StepRegistry::ActionNames() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace brfed
