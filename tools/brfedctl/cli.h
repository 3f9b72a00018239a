// Pieces every brfedctl subcommand shares: exit codes, the action registry, time formatting
// and error printing.
//
// Exit codes (the same for every subcommand):
//   0  success: valid, run succeeded, journal healthy;
//   1  the answer is "no": an invalid definition, a failed or cancelled run, a damaged journal;
//   2  brfedctl could not answer: bad command line, journal missing or locked, unknown run.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/env.h"
#include "brfed/status.h"
#include "brfed/step.h"

namespace brfed::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNo = 1;
inline constexpr int kExitError = 2;

// Every action this binary knows: the built-in test.* actions and the federation actions
// (kube.*, backup.*, restore.*; only test.* can run under `brfedctl run`).
Result<std::unique_ptr<StepRegistry>> MakeRegistry();

// "2024-05-01T12:00:00.123Z"; "-" for the zero time point.
std::string FormatTime(TimePoint t);
// "+1.250s" relative to `base`; "-" when `t` is the zero time point.
std::string FormatOffset(TimePoint t, TimePoint base);

// The whole content of a regular file; kNotFound / kInvalidArgument naming what is wrong.
Result<std::string> ReadFile(const std::string& path);

// Prints "brfedctl: <message>" to stderr and returns kExitError.
int PrintError(const Status& s);

// Subcommands. `argv` holds the arguments after the subcommand name.
int Validate(const std::vector<std::string>& argv);
int Run(const std::vector<std::string>& argv);
int Inspect(const std::vector<std::string>& argv);
int Replay(const std::vector<std::string>& argv);
int Verify(const std::vector<std::string>& argv);
int Graph(const std::vector<std::string>& argv);
int Plan(const std::vector<std::string>& argv);  // plan.cc

}  // namespace brfed::ctl
