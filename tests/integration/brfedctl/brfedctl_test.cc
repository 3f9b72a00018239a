// brfedctl end to end, as a process: exit codes and messages of validate, run and resume,
// inspect --json, replay --until, verify on a healthy and on a damaged journal, graph, and the
// errors for a missing journal, an unknown run and a journal locked by another user.

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <leveldb/db.h>

#include "brfed/value.h"
#include "storage/journal.h"
#include "storage/keys.h"
#include "tests/integration/brfedctl/cli_runner.h"

namespace brfed {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::CliResult;
using testing::CliRunner;

std::string Data(const std::string& name) { return std::string(TESTDATA_DIR) + "/" + name; }

class BrfedctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempDir("brfedctl-test");
    journal_ = root_ + "/journal";
    out_ = root_ + "/out.txt";
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(root_);
  }

  CliResult Ctl(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {}) const {
    return ctl_.Run(args, env);
  }
  CliResult RunFanout(const std::string& run_id, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"run", "--journal", journal_, "--run-id", run_id,
                                  "--param", "out=" + out_};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(Data("fanout.yaml"));
    return Ctl(args);
  }
  Value Json(const CliResult& r) const {
    Result<Value> v = Value::FromJson(r.out);
    EXPECT_TRUE(v.ok()) << v.status().ToString() << "\n" << r.Describe();
    return v.ok() ? *v : Value();
  }

  CliRunner ctl_{BRFEDCTL_PATH};
  std::string root_, journal_, out_;
};

TEST_F(BrfedctlTest, ValidateAcceptsValidFiles) {
  CliResult r = Ctl({"validate", Data("fanout.yaml"), Data("fails.yaml")});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "");
}

TEST_F(BrfedctlTest, ValidateNamesFileLineAndColumnOfEachProblem) {
  CliResult r = Ctl({"validate", Data("fanout.yaml"), Data("unknown_key.yaml"),
                     Data("cycle.yaml")});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr(Data("unknown_key.yaml") + ":5:"));
  EXPECT_THAT(r.out, HasSubstr("bogus"));
  EXPECT_THAT(r.out, HasSubstr(Data("cycle.yaml") + ":"));
  EXPECT_THAT(r.out, AllOf(HasSubstr("first"), HasSubstr("second")));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("fanout.yaml")));
}

TEST_F(BrfedctlTest, ValidateReportsAMissingFile) {
  CliResult r = Ctl({"validate", root_ + "/nope.yaml"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.out, StartsWith(root_ + "/nope.yaml:0:0: no such file"));
}

TEST_F(BrfedctlTest, UnknownCommandAndFlagAreUsageErrors) {
  EXPECT_EQ(Ctl({"frobnicate"}).exit_code, 2);
  CliResult r = Ctl({"inspect", "--journal", journal_, "--colour", "list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown flag --colour"));
}

// The lines of the fan-out's output file: its three instances run concurrently, so theirs come
// in any order (sorted here); the finally step's comes last.
std::vector<std::string> FanoutLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (lines.size() > 1) std::sort(lines.begin(), lines.end() - 1);
  return lines;
}

TEST_F(BrfedctlTest, RunSucceedsAndAppendsOnceWithYamlParams) {
  CliResult r = RunFanout("r1", {"--param", "zones=[x, y, z]"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("run r1: Succeeded"));
  const std::vector<std::string> expected = {"r1:write:0 hi x", "r1:write:1 hi y",
                                             "r1:write:2 hi z", "r1:bye bye"};
  EXPECT_EQ(FanoutLines(testing::ReadFileOrEmpty(out_)), expected);

  // A finished run is not run again; its result is printed.
  CliResult again = RunFanout("r1");
  EXPECT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_THAT(again.err, HasSubstr("already finished"));
  EXPECT_EQ(FanoutLines(testing::ReadFileOrEmpty(out_)), expected);
}

TEST_F(BrfedctlTest, FailedRunExitsOneAndRunsItsFinallyStep) {
  CliResult r = Ctl({"run", "--journal", journal_, "--run-id", "f1", Data("fails.yaml")});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.out, AllOf(HasSubstr("Failed"), HasSubstr("disk on fire")));

  Value show = Json(Ctl({"inspect", "--journal", journal_, "--json", "show", "f1"}));
  ASSERT_TRUE(show.is_map());
  const Value* instances = show.Find("instances");
  ASSERT_TRUE(instances != nullptr && instances->is_list());
  ASSERT_EQ(instances->as_list().size(), 2u);
  EXPECT_EQ(instances->as_list()[0].Find("state")->as_string(), "Failed");
  EXPECT_EQ(instances->as_list()[1].Find("state")->as_string(), "Succeeded");
}

TEST_F(BrfedctlTest, BadParamIsAnErrorNamingIt) {
  CliResult r = RunFanout("p1", {"--param", "zones=[a, b"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.err, HasSubstr("--param zones"));
  CliResult r2 = RunFanout("p2", {"--param", "novalue"});
  EXPECT_EQ(r2.exit_code, 2) << r2.Describe();
  EXPECT_THAT(r2.err, HasSubstr("NAME=VALUE"));
}

TEST_F(BrfedctlTest, InspectJsonListsShowsAndTimesTheRun) {
  ASSERT_EQ(RunFanout("r1").exit_code, 0);
  ASSERT_EQ(RunFanout("r2").exit_code, 0);

  Value list = Json(Ctl({"inspect", "--journal", journal_, "--json", "list"}));
  ASSERT_TRUE(list.is_list());
  ASSERT_EQ(list.as_list().size(), 2u);
  EXPECT_EQ(list.as_list()[0].Find("run_id")->as_string(), "r1");
  EXPECT_EQ(list.as_list()[1].Find("state")->as_string(), "Succeeded");

  Value show = Json(Ctl({"inspect", "--journal", journal_, "--json", "show", "r2"}));
  EXPECT_EQ(show.Find("workflow")->as_string(), "cli-fanout");
  EXPECT_EQ(show.Find("instances")->as_list().size(), 4u);  // hello, write[0..1], bye

  Value timeline = Json(Ctl({"inspect", "--journal", journal_, "--json", "timeline", "r2"}));
  ASSERT_TRUE(timeline.is_list());
  const Value::List& events = timeline.as_list();
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.front().Find("type")->as_string(), "RunStarted");
  EXPECT_EQ(events.back().Find("type")->as_string(), "RunFinished");
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].Find("seq")->as_int(), static_cast<int64_t>(i + 1));
  }
  EXPECT_EQ(static_cast<int64_t>(events.size()), show.Find("last_seq")->as_int());

  CliResult table = Ctl({"inspect", "--journal", journal_, "list"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.out, AllOf(StartsWith("RUN"), HasSubstr("r1"), HasSubstr("cli-fanout")));
}

TEST_F(BrfedctlTest, WhyNamesWhatAnUnfinishedRunWaitsOn) {
  CliResult crashed = Ctl({"run", "--journal", journal_, "--run-id", "w1", Data("waits.yaml")},
                          {{"BRFED_CRASH_AFTER_RECORDS", "2"}});
  ASSERT_EQ(crashed.signal, SIGKILL) << crashed.Describe();

  CliResult why = Ctl({"inspect", "--journal", journal_, "why", "w1"});
  EXPECT_EQ(why.exit_code, 0) << why.Describe();
  EXPECT_THAT(why.out, HasSubstr("attempt 1 running since"));
  EXPECT_THAT(why.out, HasSubstr("dependency nap not done (Running)"));

  Value json = Json(Ctl({"inspect", "--journal", journal_, "--json", "why", "w1"}));
  EXPECT_EQ(json.Find("state")->as_string(), "Running");
  ASSERT_EQ(json.Find("waiting")->as_list().size(), 2u);
  EXPECT_EQ(json.Find("waiting")->as_list()[0].Find("step")->as_string(), "nap");

  CliResult list = Ctl({"inspect", "--journal", journal_, "list"});
  EXPECT_THAT(list.out, HasSubstr("Running"));
}

TEST_F(BrfedctlTest, WhyOfAFinishedRunSaysItWaitsOnNothing) {
  ASSERT_EQ(RunFanout("r1").exit_code, 0);
  CliResult why = Ctl({"inspect", "--journal", journal_, "why", "r1"});
  EXPECT_EQ(why.exit_code, 0) << why.Describe();
  EXPECT_THAT(why.out, HasSubstr("finished Succeeded"));
  EXPECT_THAT(why.out, HasSubstr("waits on nothing"));
}

TEST_F(BrfedctlTest, ReplayUntilShowsTheStateAtThatRecord) {
  ASSERT_EQ(RunFanout("r1").exit_code, 0);
  Value at1 = Json(Ctl({"replay", "--journal", journal_, "--until", "1", "--json", "r1"}));
  EXPECT_EQ(at1.Find("state")->as_string(), "Running");
  EXPECT_EQ(at1.Find("last_seq")->as_int(), 1);
  EXPECT_EQ(at1.Find("replayed")->as_int(), 1);

  Value all = Json(Ctl({"replay", "--journal", journal_, "--json", "r1"}));
  EXPECT_EQ(all.Find("state")->as_string(), "Succeeded");
  Value show = Json(Ctl({"inspect", "--journal", journal_, "--json", "show", "r1"}));
  EXPECT_EQ(all.Find("instances")->ToJson(), show.Find("instances")->ToJson())
      << "replay and inspect derive the same state";

  CliResult text = Ctl({"replay", "--journal", journal_, "--until", "2", "--events", "r1"});
  EXPECT_EQ(text.exit_code, 0) << text.Describe();
  EXPECT_THAT(text.out, AllOf(HasSubstr("1 RunStarted"), HasSubstr("replayed 2 record(s)")));

  CliResult bad = Ctl({"replay", "--journal", journal_, "--until", "x", "r1"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--until x"));
}

TEST_F(BrfedctlTest, GraphIsDotWithStateColours) {
  ASSERT_EQ(RunFanout("r1").exit_code, 0);
  CliResult g = Ctl({"graph", "--journal", journal_, "r1"});
  ASSERT_EQ(g.exit_code, 0) << g.Describe();
  EXPECT_THAT(g.out, StartsWith("digraph \"r1\" {"));
  EXPECT_THAT(g.out, HasSubstr("\"i:hello\" -> \"i:write[0]\""));
  EXPECT_THAT(g.out, HasSubstr("\"i:hello\" -> \"i:write[1]\""));
  EXPECT_THAT(g.out, HasSubstr("fillcolor=\"#8fd694\""));  // Succeeded
  EXPECT_THAT(g.out, HasSubstr("cluster_finally"));
  EXPECT_EQ(g.out.back(), '\n');
  EXPECT_THAT(g.out, HasSubstr("}\n"));
}

TEST_F(BrfedctlTest, VerifyPassesAHealthyJournal) {
  ASSERT_EQ(RunFanout("r1").exit_code, 0);
  CliResult v = Ctl({"verify", "--journal", journal_});
  EXPECT_EQ(v.exit_code, 0) << v.Describe();
  EXPECT_THAT(v.out, HasSubstr("healthy"));
}

// Damage written straight into LevelDB, under the journal's key layout.
void Damage(const std::string& dir, const std::function<void(leveldb::DB*)>& fn) {
  leveldb::DB* raw = nullptr;
  leveldb::Options options;
  leveldb::Status s = leveldb::DB::Open(options, dir, &raw);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<leveldb::DB> db(raw);
  fn(db.get());
}

TEST_F(BrfedctlTest, VerifyNamesRunAndSeqOfAGap) {
  ASSERT_EQ(RunFanout("r1").exit_code, 0);
  ASSERT_EQ(RunFanout("r2").exit_code, 0);
  Damage(journal_, [](leveldb::DB* db) {
    ASSERT_TRUE(db->Delete(leveldb::WriteOptions(), storage::RecordKey("r2", 3)).ok());
  });
  CliResult v = Ctl({"verify", "--journal", journal_});
  EXPECT_EQ(v.exit_code, 1) << v.Describe();
  EXPECT_THAT(v.out, AllOf(HasSubstr("r2"), HasSubstr("3")));
  EXPECT_THAT(v.out, ::testing::Not(HasSubstr("r1")));
  EXPECT_THAT(v.err, HasSubstr("damaged"));
}

TEST_F(BrfedctlTest, VerifyNamesRunAndSeqOfAnUndecodableRecord) {
  ASSERT_EQ(RunFanout("r1").exit_code, 0);
  Damage(journal_, [](leveldb::DB* db) {
    ASSERT_TRUE(
        db->Put(leveldb::WriteOptions(), storage::RecordKey("r1", 2), "\xff\xfenot a record").ok());
  });
  CliResult v = Ctl({"verify", "--journal", journal_});
  EXPECT_EQ(v.exit_code, 1) << v.Describe();
  EXPECT_THAT(v.out, AllOf(HasSubstr("r1"), HasSubstr("2")));

  // The other commands say the run is damaged instead of crashing.
  CliResult show = Ctl({"inspect", "--journal", journal_, "show", "r1"});
  EXPECT_EQ(show.exit_code, 2) << show.Describe();
  EXPECT_THAT(show.err, HasSubstr("r1"));
}

TEST_F(BrfedctlTest, OfflineCommandsNameAMissingJournalAndAnUnknownRun) {
  CliResult missing = Ctl({"inspect", "--journal", root_ + "/none", "list"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, AllOf(HasSubstr(root_ + "/none"), HasSubstr("no such directory")));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/none")) << "read-only commands create nothing";

  ASSERT_EQ(RunFanout("r1").exit_code, 0);
  CliResult unknown = Ctl({"inspect", "--journal", journal_, "show", "nope"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("nope"));
  EXPECT_EQ(Ctl({"graph", "--journal", journal_, "nope"}).exit_code, 2);
  EXPECT_EQ(Ctl({"inspect", "--journal", journal_, "replay", "r1"}).exit_code, 2);
}

TEST_F(BrfedctlTest, ALockedJournalIsReportedNotTouched) {
  ASSERT_EQ(RunFanout("r1").exit_code, 0);
  JournalOptions options;
  options.dir = journal_;
  Result<std::unique_ptr<Journal>> held = OpenJournal(options);
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"inspect", "--journal", journal_, "list"},
                                             {"verify", "--journal", journal_},
                                             {"run", "--journal", journal_, "--run-id", "r1",
                                              Data("fanout.yaml")}}) {
    CliResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << r.Describe();
    EXPECT_THAT(r.err, AllOf(HasSubstr(journal_), HasSubstr("in use"))) << r.Describe();
  }
}

}  // namespace
}  // namespace brfed
