// Golden scenario scripts (testdata/scenarios/*.txt), run through engine/scenario.h, the same
// machine and replay code as `brfedctl replay`. To regenerate after an intended change:
//   BRFED_REWRITE_GOLDEN=1 ./scenario_test   (or ./scenario_test --rewrite)
// then review `git diff tests/unit/engine/testdata/`.
#include "engine/scenario.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace brfed {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(BRFED_SCENARIO_DIR, ec)) {
    if (entry.path().extension() == ".txt") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// BRFED_REWRITE_GOLDEN=1 in the environment, or --rewrite on the command line.
bool Rewrite() {
  const char* v = std::getenv("BRFED_REWRITE_GOLDEN");
  if (v != nullptr && std::string(v) == "1") return true;
  for (const std::string& arg : testing::internal::GetArgvs()) {
    if (arg == "--rewrite") return true;
  }
  return false;
}

class ScenarioTest : public testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, MatchesGolden) {
  fs::path path = fs::path(BRFED_SCENARIO_DIR) / (GetParam() + ".txt");
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string want = buf.str();

  Result<std::string> got = RunScenario(want, path.filename().string(), ScenarioCatalog());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  if (Rewrite()) {
    std::ofstream out(path, std::ios::trunc);
    out << *got;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    return;
  }
  EXPECT_EQ(*got, want) << "golden output differs; rerun with BRFED_REWRITE_GOLDEN=1 and "
                           "review the diff of "
                        << path;
}

INSTANTIATE_TEST_SUITE_P(Golden, ScenarioTest, testing::ValuesIn(ScenarioFiles()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(ScenarioFilesTest, ThereAreScenarios) { EXPECT_GE(ScenarioFiles().size(), 10u); }

// The runner itself: a stale golden output is replaced, a bad command is an error naming the
// line, and a record the machine rejects is printed, not journaled.
TEST(ScenarioRunnerTest, RegeneratesOutputAndReportsBadCommands) {
  const std::string script =
      "# a comment\n"
      "workflow\n"
      "  name: one\n"
      "  steps:\n"
      "    - {id: a, action: test.noop}\n"
      "----\n"
      "stale output\n"
      "\n"
      "start run=r1 at=0s\n"
      "\n"
      "result step=a done at=1s\n";
  Result<std::string> got = RunScenario(script, "s.txt", ScenarioCatalog());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got,
            "# a comment\n"
            "workflow\n"
            "  name: one\n"
            "  steps:\n"
            "    - {id: a, action: test.noop}\n"
            "----\n"
            "loaded one steps=1 finally=0\n"
            "\n"
            "start run=r1 at=0s\n"
            "----\n"
            "1 RunStarted t=+0s workflow=one hash=" +
                got->substr(got->find("hash=") + 5, 12) +
                " seed=0 params={}\n"
                "\n"
                "result step=a done at=1s\n"
                "----\n"
                "error: DATA_LOSS: run r1 seq 2: AttemptSucceeded for a attempt 0, which is not "
                "running (Ready, attempt 0)\n");

  struct {
    const char* script;
    const char* want;
  } bad[] = {
      {"frobnicate at=1s\n", "INVALID_ARGUMENT: s.txt:1: unknown command \"frobnicate\""},
      {"state\n", "FAILED_PRECONDITION: s.txt:1: no run"},
      {"  indented\n", "s.txt:1: expected a command"},
      {"workflow\n  name: w\n  steps:\n    - {id: a, action: test.noop}\n\nstart run=r at=1s bogus=2\n",
       "INVALID_ARGUMENT: s.txt:6: unknown argument bogus"},
      {"workflow\n  name: w\n  steps:\n    - {id: a, action: test.noop}\n\nstart run=r\n", "INVALID_ARGUMENT: s.txt:6: start needs at="},
      {"workflow\n  name: w\n  steps:\n    - {id: a, action: test.noop}\n\nstart run=r params={\"a\": at=1s\n",
       "unterminated value of params"},
  };
  for (const auto& c : bad) {
    SCOPED_TRACE(c.script);
    Result<std::string> r = RunScenario(c.script, "s.txt", ScenarioCatalog());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().ToString().find(c.want), std::string::npos) << r.status().ToString();
  }
}

}  // namespace
}  // namespace brfed
