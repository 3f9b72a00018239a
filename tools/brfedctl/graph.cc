// brfedctl graph --journal DIR ID: the run's step graph in Graphviz DOT, one node per step
// instance filled with the colour of its state, edges along `needs`, finally steps in their
// own dashed cluster. `brfedctl graph ... | dot -Tsvg > run.svg`.

#include <iostream>
#include <map>

#include "tools/brfedctl/args.h"
#include "tools/brfedctl/cli.h"
#include "tools/brfedctl/format.h"
#include "tools/brfedctl/journal_access.h"
#include "tools/brfedctl/run_loader.h"

namespace brfed::ctl {
namespace {

std::string Quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    if (c == '\n') {
      q += "\\n";
      continue;
    }
    q += c;
  }
  return q + "\"";
}

const char* FillColor(InstanceState s) {
  switch (s) {
    case InstanceState::kPending: return "#e0e0e0";
    case InstanceState::kReady: return "#fff3b0";
    case InstanceState::kRunning: return "#8ecae6";
    case InstanceState::kBackoff: return "#ffb703";
    case InstanceState::kSucceeded: return "#8fd694";
    case InstanceState::kFailed: return "#ef476f";
    case InstanceState::kTimedOut: return "#f4978e";
    case InstanceState::kSkipped: return "#ffffff";
    case InstanceState::kCancelled: return "#b0b0b0";
  }
  return "#ffffff";
}

std::string ConditionText(const RunCondition& c) {
  switch (c.kind) {
    case RunCondition::Kind::kAlways: return "always";
    case RunCondition::Kind::kSucceeded: return "succeeded";
    case RunCondition::Kind::kFailed: return "failed";
    case RunCondition::Kind::kStarted: return "started(" + c.step + ")";
  }
  return "";
}

void PrintNodes(const RunView& v, const StepDef& step, const std::string& indent) {
  for (const InstanceView& i : v.instances) {
    if (i.step_id != step.id) continue;
    std::string label = InstanceLabel(i);
    if (i.item_index >= 0) label += " " + i.item.ToText();
    label += "\n" + std::string(InstanceStateName(i.state));
    if (i.attempt > 1) label += " after " + std::to_string(i.attempt) + " attempts";
    std::cout << indent << Quote("i:" + InstanceLabel(i)) << " [label=" << Quote(label)
              << ", fillcolor=" << Quote(FillColor(i.state))
              << (i.state == InstanceState::kSkipped ? ", style=\"rounded,filled,dashed\"" : "")
              << "];\n";
  }
}

void PrintSteps(const RunView& v, const std::vector<StepDef>& steps, const std::string& indent) {
  for (const StepDef& step : steps) {
    if (step.for_each) {
      std::cout << indent << "subgraph " << Quote("cluster_" + step.id) << " {\n"
                << indent << "  label=" << Quote(step.id + " (forEach, " + step.action + ")")
                << ";\n";
      PrintNodes(v, step, indent + "  ");
      std::cout << indent << "}\n";
    } else {
      PrintNodes(v, step, indent);
    }
  }
}

}  // namespace

int Graph(const std::vector<std::string>& argv) {
  Result<Args> args = Args::Parse("graph", argv, {{"journal", true}});
  if (!args.ok()) return PrintError(args.status());
  if (!args->Has("journal") || args->positional().size() != 1) {
    return PrintError(InvalidArgumentError("usage: brfedctl graph --journal DIR ID"));
  }
  const std::string& id = args->positional()[0];
  Result<std::unique_ptr<Journal>> journal =
      OpenJournalForTool(*args->Get("journal"), JournalUse::kRead);
  if (!journal.ok()) return PrintError(journal.status());
  Result<std::unique_ptr<StepRegistry>> registry = MakeRegistry();
  if (!registry.ok()) return PrintError(registry.status());
  Result<LoadedRun> run = RunLoader(**journal, **registry).Load(id);
  if (!run.ok()) return PrintError(run.status().WithContext("graph " + id));
  if (run->workflow == nullptr) return PrintError(run->problem.WithContext("graph " + id));
  const RunView& v = run->view;
  const Workflow& wf = *run->workflow;

  std::cout << "digraph " << Quote(id) << " {\n"
            << "  label=" << Quote("run " + id + " (" + v.workflow_name + "): " +
                                   std::string(RunStateName(v.state)))
            << ";\n  labelloc=t;\n  rankdir=LR;\n"
            << "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n";
  PrintSteps(v, wf.steps, "  ");
  if (!wf.finally_steps.empty()) {
    std::cout << "  subgraph cluster_finally {\n    label=\"finally\";\n    style=dashed;\n";
    for (const StepDef& step : wf.finally_steps) {
      std::cout << "    // " << step.id << " if: " << ConditionText(step.condition) << "\n";
    }
    PrintSteps(v, wf.finally_steps, "    ");
    std::cout << "  }\n";
  }
  // Edges between every instance of a dependency and every instance of its dependent.
  std::map<std::string, std::vector<std::string>> nodes;
  for (const InstanceView& i : v.instances) nodes[i.step_id].push_back("i:" + InstanceLabel(i));
  auto edges = [&](const std::vector<StepDef>& steps) {
    for (const StepDef& step : steps) {
      for (const std::string& need : step.needs) {
        for (const std::string& from : nodes[need]) {
          for (const std::string& to : nodes[step.id]) {
            std::cout << "  " << Quote(from) << " -> " << Quote(to) << ";\n";
          }
        }
      }
    }
  };
  edges(wf.steps);
  edges(wf.finally_steps);
  std::cout << "}\n";
  if (!run->problem.ok()) {
    std::cerr << "brfedctl graph: warning: state derived up to seq " << run->applied << ": "
              << run->problem.message() << "\n";
  }
  return kExitOk;
}

}  // namespace brfed::ctl
