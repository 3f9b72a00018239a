// The step registry and the built-in test.* actions, called directly with a hand-made context.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "brfed/step.h"
#include "gtest/gtest.h"

namespace brfed {
namespace {

using std::chrono::seconds;

const TimePoint kStart = FromUnixMillis(1'700'000'000'000);

class FakeContext final : public StepContext {
 public:
  std::string run = "r1";
  std::string step = "s";
  int index = -1;
  Value item_value;
  int attempt_number = 1;
  std::string key = "r1:s";
  Value with_value = Value::Map{};
  Value params_value = Value::Map{};
  TimePoint started = kStart;
  TimePoint now_value = kStart;
  ServiceMap service_map;

  const std::string& run_id() const override { return run; }
  const std::string& step_id() const override { return step; }
  int item_index() const override { return index; }
  const Value& item() const override { return item_value; }
  int attempt() const override { return attempt_number; }
  const std::string& idempotency_key() const override { return key; }
  const Value& with() const override { return with_value; }
  const Value& params() const override { return params_value; }
  TimePoint attempt_started_at() const override { return started; }
  TimePoint now() const override { return now_value; }
  const ServiceMap& services() const override { return service_map; }
};

class NullStep final : public Step {
 public:
  StepResult Reconcile(StepContext&) override { return Done{}; }
};

class TestStepsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(RegisterTestSteps(&registry_).ok()); }

  StepResult Run(const std::string& action, FakeContext& ctx) {
    Step* step = registry_.FindStep(action);
    EXPECT_NE(step, nullptr) << action;
    if (step == nullptr) return Fail{InternalError("no step"), false};
    return step->Reconcile(ctx);
  }

  // A fresh file path in the test's temporary directory.
  std::string TempPath(const std::string& name) {
    const char* dir = std::getenv("TEST_TMPDIR");
    std::string base = dir != nullptr ? dir : "/tmp";
    std::string path = base + "/brfed_test_steps_" + std::to_string(::getpid()) + "_" + name;
    std::remove(path.c_str());
    created_.push_back(path);
    return path;
  }

  void TearDown() override {
    for (const std::string& p : created_) std::remove(p.c_str());
  }

  static std::vector<std::string> Lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  StepRegistry registry_;
  std::vector<std::string> created_;
};

TEST_F(TestStepsTest, RegistersEveryTestActionWithItsKeys) {
  EXPECT_EQ(registry_.ActionNames(),
            (std::vector<std::string>{"test.append", "test.echo", "test.fail", "test.noop",
                                      "test.sleep"}));
  const ActionSpec* append = registry_.FindAction("test.append");
  ASSERT_NE(append, nullptr);
  EXPECT_EQ(append->with_keys, (std::vector<std::string>{"path", "text"}));
  EXPECT_EQ(append->required, (std::vector<std::string>{"path", "text"}));
  const ActionSpec* fail = registry_.FindAction("test.fail");
  ASSERT_NE(fail, nullptr);
  EXPECT_EQ(fail->required, (std::vector<std::string>{"times"}));
  EXPECT_EQ(registry_.FindAction("test.nope"), nullptr);
  EXPECT_EQ(registry_.FindStep("test.nope"), nullptr);
}

TEST_F(TestStepsTest, RegistryRejectsDuplicatesAndBadSpecs) {
  struct Case {
    const char* name;
    ActionSpec spec;
    bool with_step;
    StatusCode want;
  };
  const Case cases[] = {
      {"duplicate", {"test.noop", {}, {}}, true, StatusCode::kAlreadyExists},
      {"empty name", {"", {}, {}}, true, StatusCode::kInvalidArgument},
      {"no step", {"x.y", {}, {}}, false, StatusCode::kInvalidArgument},
      {"required not a key", {"x.z", {"a"}, {"b"}}, true, StatusCode::kInvalidArgument},
      {"fine", {"x.ok", {"a", "b"}, {"b"}}, true, StatusCode::kOk},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::unique_ptr<Step> step;
    if (c.with_step) step = std::make_unique<NullStep>();
    Status s = registry_.Register(c.spec, std::move(step));
    EXPECT_EQ(s.code(), c.want) << s.ToString();
  }
  EXPECT_NE(registry_.FindStep("x.ok"), nullptr);
}

TEST_F(TestStepsTest, NoopAndEcho) {
  FakeContext ctx;
  StepResult r = Run("test.noop", ctx);
  ASSERT_TRUE(std::holds_alternative<Done>(r));
  EXPECT_EQ(std::get<Done>(r).outputs, Value(Value::Map{}));

  ctx.with_value = Value::Map{{"value", Value::List{1, "two"}}};
  r = Run("test.echo", ctx);
  ASSERT_TRUE(std::holds_alternative<Done>(r));
  EXPECT_EQ(std::get<Done>(r).outputs.ToJson(), R"({"value":[1,"two"]})");
}

TEST_F(TestStepsTest, SleepWaitsFromTheAttemptStartNotFromNow) {
  struct Case {
    const char* name;
    Value duration;
    int64_t elapsed_ms;
    bool done;
    int64_t recheck_ms;  // when waiting
  };
  const Case cases[] = {
      {"just started", "2s", 0, false, 2000},
      {"half way", "2s", 500, false, 1500},
      {"exactly due", "2s", 2000, true, 0},
      {"overdue", "1m30s", 100000, true, 0},
      {"zero", "0s", 0, true, 0},
      {"milliseconds as int", 250, 100, false, 150},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FakeContext ctx;
    ctx.with_value = Value::Map{{"duration", c.duration}};
    ctx.started = kStart;
    ctx.now_value = kStart + Duration(c.elapsed_ms);
    StepResult r = Run("test.sleep", ctx);
    if (c.done) {
      EXPECT_TRUE(std::holds_alternative<Done>(r));
      continue;
    }
    ASSERT_TRUE(std::holds_alternative<Wait>(r));
    const Wait& w = std::get<Wait>(r);
    ASSERT_TRUE(w.recheck_after.has_value());
    EXPECT_EQ(w.recheck_after->count(), c.recheck_ms);
    EXPECT_TRUE(w.wake_on.empty());
    EXPECT_FALSE(w.observed.empty());
  }
}

TEST_F(TestStepsTest, BadInputFailsWithoutRetry) {
  struct Case {
    const char* action;
    Value with;
    const char* in_message;
  };
  const Case cases[] = {
      {"test.sleep", Value::Map{{"duration", "soon"}}, "duration"},
      {"test.sleep", Value::Map{{"duration", true}}, "duration"},
      {"test.sleep", Value::Map{{"duration", -5}}, "duration"},
      {"test.fail", Value::Map{{"times", "two"}}, "times"},
      {"test.fail", Value::Map{{"times", -1}}, "times"},
      {"test.append", Value::Map{{"path", ""}, {"text", "x"}}, "path"},
      {"test.append", Value::Map{{"path", 3}, {"text", "x"}}, "path"},
      {"test.append", Value::Map{{"path", "/tmp/x"}, {"text", "a\nb"}}, "one line"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.action) + " " + c.with.ToJson());
    FakeContext ctx;
    ctx.with_value = c.with;
    StepResult r = Run(c.action, ctx);
    ASSERT_TRUE(std::holds_alternative<Fail>(r));
    const Fail& f = std::get<Fail>(r);
    EXPECT_FALSE(f.retryable);
    EXPECT_EQ(f.status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(f.status.message().find(c.in_message), std::string::npos) << f.status.ToString();
  }
}

TEST_F(TestStepsTest, FailFailsItsFirstTimesAttemptsRetryably) {
  for (int attempt = 1; attempt <= 4; ++attempt) {
    SCOPED_TRACE(attempt);
    FakeContext ctx;
    ctx.attempt_number = attempt;
    ctx.with_value = Value::Map{{"times", 2}, {"message", "boom"}};
    StepResult r = Run("test.fail", ctx);
    if (attempt <= 2) {
      ASSERT_TRUE(std::holds_alternative<Fail>(r));
      EXPECT_TRUE(std::get<Fail>(r).retryable);
      EXPECT_EQ(std::get<Fail>(r).status.message(), "boom");
    } else {
      ASSERT_TRUE(std::holds_alternative<Done>(r));
      EXPECT_EQ(std::get<Done>(r).outputs.ToJson(), "{\"attempts\":" + std::to_string(attempt) + "}");
    }
  }
  FakeContext zero;
  zero.with_value = Value::Map{{"times", 0}};
  EXPECT_TRUE(std::holds_alternative<Done>(Run("test.fail", zero)));
}

TEST_F(TestStepsTest, AppendWritesEachKeyOnce) {
  std::string path = TempPath("once");
  FakeContext ctx;
  ctx.key = "r1:a";
  ctx.with_value = Value::Map{{"path", path}, {"text", "hello"}};
  for (int i = 0; i < 3; ++i) {
    StepResult r = Run("test.append", ctx);
    ASSERT_TRUE(std::holds_alternative<Done>(r)) << i;
    EXPECT_EQ(std::get<Done>(r).outputs.ToJson(), R"({"line":"r1:a hello"})");
  }
  ctx.key = "r1:a:0";  // a key that the first one is a prefix of, but not a line prefix
  ASSERT_TRUE(std::holds_alternative<Done>(Run("test.append", ctx)));
  ctx.key = "r1:a";
  ctx.with_value = Value::Map{{"path", path}, {"text", "other text, same key"}};
  ASSERT_TRUE(std::holds_alternative<Done>(Run("test.append", ctx)));
  EXPECT_EQ(Lines(path), (std::vector<std::string>{"r1:a hello", "r1:a:0 hello"}));
}

TEST_F(TestStepsTest, AppendKeepsATornLastLineSeparate) {
  std::string path = TempPath("torn");
  {
    std::ofstream out(path);
    out << "r0:x done\nr0:y hal";  // a crash in the middle of a write
  }
  FakeContext ctx;
  ctx.key = "r1:z";
  ctx.with_value = Value::Map{{"path", path}, {"text", 42}};
  ASSERT_TRUE(std::holds_alternative<Done>(Run("test.append", ctx)));
  EXPECT_EQ(Lines(path), (std::vector<std::string>{"r0:x done", "r0:y hal", "r1:z 42"}));
}

TEST_F(TestStepsTest, AppendToAMissingDirectoryFailsWithoutRetry) {
  FakeContext ctx;
  ctx.with_value = Value::Map{{"path", "/nonexistent-brfed-dir/sub/file"}, {"text", "x"}};
  StepResult r = Run("test.append", ctx);
  ASSERT_TRUE(std::holds_alternative<Fail>(r));
  EXPECT_FALSE(std::get<Fail>(r).retryable);
  EXPECT_EQ(std::get<Fail>(r).status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(std::get<Fail>(r).status.message().find("/nonexistent-brfed-dir/sub/file"),
            std::string::npos);
}

TEST_F(TestStepsTest, ConcurrentAppendsToOneFileKeepEveryKeyExactlyOnce) {
  std::string path = TempPath("concurrent");
  Step* step = registry_.FindStep("test.append");
  ASSERT_NE(step, nullptr);
  constexpr int kThreads = 8;
  constexpr int kKeys = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kKeys; ++k) {
        FakeContext ctx;
        // Every thread writes every key: the lock must make exactly one of them win.
        ctx.key = "run:step:" + std::to_string(k);
        ctx.with_value = Value::Map{{"path", path}, {"text", "from " + std::to_string(t)}};
        StepResult r = step->Reconcile(ctx);
        EXPECT_TRUE(std::holds_alternative<Done>(r));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::map<std::string, int> seen;
  for (const std::string& line : Lines(path)) seen[line.substr(0, line.find(' '))]++;
  ASSERT_EQ(seen.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, n] : seen) EXPECT_EQ(n, 1) << key;
}

}  // namespace
}  // namespace brfed
