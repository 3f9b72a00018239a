// brfedctl inspect --journal DIR [--json] list | show ID | timeline ID | why ID
//
// Reads the journal offline and shows runs (list), one run's step instances (show), its
// records in order (timeline) and what an unfinished run is waiting on (why).

#include <iostream>

#include "engine/run_format.h"
#include "tools/brfedctl/args.h"
#include "tools/brfedctl/cli.h"
#include "tools/brfedctl/format.h"
#include "tools/brfedctl/journal_access.h"
#include "tools/brfedctl/run_loader.h"
#include "tools/brfedctl/table.h"

namespace brfed::ctl {
namespace {

constexpr char kUsage[] =
    "usage: brfedctl inspect --journal DIR [--json] list | show ID | timeline ID | why ID";

struct Context {
  std::unique_ptr<Journal> journal;
  std::unique_ptr<StepRegistry> registry;
  std::unique_ptr<RunLoader> loader;
  bool json = false;
};

// Prints a replay problem under the output; the run is still shown up to it.
void ReportProblem(const LoadedRun& run) {
  if (!run.problem.ok()) {
    std::cerr << "brfedctl inspect: warning: state derived up to seq " << run.applied << ": "
              << run.problem.message() << "\n";
  }
}

int List(Context& c) {
  Result<std::vector<std::string>> ids = c.journal->ListRuns();
  if (!ids.ok()) return PrintError(ids.status().WithContext("inspect list"));
  Table table({"RUN", "WORKFLOW", "STATE", "STEPS", "RECORDS", "STARTED", "FINISHED", "MESSAGE"});
  Value::List json;
  bool damaged = false;
  for (const std::string& id : *ids) {
    Result<LoadedRun> run = c.loader->Load(id);
    if (!run.ok()) {
      damaged = true;
      table.AddRow({id, "?", "Damaged", "", "", "", "", run.status().message()});
      Value entry = Value::Map{};
      entry.as_map()["run_id"] = id;
      entry.as_map()["problem"] = run.status().message();
      json.push_back(std::move(entry));
      continue;
    }
    const RunView& v = run->view;
    std::string message = v.message;
    if (!run->problem.ok()) {
      damaged = true;
      message = run->problem.message();
    }
    table.AddRow({id, v.workflow_name, std::string(RunStateName(v.state)), StepsSummary(v),
                  std::to_string(run->events.size()), FormatTime(v.started_at),
                  FormatTime(v.finished_at), message});
    Value entry = Value::Map{};
    Value::Map& m = entry.as_map();
    m["run_id"] = id;
    m["workflow"] = v.workflow_name;
    m["state"] = std::string(RunStateName(v.state));
    m["steps"] = StepsSummary(v);
    m["last_seq"] = static_cast<int64_t>(run->events.size());
    m["started_at_ms"] = MillisValue(v.started_at);
    m["finished_at_ms"] = MillisValue(v.finished_at);
    m["message"] = v.message;
    if (!run->problem.ok()) m["problem"] = run->problem.message();
    json.push_back(std::move(entry));
  }
  if (c.json) {
    std::cout << PrettyJson(Value(std::move(json)));
  } else {
    table.Print(std::cout);
  }
  if (damaged) std::cerr << "brfedctl inspect: some runs are damaged; run `brfedctl verify`\n";
  return kExitOk;
}

int Show(Context& c, LoadedRun& run) {
  const RunView& v = run.view;
  if (c.json) {
    Value out = RunViewToValue(v);
    if (!run.problem.ok()) out.as_map()["problem"] = run.problem.message();
    std::cout << PrettyJson(out);
    return kExitOk;
  }
  PrintRun(v, run.events.size(), std::cout);
  ReportProblem(run);
  return kExitOk;
}

int Timeline(Context& c, LoadedRun& run) {
  if (c.json) {
    Value::List events;
    for (const Event& e : run.events) events.push_back(brfed::EventToValue(e));
    std::cout << PrettyJson(Value(std::move(events)));
    return kExitOk;
  }
  TimePoint base = run.events.empty() ? TimePoint{} : run.events.front().time;
  Table table({"SEQ", "TIME", "+", "EVENT", "STEP", "DETAIL"});
  for (const Event& e : run.events) {
    table.AddRow({std::to_string(e.seq), FormatTime(e.time), FormatOffset(e.time, base),
                  std::string(EventTypeName(e.type)), InstanceLabel(e), EventDetail(e)});
  }
  table.Print(std::cout);
  return kExitOk;
}

// What one unfinished instance waits on, or "" when it waits on nothing.
std::string WaitReason(const LoadedRun& run, const InstanceView& i, TimePoint now,
                       TimePoint* until) {
  const RunView& v = run.view;
  auto in = [&](TimePoint t) {
    return FormatTime(t) + (t > now ? " (in " + FormatDuration(t - now) + ")" : " (past)");
  };
  switch (i.state) {
    case InstanceState::kPending: {
      if (i.is_finally && v.state == RunState::kRunning) return "the main graph to end";
      std::string deps;
      const StepDef* def = run.workflow ? run.workflow->FindStep(i.step_id) : nullptr;
      if (def != nullptr) {
        for (const std::string& need : def->needs) {
          int total = 0, done = 0;
          std::string state;
          for (const InstanceView& d : v.instances) {
            if (d.step_id != need) continue;
            ++total;
            done += d.state == InstanceState::kSucceeded;
            state = std::string(InstanceStateName(d.state));
          }
          if (total > 0 && done == total) continue;
          if (!deps.empty()) deps += ", ";
          deps += "dependency " + need + " not done (" +
                  (total == 1 ? state : std::to_string(done) + "/" + std::to_string(total) +
                                            " succeeded") +
                  ")";
        }
      }
      return deps.empty() ? "its dependencies (expansion pending)" : deps;
    }
    case InstanceState::kReady:
      return "attempt " + std::to_string(i.attempt + 1) + " to start (ready)";
    case InstanceState::kRunning: {
      std::string r = "attempt " + std::to_string(i.attempt) + " running since " +
                      FormatTime(i.attempt_started_at);
      if (i.next_time) {
        r += ", attempt deadline " + in(*i.next_time);
        *until = *i.next_time;
      }
      r += i.observed.empty() ? ", nothing observed yet" : ", last observed: " + i.observed;
      return r;
    }
    case InstanceState::kBackoff: {
      std::string r = "backoff";
      if (i.next_time) {
        r += " until " + in(*i.next_time);
        *until = *i.next_time;
      }
      r += ", then attempt " + std::to_string(i.attempt + 1);
      if (!i.last_error.ok()) r += "; attempt " + std::to_string(i.attempt) + " failed: " +
                                   i.last_error.ToString();
      return r;
    }
    default:
      return "";
  }
}

int Why(Context& c, LoadedRun& run) {
  const RunView& v = run.view;
  TimePoint now = std::chrono::time_point_cast<Duration>(Clock::now());
  Value::List waiting;
  Table table({"STEP", "STATE", "WAITS FOR"});
  for (const InstanceView& i : v.instances) {
    TimePoint until{};
    std::string reason = WaitReason(run, i, now, &until);
    if (reason.empty()) continue;
    std::string label = (i.is_finally ? "finally/" : "") + InstanceLabel(i);
    table.AddRow({label, std::string(InstanceStateName(i.state)), reason});
    Value w = Value::Map{};
    Value::Map& m = w.as_map();
    m["step"] = i.step_id;
    m["item_index"] = i.item_index;
    m["finally"] = i.is_finally;
    m["state"] = std::string(InstanceStateName(i.state));
    m["attempt"] = i.attempt;
    m["reason"] = reason;
    m["until_ms"] = MillisValue(until);
    waiting.push_back(std::move(w));
  }
  std::string summary;
  if (IsFinished(v.state)) {
    summary = "run " + v.run_id + " finished " + std::string(RunStateName(v.state)) + " at " +
              FormatTime(v.finished_at) + (v.message.empty() ? "" : ": " + v.message) +
              "; it waits on nothing";
  } else {
    summary = "run " + v.run_id + " is " + std::string(RunStateName(v.state)) + "; " +
              std::to_string(waiting.size()) + " step instance(s) unfinished";
  }
  if (c.json) {
    Value out = Value::Map{};
    out.as_map()["run_id"] = v.run_id;
    out.as_map()["state"] = std::string(RunStateName(v.state));
    out.as_map()["summary"] = summary;
    out.as_map()["waiting"] = std::move(waiting);
    std::cout << PrettyJson(out);
    return kExitOk;
  }
  std::cout << summary << "\n";
  if (table.rows() > 0) {
    std::cout << "\n";
    table.Print(std::cout);
  }
  ReportProblem(run);
  return kExitOk;
}

}  // namespace

int Inspect(const std::vector<std::string>& argv) {
  Result<Args> args = Args::Parse("inspect", argv, {{"journal", true}, {"json", false}});
  if (!args.ok()) return PrintError(args.status());
  const auto& pos = args->positional();
  if (!args->Has("journal") || pos.empty()) return PrintError(InvalidArgumentError(kUsage));
  const std::string& what = pos[0];
  bool needs_id = what == "show" || what == "timeline" || what == "why";
  if (what != "list" && !needs_id) {
    return PrintError(InvalidArgumentError("inspect: unknown view \"" + what + "\"\n" + kUsage));
  }
  if (pos.size() != (needs_id ? 2u : 1u)) return PrintError(InvalidArgumentError(kUsage));

  Context c;
  c.json = args->Has("json");
  Result<std::unique_ptr<Journal>> journal =
      OpenJournalForTool(*args->Get("journal"), JournalUse::kRead);
  if (!journal.ok()) return PrintError(journal.status());
  c.journal = std::move(journal).value();
  Result<std::unique_ptr<StepRegistry>> registry = MakeRegistry();
  if (!registry.ok()) return PrintError(registry.status());
  c.registry = std::move(registry).value();
  c.loader = std::make_unique<RunLoader>(*c.journal, *c.registry);

  if (what == "list") return List(c);
  Result<LoadedRun> run = c.loader->Load(pos[1]);
  if (!run.ok()) return PrintError(run.status().WithContext("inspect " + what + " " + pos[1]));
  if (what == "show") return Show(c, *run);
  if (what == "timeline") return Timeline(c, *run);
  return Why(c, *run);
}

}  // namespace brfed::ctl
