// brfedctl replay --journal DIR [--until SEQ] [--json] ID: folds the run's records (up to SEQ)
// through the same state machine recovery uses (engine/replay.h), offline, and prints the
// state it derives in the engine's own text form (engine/run_format.h), the one the golden
// scenario files use.

#include <charconv>
#include <iostream>

#include "engine/replay.h"
#include "engine/run_format.h"
#include "tools/brfedctl/args.h"
#include "tools/brfedctl/cli.h"
#include "tools/brfedctl/format.h"
#include "tools/brfedctl/journal_access.h"
#include "tools/brfedctl/run_loader.h"

namespace brfed::ctl {

int Replay(const std::vector<std::string>& argv) {
  Result<Args> args = Args::Parse(
      "replay", argv, {{"journal", true}, {"until", true}, {"json", false}, {"events", false}});
  if (!args.ok()) return PrintError(args.status());
  if (!args->Has("journal") || args->positional().size() != 1) {
    return PrintError(InvalidArgumentError(
        "usage: brfedctl replay --journal DIR [--until SEQ] [--events] [--json] ID"));
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

  Result<std::vector<Event>> events = (*journal)->ReadRun(id, until);
  if (!events.ok()) return PrintError(events.status().WithContext("replay " + id));
  if (events->empty() || events->front().type != EventType::kRunStarted) {
    return PrintError(DataLossError("replay " + id + ": the run does not start with RunStarted"));
  }
  Result<std::shared_ptr<const Workflow>> workflow =
      RunLoader(**journal, **registry).Definition(events->front().start.get().definition_hash);
  if (!workflow.ok()) return PrintError(workflow.status().WithContext("replay " + id));
  Result<RunMachine> machine = ReplayRun(id, *workflow, *events, until);
  if (!machine.ok()) {
    std::cerr << "brfedctl: " << machine.status().message() << "\n";
    return kExitNo;  // the records do not replay: the journal is damaged
  }
  RunView view = machine->View();
  if (args->Has("json")) {
    Value out = RunViewToValue(view);
    out.as_map()["replayed"] = static_cast<int64_t>(events->size());
    std::cout << PrettyJson(out);
    return kExitOk;
  }
  FormatOptions options{.relative_to = view.started_at};
  if (args->Has("events")) {
    for (const Event& e : *events) std::cout << FormatEventLine(e, options) << "\n";
    std::cout << "\n";
  }
  std::cout << "replayed " << events->size() << " record(s)"
            << (args->Has("until") ? " (--until " + *args->Get("until") + ")" : "") << "\n"
            << FormatRunText(view, options);
  return kExitOk;
}

}  // namespace brfed::ctl
