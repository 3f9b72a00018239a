// brfedctl replay --journal DIR [--until SEQ] [--json] ID: folds the run's records (up to SEQ)
// through the same state machine recovery uses, offline, and prints the state it derives.

#include <charconv>
#include <iostream>

#include "tools/brfedctl/args.h"
#include "tools/brfedctl/cli.h"
#include "tools/brfedctl/format.h"
#include "tools/brfedctl/journal_access.h"
#include "tools/brfedctl/run_loader.h"

namespace brfed::ctl {

int Replay(const std::vector<std::string>& argv) {
  Result<Args> args =
      Args::Parse("replay", argv, {{"journal", true}, {"until", true}, {"json", false}});
  if (!args.ok()) return PrintError(args.status());
  if (!args->Has("journal") || args->positional().size() != 1) {
    return PrintError(
        InvalidArgumentError("usage: brfedctl replay --journal DIR [--until SEQ] [--json] ID"));
  }
  const std::string& id = args->positional()[0];
  uint64_t until = std::numeric_limits<uint64_t>::max();
  if (std::optional<std::string> u = args->Get("until")) {
    auto [end, ec] = std::from_chars(u->data(), u->data() + u->size(), until);
    if (ec != std::errc() || end != u->data() + u->size() || until == 0) {
      return PrintError(InvalidArgumentError("replay: --until " + *u + ": expected a seq >= 1"));
    }
  }
  Result<std::unique_ptr<Journal>> journal =
      OpenJournalForTool(*args->Get("journal"), JournalUse::kRead);
  if (!journal.ok()) return PrintError(journal.status());
  Result<std::unique_ptr<StepRegistry>> registry = MakeRegistry();
  if (!registry.ok()) return PrintError(registry.status());
  Result<LoadedRun> run = LoadRun(**journal, **registry, id, until);
  if (!run.ok()) return PrintError(run.status().WithContext("replay " + id));

  if (args->Has("json")) {
    Value out = RunToValue(run->view);
    out.as_map()["replayed"] = static_cast<int64_t>(run->applied);
    if (!run->problem.ok()) out.as_map()["problem"] = run->problem.message();
    std::cout << PrettyJson(out);
  } else {
    std::cout << "replayed " << run->applied << " of " << run->events.size() << " record(s)"
              << (args->Has("until") ? " (--until " + *args->Get("until") + ")" : "") << "\n";
    PrintRun(run->view, run->applied, std::cout);
  }
  if (!run->problem.ok()) {
    std::cerr << "brfedctl replay: stopped at seq " << run->applied + 1 << ": "
              << run->problem.message() << "\n";
    return kExitNo;
  }
  return kExitOk;
}

}  // namespace brfed::ctl
