// DefinitionCache: parsed workflow definitions by content hash, loaded from the journal.
//
// Recovery, and reading a finished run back, need the exact definition a run started with;
// the journal holds its text under its hash. Each text is parsed, and planned for the machine,
// once. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "brfed/journal.h"
#include "brfed/status.h"
#include "brfed/workflow.h"
#include "engine/machine.h"

namespace brfed {

class DefinitionCache {
 public:
  // Neither is owned; both must outlive the cache.
  DefinitionCache(Journal* journal, const ActionCatalog* actions)
      : journal_(journal), actions_(actions) {}

  // Remembers a definition the program already holds (StartRun's), and returns its machine
  // plan (the one already cached under its hash, if any).
  std::shared_ptr<const MachinePlan> Put(std::shared_ptr<const Workflow> workflow);

  // The definition with this hash: cached, or read from the journal and loaded. kDataLoss when
  // the journal lacks it or its text does not hash to `hash`; kFailedPrecondition when it no
  // longer loads (e.g. an action this program does not register).
  Result<std::shared_ptr<const Workflow>> Get(std::string_view hash);
  // The same as the machine plan every run of the definition shares.
  Result<std::shared_ptr<const MachinePlan>> GetPlan(std::string_view hash);

 private:
  Journal* const journal_;
  const ActionCatalog* const actions_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const MachinePlan>, std::less<>> cache_;
};

}  // namespace brfed
