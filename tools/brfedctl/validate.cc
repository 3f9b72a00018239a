// brfedctl validate FILE...: loads each workflow definition against every action this binary
// knows and prints one "FILE:LINE:COL: reason" line per problem.

#include <iostream>

#include "brfed/workflow.h"
#include "tools/brfedctl/args.h"
#include "tools/brfedctl/cli.h"

namespace brfed::ctl {

int Validate(const std::vector<std::string>& argv) {
  Result<Args> args = Args::Parse("validate", argv, {});
  if (!args.ok()) return PrintError(args.status());
  if (args->positional().empty()) {
    return PrintError(InvalidArgumentError("usage: brfedctl validate FILE..."));
  }
  Result<std::unique_ptr<StepRegistry>> registry = MakeRegistry();
  if (!registry.ok()) return PrintError(registry.status());

  int invalid = 0;
  for (const std::string& file : args->positional()) {
    Result<std::string> text = ReadFile(file);
    if (!text.ok()) {
      std::cout << file << ":0:0: " << text.status().message() << "\n";
      ++invalid;
      continue;
    }
    std::vector<Diagnostic> problems;
    Result<Workflow> wf = LoadWorkflow(*text, file, **registry, &problems);
    if (wf.ok()) continue;
    ++invalid;
    if (problems.empty()) {
      // The loader promises diagnostics; never hide a failure if one comes without them.
      std::cout << file << ":0:0: " << wf.status().message() << "\n";
    }
    for (const Diagnostic& d : problems) std::cout << d.ToString() << "\n";
  }
  if (invalid == 0) {
    std::cerr << "brfedctl validate: " << args->positional().size() << " file(s) valid\n";
    return kExitOk;
  }
  return kExitNo;
}

}  // namespace brfed::ctl
