#include "brfed/workflow.h"

namespace brfed {

std::string Diagnostic::ToString() const {
  return file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + reason;
}

const StepDef* Workflow::FindStep(std::string_view id) const {
  for (const StepDef& s : steps) {
    if (s.id == id) return &s;
  }
  for (const StepDef& s : finally_steps) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

}  // namespace brfed
