// Fuzzes LoadWorkflow: any bytes must give either a Workflow or diagnostics, never a crash,
// a hang, a leak or an exception. A loaded Workflow must satisfy the loader's guarantees.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/workflow.h"
#include "engine/expr.h"

namespace {

class FuzzCatalog final : public brfed::ActionCatalog {
 public:
  const brfed::ActionSpec* FindAction(std::string_view name) const override {
    for (const brfed::ActionSpec& s : specs_) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }

 private:
  std::vector<brfed::ActionSpec> specs_ = {
      {"test.noop", {}, {}},
      {"test.sleep", {"duration"}, {"duration"}},
      {"test.fail", {"times", "message"}, {"times"}},
      {"test.append", {"path", "text"}, {"path", "text"}},
      {"test.echo", {"value"}, {"value"}},
  };
};

// Invariants of an accepted definition; a violation is a loader bug.
void CheckSection(const std::vector<brfed::StepDef>& steps) {
  std::set<std::string> ids;
  for (const brfed::StepDef& s : steps) {
    for (const std::string& n : s.needs) {
      // Every need names a step of the same section.
      bool found = false;
      for (const brfed::StepDef& t : steps) found = found || t.id == n;
      if (!found) __builtin_trap();
    }
    if (!ids.insert(s.id).second) __builtin_trap();
    if (s.retry.limit < 0 || !(s.retry.factor >= 1)) __builtin_trap();
    if (s.pos.line < 1 || s.pos.column < 1) __builtin_trap();
    if (!brfed::CollectRefs(s.with).ok()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const FuzzCatalog catalog;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<brfed::Diagnostic> diags;
  brfed::Result<brfed::Workflow> wf = brfed::LoadWorkflow(text, "fuzz.yaml", catalog, &diags);
  if (wf.ok()) {
    if (!diags.empty()) __builtin_trap();
    CheckSection(wf->steps);
    CheckSection(wf->finally_steps);
    for (const brfed::StepDef& s : wf->steps) {
      (void)s.with.ToJson();
    }
  } else {
    if (diags.empty()) __builtin_trap();
    for (const brfed::Diagnostic& d : diags) {
      if (d.pos.line < 1 || d.pos.column < 1 || d.reason.empty()) __builtin_trap();
    }
  }
  return 0;
}
