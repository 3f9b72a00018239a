// CliRunner: runs a brfedctl process for the CLI and crash tests and reports how it ended.
//
//   CliRunner ctl(BRFEDCTL_PATH);
//   CliResult r = ctl.Run({"validate", "bad.yaml"});
//   EXPECT_EQ(r.exit_code, 1) << r.err;
//   CliResult k = ctl.Run({"run", ...}, {{"BRFED_CRASH_AFTER_RECORDS", "3"}});
//   EXPECT_EQ(k.signal, SIGKILL);
//
// The child gets this process's environment minus BRFED_CRASH_AFTER_RECORDS, plus `env`.
// stdout and stderr are captured whole (through temporary files, so nothing can dead-lock).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace brfed::testing {

struct CliResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that ended it, 0 when it exited
  std::string out;
  std::string err;
  // "exit 1" / "signal 9", then stderr: for assertion messages.
  std::string Describe() const;
};

class CliRunner {
 public:
  explicit CliRunner(std::string binary);
  CliResult Run(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {}) const;

 private:
  std::string binary_;
};

// A fresh directory under the test temp dir, e.g. /tmp/brfed-cli-XXXXXX.
std::string MakeTempDir(const std::string& prefix);

// The whole file, or "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace brfed::testing
