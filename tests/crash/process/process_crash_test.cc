// Process crash test (issue 2 §6, DESIGN §9): `brfedctl run` of a fan-out workflow with
// retries, sleeps and a finally step is SIGKILLed right after its Nth journal record became
// durable (BRFED_CRASH_AFTER_RECORDS=N, a failpoint inside storage/), for every N from 1 to the
// run's total, and each time resumed with a plain `brfedctl run` until it ends. Every time:
// the run succeeds, each test.append key is in the output file exactly once, and
// `brfedctl verify` finds the journal healthy.

#include <signal.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "brfed/value.h"
#include "tests/integration/brfedctl/cli_runner.h"

namespace brfed {
namespace {

using testing::CliResult;
using testing::CliRunner;

constexpr char kRunId[] = "crash";

// What the workflow's test.append steps write, one line per step instance.
const std::map<std::string, std::string>& ExpectedLines() {
  static const auto* lines = new std::map<std::string, std::string>{
      {"crash:prepare", "prepare"},   {"crash:write:0", "zone a"}, {"crash:write:1", "zone b"},
      {"crash:write:2", "zone c"},    {"crash:cleanup", "cleanup"},
  };
  return *lines;
}

class ProcessCrashTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = testing::MakeTempDir("brfed-crash"); }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(root_);
  }

  std::vector<std::string> RunArgs(const std::string& journal, const std::string& out) const {
    return {"run", "--journal", journal, "--run-id", kRunId, "--param", "out=" + out,
            CRASH_WORKFLOW};
  }

  // Checks the output file: every expected key exactly once with its text, nothing else.
  void ExpectEachKeyOnce(const std::string& out) const {
    std::map<std::string, int> seen;
    std::istringstream lines(testing::ReadFileOrEmpty(out));
    std::string line;
    while (std::getline(lines, line)) {
      std::string key = line.substr(0, line.find(' '));
      std::string text = line.size() > key.size() ? line.substr(key.size() + 1) : "";
      auto it = ExpectedLines().find(key);
      if (it == ExpectedLines().end()) {
        ADD_FAILURE() << "unexpected line \"" << line << "\" in " << out;
        continue;
      }
      EXPECT_EQ(text, it->second) << "key " << key;
      ++seen[key];
    }
    for (const auto& [key, text] : ExpectedLines()) {
      EXPECT_EQ(seen[key], 1) << "key " << key << " appears " << seen[key] << " times in " << out;
    }
  }

  void ExpectVerifiesClean(const std::string& journal) const {
    CliResult v = ctl_.Run({"verify", "--journal", journal});
    EXPECT_EQ(v.exit_code, 0) << v.Describe();
  }

  // The run's number of records, from `inspect --json show`.
  uint64_t LastSeq(const std::string& journal) const {
    CliResult r = ctl_.Run({"inspect", "--journal", journal, "--json", "show", kRunId});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    Result<Value> v = Value::FromJson(r.out);
    if (!v.ok()) {
      ADD_FAILURE() << "inspect --json show: " << v.status().ToString() << "\n" << r.out;
      return 0;
    }
    const Value* state = v->Find("state");
    EXPECT_TRUE(state != nullptr && state->is_string() && state->as_string() == "Succeeded")
        << r.out;
    const Value* seq = v->Find("last_seq");
    if (seq == nullptr || !seq->is_int()) {
      ADD_FAILURE() << "no last_seq in " << r.out;
      return 0;
    }
    return static_cast<uint64_t>(seq->as_int());
  }

  CliRunner ctl_{BRFEDCTL_PATH};
  std::string root_;
};

TEST_F(ProcessCrashTest, UncrashedRunAppendsEveryKeyOnce) {
  std::string journal = root_ + "/journal", out = root_ + "/out.txt";
  CliResult r = ctl_.Run(RunArgs(journal, out));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ExpectEachKeyOnce(out);
  ExpectVerifiesClean(journal);
  EXPECT_GT(LastSeq(journal), 10u);

  // Running a finished run again only prints its result; no step runs twice.
  CliResult again = ctl_.Run(RunArgs(journal, out));
  EXPECT_EQ(again.exit_code, 0) << again.Describe();
  ExpectEachKeyOnce(out);
}

TEST_F(ProcessCrashTest, KilledAfterEveryRecordResumesToTheSameEnd) {
  // The uncrashed run tells how many records there are to crash after.
  uint64_t total = 0;
  {
    std::string journal = root_ + "/baseline", out = root_ + "/baseline.txt";
    CliResult r = ctl_.Run(RunArgs(journal, out));
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    total = LastSeq(journal);
    ASSERT_GT(total, 10u);
  }

  for (uint64_t n = 1; n <= total; ++n) {
    SCOPED_TRACE("BRFED_CRASH_AFTER_RECORDS=" + std::to_string(n) + " of " +
                 std::to_string(total));
    std::string dir = root_ + "/n" + std::to_string(n);
    std::string journal = dir + "/journal", out = dir + "/out.txt";
    std::filesystem::create_directories(dir);

    CliResult crashed =
        ctl_.Run(RunArgs(journal, out), {{"BRFED_CRASH_AFTER_RECORDS", std::to_string(n)}});
    if (crashed.signal == 0) {
      // The run journaled fewer records than N this time (an Observed record depends on
      // whether a sleep was already over when first reconciled), so it ended uncrashed.
      ASSERT_EQ(crashed.exit_code, 0) << crashed.Describe();
      ASSERT_LT(LastSeq(journal), n) << "exited without crashing although N records existed";
      ExpectEachKeyOnce(out);
      std::filesystem::remove_all(dir);
      continue;
    }
    ASSERT_EQ(crashed.signal, SIGKILL) << crashed.Describe();

    // Resume until the run ends; without the failpoint one resume is enough, a few are
    // allowed so a failure shows what the later resumes did.
    CliResult resumed;
    for (int i = 0; i < 3; ++i) {
      resumed = ctl_.Run(RunArgs(journal, out));
      if (resumed.signal == 0) break;
    }
    ASSERT_EQ(resumed.exit_code, 0) << resumed.Describe();
    ExpectEachKeyOnce(out);
    ExpectVerifiesClean(journal);
    EXPECT_GE(LastSeq(journal), n) << "the records before the crash are all kept";
    if (HasFailure()) break;  // one broken N is enough to debug; don't flood the log
    std::filesystem::remove_all(dir);
  }
}

}  // namespace
}  // namespace brfed
