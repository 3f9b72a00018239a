// brfedctl verify --journal DIR: checks every run — records decodable, seqs without gaps,
// definitions present and loadable, active index consistent (the journal's own Verify), and
// that every run's records replay through the state machine. Damage is printed as
// "run ID seq N: what" lines; exit 1 when there is any.

#include <algorithm>
#include <iostream>

#include "tools/brfedctl/args.h"
#include "tools/brfedctl/cli.h"
#include "tools/brfedctl/journal_access.h"
#include "tools/brfedctl/run_loader.h"

namespace brfed::ctl {

int Verify(const std::vector<std::string>& argv) {
  Result<Args> args = Args::Parse("verify", argv, {{"journal", true}});
  if (!args.ok()) return PrintError(args.status());
  if (!args->Has("journal") || !args->positional().empty()) {
    return PrintError(InvalidArgumentError("usage: brfedctl verify --journal DIR"));
  }
  const std::string dir = *args->Get("journal");
  Result<std::unique_ptr<Journal>> journal =
      OpenJournalForTool(dir, JournalUse::kRead);
  if (!journal.ok()) return PrintError(journal.status());
  Result<std::unique_ptr<StepRegistry>> registry = MakeRegistry();
  if (!registry.ok()) return PrintError(registry.status());

  Result<std::vector<Journal::Problem>> found = (*journal)->Verify();
  if (!found.ok()) return PrintError(found.status().WithContext("verify: journal " + dir));
  std::vector<Journal::Problem> problems = std::move(found).value();

  // The storage checks say the bytes are sound; replaying says the records make sense.
  Result<std::vector<std::string>> runs = (*journal)->ListRuns();
  if (!runs.ok()) return PrintError(runs.status().WithContext("verify: journal " + dir));
  uint64_t records = 0;
  RunLoader loader(**journal, **registry);
  for (const std::string& id : *runs) {
    bool reported = std::any_of(problems.begin(), problems.end(),
                                [&](const Journal::Problem& p) { return p.run_id == id; });
    Result<LoadedRun> run = loader.Load(id);
    if (!run.ok()) {
      if (!reported) problems.push_back({id, 0, run.status().message()});
      continue;
    }
    records += run->events.size();
    if (!run->problem.ok() && !reported) {
      uint64_t seq = run->applied < run->events.size() ? run->events[run->applied].seq : 0;
      problems.push_back({id, seq, "replay: " + run->problem.message()});
    }
  }

  for (const Journal::Problem& p : problems) std::cout << p.ToString() << "\n";
  if (!problems.empty()) {
    std::cerr << "brfedctl verify: journal " << dir << " is damaged: " << problems.size()
              << " problem(s) in " << runs->size() << " run(s)\n";
    return kExitNo;
  }
  std::cout << "journal " << dir << ": " << runs->size() << " run(s), " << records
            << " record(s), healthy\n";
  return kExitOk;
}

}  // namespace brfed::ctl
