// brfedctl: the operator's offline tool for brfed workflows and journals.
//
//   brfedctl validate FILE...
//   brfedctl run --journal DIR --run-id ID [--param NAME=VALUE]... FILE.yaml
//   brfedctl inspect --journal DIR [--json] list | show ID | timeline ID | why ID
//   brfedctl replay --journal DIR [--until SEQ] [--json] ID
//   brfedctl verify --journal DIR
//   brfedctl graph --journal DIR ID
//   brfedctl plan [--kubeconfig FILE] [--workflows-dir DIR] [--dot] CR.yaml

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "tools/brfedctl/cli.h"

namespace {

constexpr std::string_view kUsage =
    "usage: brfedctl COMMAND [ARGS]\n"
    "\n"
    "  validate FILE...                       check workflow definitions (FILE:LINE:COL: reason)\n"
    "  run --journal DIR --run-id ID [--param NAME=VALUE]... FILE.yaml\n"
    "                                         run a workflow to its end, resuming run ID if the\n"
    "                                         journal holds it unfinished\n"
    "  inspect --journal DIR [--json] list | show ID | timeline ID | why ID\n"
    "                                         runs, their steps, their records, what they wait on\n"
    "  replay --journal DIR [--until SEQ] [--events] [--json] ID\n"
    "                                         re-derive a run's state from its records\n"
    "  verify --journal DIR                   check every run's records and definitions\n"
    "  graph --journal DIR ID                 the run's step graph in DOT, coloured by state\n"
    "  plan [--kubeconfig FILE] [--workflows-dir DIR] [--dot] CR.yaml\n"
    "                                         validate a VolumeBackup/VolumeRestore and print the\n"
    "                                         step graph it would run\n"
    "\n"
    "exit codes: 0 yes/ok, 1 no (invalid, run failed, journal damaged), 2 could not answer\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? brfed::ctl::kExitError : brfed::ctl::kExitOk;
  }
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "validate") return brfed::ctl::Validate(args);
  if (command == "run") return brfed::ctl::Run(args);
  if (command == "inspect") return brfed::ctl::Inspect(args);
  if (command == "replay") return brfed::ctl::Replay(args);
  if (command == "verify") return brfed::ctl::Verify(args);
  if (command == "graph") return brfed::ctl::Graph(args);
  if (command == "plan") return brfed::ctl::Plan(args);
  std::cerr << "brfedctl: unknown command \"" << command << "\"\n\n" << kUsage;
  return brfed::ctl::kExitError;
}
