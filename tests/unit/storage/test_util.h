// Helpers shared by the journal tests: scratch directories and events.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "brfed/journal.h"

namespace brfed::storage::testing {

// A fresh, empty directory under $TEST_TMPDIR (or /tmp), removed by the destructor.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/brfed-storage-XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr) << tmpl;
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline TimePoint T(int64_t ms) { return FromUnixMillis(1'700'000'000'000 + ms); }

inline Event Started(const std::string& hash = "h1", int64_t ms = 0) {
  Event e;
  e.type = EventType::kRunStarted;
  e.seq = 1;
  e.time = T(ms);
  e.start.mut() = RunStart{.workflow_name = "wf",
                           .definition_hash = hash,
                           .params = Value::Map{{"zones", Value::List{"a", "b"}}},
                           .seed = 42};
  return e;
}

inline Event AttemptStarted(uint64_t seq, const std::string& step = "s", int64_t ms = 0) {
  Event e;
  e.type = EventType::kAttemptStarted;
  e.seq = seq;
  e.time = T(ms);
  e.step_id = step;
  e.attempt = 1;
  e.idempotency_key = "run:" + step;
  return e;
}

inline Event Finished(uint64_t seq, int64_t ms = 0, RunState state = RunState::kSucceeded) {
  Event e;
  e.type = EventType::kRunFinished;
  e.seq = seq;
  e.time = T(ms);
  e.final_state = state;
  return e;
}

}  // namespace brfed::storage::testing
