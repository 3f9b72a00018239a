// recovery_bench: how long OpenEngine takes to recover a big journal, against a raw LevelDB
// full scan of the same database (issue 2 §7).
//
//   build/dev/bench/recovery_bench [--runs=100000] [--records_per_run=10] [--dir=/path]
//                                  [--keep=1: leave the journal for brfedctl to look at]
//
// Builds a journal of runs * records_per_run records (default 1,000,000 over 100,000 runs)
// with direct Journal::Append calls of big batches: every run has done all but the last of its
// test.noop steps and has the last attempt — a test.sleep of an hour — running. Then, with the
// journal closed:
//   baseline: RawLevelDbFullScan of the database (every key and value read once, checksums
//             verified) — the floor for any recovery;
//   measured: OpenLevelDbJournal + OpenEngine until it returns, i.e. every run folded through
//             the machine and re-armed (its running attempt re-issued, timers armed).
// Target: measured <= 2x baseline. Exit code 0 when met, 1 otherwise.

#include <sys/resource.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "base/huge_pages.h"
#include "bench/bench_util.h"
#include "brfed/engine.h"
#include "brfed/step.h"
#include "brfed/workflow.h"
#include "engine/machine.h"
#include "storage/baseline.h"
#include "storage/journal.h"

namespace brfed::bench {
namespace {

// Page faults of this process so far: recovery's fresh memory costs a fault per page touched.
long MinorFaults() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "recovery_bench: %s\n", s.ToString().c_str());
  return 2;
}

// `noop_steps` sequential test.noop steps, then a test.sleep that outlasts the benchmark.
std::string Definition(uint64_t noop_steps) {
  std::string text = "name: bench-recovery\nsteps:\n";
  for (uint64_t i = 1; i <= noop_steps; ++i) {
    text += "  - id: s" + std::to_string(i) + "\n    action: test.noop\n";
    if (i > 1) text += "    needs: [s" + std::to_string(i - 1) + "]\n";
  }
  text += "  - id: nap\n    action: test.sleep\n    with: {duration: 1h}\n";
  if (noop_steps > 0) text += "    needs: [s" + std::to_string(noop_steps) + "]\n";
  return text;
}

// The records of one run: RunStarted, AttemptStarted + AttemptSucceeded per noop step, then
// AttemptStarted of the sleep.
void AppendRunEvents(const std::string& run_id, const Workflow& wf, uint64_t seed, TimePoint t,
                     std::vector<Journal::Entry>* out) {
  uint64_t seq = 0;
  auto add = [&](Event e) {
    e.seq = ++seq;
    e.time = t + Duration(seq);
    out->push_back({run_id, std::move(e)});
  };
  Event started;
  started.type = EventType::kRunStarted;
  started.workflow_name = wf.name;
  started.definition_hash = wf.hash;
  started.params = Value::Map{};
  started.seed = seed;
  add(started);
  for (const StepDef& step : wf.steps) {
    Event a;
    a.type = EventType::kAttemptStarted;
    a.step_id = step.id;
    a.attempt = 1;
    a.idempotency_key = IdempotencyKey(run_id, step.id, -1);
    add(a);
    if (step.action == "test.sleep") break;
    Event done;
    done.type = EventType::kAttemptSucceeded;
    done.step_id = step.id;
    done.attempt = 1;
    done.outputs = Value::Map{};
    add(done);
  }
}

int Main(int argc, char** argv) {
  const uint64_t runs = FlagInt(argc, argv, "runs", 100000);
  const uint64_t per_run = FlagInt(argc, argv, "records_per_run", 10);
  if (per_run < 2 || per_run % 2 != 0) {
    std::fprintf(stderr, "recovery_bench: --records_per_run must be even and >= 2\n");
    return 2;
  }
  const std::string dir = ScratchDir(argc, argv, "brfed-recovery-bench");
  const std::string jdir = dir + "/journal";
  std::printf("recovery_bench: %llu runs x %llu records, scratch %s\n",
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(per_run),
              dir.c_str());

  StepRegistry registry;
  if (Status s = RegisterTestSteps(&registry); !s.ok()) return Fail(s);
  Result<Workflow> loaded = LoadWorkflow(Definition((per_run - 2) / 2), "bench.yaml", registry);
  if (!loaded.ok()) return Fail(loaded.status());
  auto wf = std::make_shared<const Workflow>(std::move(loaded).value());

  // --- Build the journal.
  auto t_build = std::chrono::steady_clock::now();
  uint64_t records = 0;
  {
    JournalOptions jo;
    jo.dir = jdir;
    Result<std::unique_ptr<Journal>> journal = OpenJournal(jo);
    if (!journal.ok()) return Fail(journal.status());
    if (Status s = (*journal)->PutDefinition(wf->hash, wf->source_text); !s.ok()) return Fail(s);
    TimePoint now = std::chrono::time_point_cast<Duration>(Clock::now());
    std::vector<Journal::Entry> batch;
    for (uint64_t i = 0; i < runs; ++i) {
      AppendRunEvents(RunId(i), *wf, i, now, &batch);
      if (batch.size() >= 20000 || i + 1 == runs) {
        records += batch.size();
        if (Status s = (*journal)->Append(std::move(batch)); !s.ok()) return Fail(s);
        batch.clear();
      }
    }
  }
  std::printf("built %llu records in %.2fs\n", static_cast<unsigned long long>(records),
              SecondsSince(t_build));

  // Both measurements read the database as it settles, not while it still compacts.
  auto t_compact = std::chrono::steady_clock::now();
  if (Status s = storage::RawLevelDbCompact(jdir); !s.ok()) return Fail(s);
  std::printf("compacted in %.2fs\n", SecondsSince(t_compact));

  // --- Baseline: one full scan of the closed database.
  Result<storage::RawResult> scan = storage::RawLevelDbFullScan(jdir);
  if (!scan.ok()) return Fail(scan.status());
  std::printf("raw leveldb full scan: %llu entries, %.1f MB in %.3fs\n",
              static_cast<unsigned long long>(scan->records), scan->bytes / 1e6, scan->seconds);

  // --- Measured: open the journal and the engine; OpenEngine returns with every run re-armed.
  const long faults0 = MinorFaults();
  auto t0 = std::chrono::steady_clock::now();
  JournalOptions jo;
  jo.dir = jdir;
  jo.create_if_missing = false;
  Result<std::unique_ptr<Journal>> journal = OpenJournal(jo);
  if (!journal.ok()) return Fail(journal.status());
  double journal_open = SecondsSince(t0);
  EngineOptions eo;
  eo.env = Env::Default();
  eo.journal = journal->get();
  eo.steps = &registry;
  Result<std::unique_ptr<Engine>> engine = OpenEngine(std::move(eo));
  if (!engine.ok()) return Fail(engine.status());
  double recovery = SecondsSince(t0);
  const long faults = MinorFaults() - faults0;
  size_t active = (*engine)->ActiveRunIds().size();
  EngineStats::Recovery phases = (*engine)->stats().recovery;
  std::printf(
      "recovery: %zu active runs re-armed in %.3fs (journal open %.3fs, OpenEngine %.3fs: "
      "read+fold %.3fs, index %.3fs, first pass %.3fs), %ld page faults, %.0f MB advised as "
      "huge pages\n",
      active, recovery, journal_open, recovery - journal_open, phases.fold_seconds,
      phases.index_seconds, phases.first_pass_seconds, faults,
      static_cast<double>(HugePageScope::AdvisedBytes()) / 1e6);
  engine->reset();
  journal->reset();
  if (FlagInt(argc, argv, "keep", 0) == 0) {
    std::filesystem::remove_all(dir);
  } else {
    std::printf("kept the journal in %s\n", jdir.c_str());
  }
  if (active != runs) {
    return Fail(InternalError("recovered " + std::to_string(active) + " runs, expected " +
                              std::to_string(runs)));
  }

  double ratio = recovery / scan->seconds;
  return PrintRows({
      {"recovery of " + Grouped(static_cast<double>(records)) + " records (s)", Fixed(recovery, 3),
       Fixed(scan->seconds, 3), Fixed(ratio, 2) + "x", "<= 2x", ratio <= 2.0},
  });
}

}  // namespace
}  // namespace brfed::bench

int main(int argc, char** argv) { return brfed::bench::Main(argc, argv); }
