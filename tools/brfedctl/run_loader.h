// RunLoader: one run as brfedctl shows it — its records, the definition it started with, and
// the state the machine derives from them.
//
//   RunLoader loader(*journal, *registry);
//   ASSIGN_OR_RETURN(LoadedRun run, loader.Load("r1"));
//   std::cout << RunStateName(run.view.state);
//
// The records are read as they are; a definition that is missing or no longer loads, or a
// record the machine rejects, is reported in `problem` (naming the run and seq) with the
// state derived up to the record before it, so a damaged run can still be looked at.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/engine.h"
#include "brfed/journal.h"
#include "brfed/status.h"
#include "brfed/workflow.h"

namespace brfed::ctl {

struct LoadedRun {
  std::string run_id;
  std::vector<Event> events;                  // seq <= until
  std::shared_ptr<const Workflow> workflow;   // null when the definition is missing or bad
  RunView view;                               // derived state after the last applied event
  uint64_t applied = 0;                       // events applied to the machine
  Status problem;                             // why the replay stopped early, if it did
};

// Loads runs of one journal, loading each definition once. Not thread-safe.
class RunLoader {
 public:
  // Both must outlive the loader.
  RunLoader(Journal& journal, const ActionCatalog& actions)
      : journal_(journal), actions_(actions) {}

  // Errors: kNotFound for an unknown run; the journal's kDataLoss for unreadable records
  // (which names the run and seq).
  Result<LoadedRun> Load(std::string_view run_id,
                         uint64_t until_seq = std::numeric_limits<uint64_t>::max());

  // The definition stored under `hash`, loaded against the actions. "journal:d/<hash>" names
  // it in diagnostics.
  Result<std::shared_ptr<const Workflow>> Definition(const std::string& hash);

 private:
  Journal& journal_;
  const ActionCatalog& actions_;
  std::map<std::string, std::shared_ptr<const Workflow>, std::less<>> definitions_;
};

}  // namespace brfed::ctl
