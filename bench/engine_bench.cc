// engine_bench: durable transitions per second of the engine, measured against raw LevelDB on
// the same disk in the same run (issue 2 §7).
//
//   build/dev/bench/engine_bench [--runs=10000] [--steps=3] [--dir=/path/on/the/disk]
//                                [--starters=64: threads calling StartRun, which blocks until
//                                 the run's first record is durable; on 2 cores more threads
//                                 only add contention] [--single_records=3000]
//
// 1. The engine, on the real LevelDB journal, with --runs concurrent runs of --steps sequential
//    test.noop steps (each run journals 2 + 2*steps records: RunStarted, AttemptStarted and
//    AttemptSucceeded per step, RunFinished). Measured: records journaled / wall time from the
//    first StartRun to the last run finished, and the p99 of the journal's append-to-durable
//    latency at that load.
// 2. Raw LevelDB: the same number of records in WriteBatches of 512 with sync=true (the
//    ceiling a group-committing journal can hope for). Target: engine >= 0.7x of it.
// 3. Raw LevelDB: one synced write per record (what journaling each transition alone costs).
//    Target: engine >= 30x of it.
// Exit code 0 when every target is met, 1 otherwise.

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "brfed/engine.h"
#include "brfed/step.h"
#include "brfed/workflow.h"
#include "storage/baseline.h"
#include "storage/journal.h"

namespace brfed::bench {
namespace {

std::string NoopWorkflow(uint64_t steps) {
  std::string text = "name: bench-noop\nsteps:\n";
  for (uint64_t i = 1; i <= steps; ++i) {
    text += "  - id: s" + std::to_string(i) + "\n    action: test.noop\n";
    if (i > 1) text += "    needs: [s" + std::to_string(i - 1) + "]\n";
  }
  return text;
}

std::string RunId(uint64_t i) {
  char id[64];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012llu",
                static_cast<unsigned long long>(i));
  return id;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "engine_bench: %s\n", s.ToString().c_str());
  return 2;
}

int Main(int argc, char** argv) {
  const uint64_t runs = FlagInt(argc, argv, "runs", 10000);
  const uint64_t steps = FlagInt(argc, argv, "steps", 3);
  const uint64_t starters = FlagInt(argc, argv, "starters", 64);
  const std::string dir = ScratchDir(argc, argv, "brfed-engine-bench");
  std::printf("engine_bench: %llu concurrent runs of %llu test.noop steps, scratch %s\n",
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(steps),
              dir.c_str());

  // --- 1. The engine.
  StepRegistry registry;
  if (Status s = RegisterTestSteps(&registry); !s.ok()) return Fail(s);
  Result<Workflow> wf = LoadWorkflow(NoopWorkflow(steps), "bench-noop.yaml", registry);
  if (!wf.ok()) return Fail(wf.status());
  auto workflow = std::make_shared<const Workflow>(std::move(wf).value());

  JournalOptions jo;
  jo.dir = dir + "/journal";
  Result<std::unique_ptr<LevelDbJournal>> journal = OpenLevelDbJournal(jo);
  if (!journal.ok()) return Fail(journal.status());
  EngineOptions eo;
  eo.env = Env::Default();
  eo.journal = journal->get();
  eo.steps = &registry;
  Result<std::unique_ptr<Engine>> engine = OpenEngine(std::move(eo));
  if (!engine.ok()) return Fail(engine.status());

  // StartRun returns once the run's first record is durable, so many threads start runs at
  // once: their RunStarted records share group commits, as the manager's controllers would.
  auto t0 = std::chrono::steady_clock::now();
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < starters; ++t) {
    threads.emplace_back([&] {
      for (uint64_t i = next++; i < runs; i = next++) {
        Status s = (*engine)->StartRun(RunId(i), workflow, Value::Map{});
        if (!s.ok()) {
          std::fprintf(stderr, "engine_bench: StartRun %llu: %s\n",
                       static_cast<unsigned long long>(i), s.ToString().c_str());
          failed = true;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (failed) return 2;
  for (uint64_t i = 0; i < runs; ++i) {
    Result<RunView> v = (*engine)->WaitRun(RunId(i), std::chrono::minutes(10));
    if (!v.ok()) return Fail(v.status());
    if (v->state != RunState::kSucceeded) {
      return Fail(InternalError("run " + RunId(i) + " ended " + std::string(RunStateName(v->state))));
    }
  }
  double engine_seconds = SecondsSince(t0);
  JournalStats js = (*journal)->stats();
  LatencySummary append = (*journal)->AppendLatency();
  LatencySummary batch = (*journal)->BatchLatency();
  engine->reset();
  double engine_rate = js.records / engine_seconds;
  std::printf("engine: %llu records in %llu batches (%.0f records/batch) in %.2fs; "
              "append->durable p50 %.2fms p99 %.2fms max %.2fms; batch write+sync p99 %.2fms\n",
              static_cast<unsigned long long>(js.records),
              static_cast<unsigned long long>(js.batches),
              js.batches ? static_cast<double>(js.records) / js.batches : 0.0, engine_seconds,
              append.p50_nanos / 1e6, append.p99_nanos / 1e6, append.max_nanos / 1e6,
              batch.p99_nanos / 1e6);

  // --- 2. Raw LevelDB, 512-record synced batches, as many records as the engine wrote.
  storage::RawAppendOptions raw;
  raw.dir = dir + "/raw512";
  raw.records = js.records;
  raw.batch_records = 512;
  raw.runs = runs;
  Result<storage::RawResult> batched = storage::RawLevelDbAppend(raw);
  if (!batched.ok()) return Fail(batched.status());
  std::printf("raw leveldb, 512/batch, sync: %llu records in %.2fs\n",
              static_cast<unsigned long long>(batched->records), batched->seconds);

  // --- 3. Raw LevelDB, one synced write per record, for long enough to be stable.
  raw.dir = dir + "/raw1";
  raw.records = FlagInt(argc, argv, "single_records", 3000);
  raw.batch_records = 1;
  Result<storage::RawResult> single = storage::RawLevelDbAppend(raw);
  if (!single.ok()) return Fail(single.status());
  std::printf("raw leveldb, 1/batch, sync: %llu records in %.2fs\n",
              static_cast<unsigned long long>(single->records), single->seconds);

  std::filesystem::remove_all(dir);

  double vs_batched = engine_rate / batched->records_per_second();
  double vs_single = engine_rate / single->records_per_second();
  double p99_ms = append.p99_nanos / 1e6;
  return PrintRows({
      {"durable transitions/s vs 512-batch", Grouped(engine_rate),
       Grouped(batched->records_per_second()), Fixed(vs_batched, 2) + "x", ">= 0.7x",
       vs_batched >= 0.7},
      {"durable transitions/s vs 1 fsync each", Grouped(engine_rate),
       Grouped(single->records_per_second()), Fixed(vs_single, 1) + "x", ">= 30x",
       vs_single >= 30},
      {"p99 commit latency (ms)", Fixed(p99_ms, 2), "-", "-", "<= 10ms", p99_ms <= 10},
  });
}

}  // namespace
}  // namespace brfed::bench

int main(int argc, char** argv) { return brfed::bench::Main(argc, argv); }
