// brfedctl run --journal DIR --run-id ID [--param NAME=VALUE]... FILE.yaml
//
// Runs a workflow to its end with the real engine and journal. When DIR already holds run ID
// unfinished, the run resumes from its journaled definition (FILE and --param are then not
// read); when it is finished, only its result is printed. Exit 0 when the run succeeded, 1
// when it failed or was cancelled, 2 when it could not run. Progress goes to stderr when
// stderr is a terminal.

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <mutex>

#include "brfed/engine.h"
#include "tools/brfedctl/args.h"
#include "tools/brfedctl/cli.h"
#include "tools/brfedctl/format.h"
#include "tools/brfedctl/journal_access.h"
#include "tools/brfedctl/run_loader.h"
#include "tools/brfedctl/yaml_value.h"

namespace brfed::ctl {
namespace {

constexpr char kUsage[] =
    "usage: brfedctl run --journal DIR --run-id ID [--param NAME=VALUE]... FILE.yaml";

// Fills *params (a map) from NAME=VALUE flags.
Status ParseParams(const std::vector<std::string>& flags, Value* params) {
  *params = Value::Map{};
  for (const std::string& f : flags) {
    size_t eq = f.find('=');
    if (eq == 0 || eq == std::string::npos) {
      return InvalidArgumentError("--param " + f + ": expected NAME=VALUE");
    }
    std::string name = f.substr(0, eq);
    ASSIGN_OR_RETURN(Value v, ParseYamlValue(f.substr(eq + 1), "--param " + name));
    params->as_map()[name] = std::move(v);
  }
  return Status::OK();
}

// Prints one line per instance transition of one run. Called on the engine thread only.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(std::string run_id) : run_id_(std::move(run_id)) {}

  void OnChange(const RunView& v) {
    if (v.run_id != run_id_) return;
    if (base_ == TimePoint{}) base_ = v.started_at;
    TimePoint now = std::chrono::time_point_cast<Duration>(Clock::now());
    for (const InstanceView& i : v.instances) {
      std::string label = (i.is_finally ? "finally/" : "") + InstanceLabel(i);
      std::string line = std::string(InstanceStateName(i.state));
      if (i.attempt > 0 && !IsTerminal(i.state)) line += " (attempt " + std::to_string(i.attempt) + ")";
      if (i.state == InstanceState::kBackoff && !i.last_error.ok()) {
        line += ": " + i.last_error.ToString();
      }
      if (i.state == InstanceState::kRunning && !i.observed.empty()) line += ": " + i.observed;
      auto [it, inserted] = last_.emplace(label, line);
      if (!inserted && it->second == line) continue;
      it->second = line;
      if (i.state == InstanceState::kPending && inserted) continue;  // the start state
      Print(now, label, line);
    }
    std::string run_line = std::string(RunStateName(v.state));
    if (run_line != run_state_) {
      run_state_ = run_line;
      Print(now, "run " + run_id_, run_line + (v.message.empty() ? "" : ": " + v.message));
    }
  }

 private:
  void Print(TimePoint now, const std::string& what, const std::string& line) {
    std::cerr << "  " << FormatOffset(now, base_) << "  " << what
              << std::string(what.size() < 22 ? 22 - what.size() : 1, ' ') << line << "\n";
  }

  std::string run_id_;
  TimePoint base_{};
  std::map<std::string, std::string> last_;
  std::string run_state_;
};

int PrintResult(const RunView& v, uint64_t records) {
  std::string took = v.finished_at >= v.started_at && v.finished_at != TimePoint{}
                         ? " in " + FormatDuration(v.finished_at - v.started_at)
                         : "";
  std::cout << "run " << v.run_id << ": " << RunStateName(v.state) << took << " (" << records
            << " records)" << (v.message.empty() ? "" : ": " + v.message) << "\n";
  return v.state == RunState::kSucceeded ? kExitOk : kExitNo;
}

}  // namespace

int Run(const std::vector<std::string>& argv) {
  Result<Args> args =
      Args::Parse("run", argv, {{"journal", true}, {"run-id", true}, {"param", true}});
  if (!args.ok()) return PrintError(args.status());
  if (!args->Has("journal") || !args->Has("run-id") || args->positional().size() != 1) {
    return PrintError(InvalidArgumentError(kUsage));
  }
  const std::string dir = *args->Get("journal");
  const std::string run_id = *args->Get("run-id");
  const std::string file = args->positional()[0];
  if (run_id.empty()) return PrintError(InvalidArgumentError("run: --run-id is empty"));
  Value params;
  if (Status s = ParseParams(args->GetAll("param"), &params); !s.ok()) {
    return PrintError(s.WithContext("run"));
  }

  Result<std::unique_ptr<StepRegistry>> registry = MakeRegistry();
  if (!registry.ok()) return PrintError(registry.status());
  Env* env = Env::Default();
  Result<std::unique_ptr<Journal>> journal = OpenJournalForTool(dir, JournalUse::kReadWrite);
  if (!journal.ok()) return PrintError(journal.status());

  // An existing run: print it when finished, else resume it from the journal.
  Result<std::vector<std::string>> runs = (*journal)->ListRuns();
  if (!runs.ok()) return PrintError(runs.status().WithContext("run: journal " + dir));
  bool exists = std::binary_search(runs->begin(), runs->end(), run_id);
  std::shared_ptr<const Workflow> workflow;
  if (exists) {
    Result<LoadedRun> run = RunLoader(**journal, **registry).Load(run_id);
    if (!run.ok()) return PrintError(run.status().WithContext("run " + run_id));
    if (!run->problem.ok()) return PrintError(run->problem.WithContext("run " + run_id));
    if (IsFinished(run->view.state)) {
      std::cerr << "brfedctl run: run " << run_id << " already finished in " << dir << "\n";
      return PrintResult(run->view, run->events.size());
    }
    std::cerr << "brfedctl run: resuming run " << run_id << " at seq " << run->view.last_seq
              << " from its journaled definition (" << file << " and --param are not read)\n";
  } else {
    Result<std::string> text = ReadFile(file);
    if (!text.ok()) return PrintError(text.status().WithContext("run: " + file));
    std::vector<Diagnostic> problems;
    Result<Workflow> wf = LoadWorkflow(*text, file, **registry, &problems);
    if (!wf.ok()) {
      for (const Diagnostic& d : problems) std::cerr << d.ToString() << "\n";
      if (problems.empty()) std::cerr << file << ": " << wf.status().message() << "\n";
      return kExitError;
    }
    workflow = std::make_shared<const Workflow>(std::move(wf).value());
  }

  bool tty = isatty(STDERR_FILENO) == 1;
  auto progress = std::make_shared<ProgressPrinter>(run_id);  // shared with the callback
  EngineOptions options;
  options.env = env;
  options.journal = journal->get();
  options.steps = registry->get();
  if (tty) options.on_run_changed = [progress](const RunView& v) { progress->OnChange(v); };
  Result<std::unique_ptr<Engine>> engine = OpenEngine(std::move(options));
  if (!engine.ok()) return PrintError(engine.status().WithContext("run: journal " + dir));

  if (!exists) {
    Status s = (*engine)->StartRun(run_id, workflow, params);
    if (!s.ok()) return PrintError(s.WithContext("run " + run_id));
  }
  Result<RunView> done = InternalError("not waited");
  do {
    done = (*engine)->WaitRun(run_id, std::chrono::hours(1));
  } while (!done.ok() && done.status().code() == StatusCode::kDeadlineExceeded);
  if (!done.ok()) return PrintError(done.status().WithContext("run " + run_id));
  engine->reset();  // stop the engine before the journal it writes to
  return PrintResult(*done, done->last_seq);
}

}  // namespace brfed::ctl
