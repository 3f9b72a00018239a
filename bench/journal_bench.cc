// journal_bench: durable appends per second of the journal's group commit, measured against raw
// LevelDB on the same disk in the same run.
//
//   build/dev/bench/journal_bench [--runs=10000] [--records=20] [--drivers=2] [--dir=/path]
//                                 [--value_bytes=the journal's mean record value size]
//
// 1. The journal: --runs concurrent runs, each with one append in flight at a time (as the
//    engine has: a run's next transition waits for the previous one to be durable), --records
//    AttemptStarted-sized records per run. A done callback hands the run back to one of
//    --drivers threads, which encode and append its next record. Measured: records / wall time,
//    and the p50/p99 of append-to-durable latency.
// 2. Raw LevelDB: as many records of the journal's average record size, in WriteBatches of 512
//    with sync=true. Target: journal >= 0.7x.
// 3. Raw LevelDB: one synced write per record. Target: journal >= 30x.
// 4. Recovery reads: a journal of --recovery_runs runs x --recovery_records records (default
//    100,000 x 10 = 1M), reopened and read with ForEachActiveRun (one run in memory at a time),
//    then with ReadActiveRuns (every record in memory), against RawLevelDbFullScan of the same
//    closed database. Target: <= 2x (the engine's recovery_bench adds the replay).
//    --recovery_runs=0 skips it.
// Exit code 0 when every target is met, 1 otherwise.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "storage/baseline.h"
#include "storage/journal.h"

namespace brfed::bench {
namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "journal_bench: %s\n", s.ToString().c_str());
  return 2;
}

Event Record(const std::string& run, uint64_t seq) {
  Event e;
  e.seq = seq;
  e.time = std::chrono::time_point_cast<Duration>(Clock::now());
  if (seq == 1) {
    e.type = EventType::kRunStarted;
    e.start.mut() = RunStart{.workflow_name = "volume-backup",
                             .definition_hash = "sha256:5f2b9c0d",
                             .params = Value(),
                             .seed = seq};
  } else {
    e.type = EventType::kAttemptStarted;
    e.step_id = "snapshot";
    e.item_index = static_cast<int32_t>(seq % 3);
    e.attempt = 1;
    e.idempotency_key = run + ":snapshot:" + std::to_string(seq);
  }
  return e;
}

// Runs handed back by done callbacks, waiting for a driver to append their next record.
class ReadyQueue {
 public:
  void Push(uint64_t run) {
    {
      std::lock_guard<std::mutex> l(mu_);
      ready_.push_back(run);
    }
    cv_.notify_one();
  }
  // Everything ready, or empty when Close() was called.
  std::deque<uint64_t> PopAll() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !ready_.empty() || closed_; });
    std::deque<uint64_t> out;
    out.swap(ready_);
    return out;
  }
  void Close() {
    {
      std::lock_guard<std::mutex> l(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<uint64_t> ready_;
  bool closed_ = false;
};

int Main(int argc, char** argv) {
  const uint64_t runs = FlagInt(argc, argv, "runs", 10000);
  const uint64_t per_run = FlagInt(argc, argv, "records", 20);
  const uint64_t drivers = FlagInt(argc, argv, "drivers", 2);
  const std::string dir = ScratchDir(argc, argv, "brfed-journal-bench");
  std::printf("journal_bench: %llu runs x %llu records, %llu driver threads, in %s\n",
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(per_run),
              static_cast<unsigned long long>(drivers), dir.c_str());

  // --- 1. The journal.
  JournalOptions jo;
  jo.dir = dir + "/journal";
  Result<std::unique_ptr<LevelDbJournal>> opened = OpenLevelDbJournal(jo);
  if (!opened.ok()) return Fail(opened.status());
  LevelDbJournal* journal = opened->get();
  std::vector<std::string> ids(runs);
  for (uint64_t i = 0; i < runs; ++i) ids[i] = RunId(i);
  std::vector<uint64_t> next_seq(runs, 1);  // touched only by the driver owning the run
  std::atomic<uint64_t> finished{0}, failures{0};
  const uint64_t total = runs * per_run;

  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<ReadyQueue>> queues;
  for (uint64_t d = 0; d < drivers; ++d) queues.push_back(std::make_unique<ReadyQueue>());
  for (uint64_t d = 0; d < drivers; ++d) {
    threads.emplace_back([&, d] {
      ReadyQueue& q = *queues[d];
      while (true) {
        std::deque<uint64_t> batch = q.PopAll();
        if (batch.empty()) return;
        for (uint64_t run : batch) {
          uint64_t seq = next_seq[run]++;
          journal->AppendAsync({{ids[run], Record(ids[run], seq)}}, [&, run, seq, d](Status s) {
            if (!s.ok()) {
              if (failures++ == 0) {
                std::fprintf(stderr, "append: %s\n", s.ToString().c_str());
              }
            }
            if (seq < per_run && s.ok()) {
              queues[d]->Push(run);
            } else if (++finished == runs) {
              for (auto& qq : queues) qq->Close();
            }
          });
        }
      }
    });
  }
  for (uint64_t run = 0; run < runs; ++run) queues[run % drivers]->Push(run);
  for (std::thread& t : threads) t.join();
  double seconds = SecondsSince(t0);
  if (failures > 0) return Fail(InternalError(std::to_string(failures) + " appends failed"));

  JournalStats js = journal->stats();
  LatencySummary append = journal->AppendLatency();
  LatencySummary batch = journal->BatchLatency();
  opened->reset();
  double rate = js.records / seconds;
  std::printf(
      "journal: %llu records in %llu batches (%.0f/batch) in %.2fs = %s/s; "
      "append->durable p50 %.2fms p99 %.2fms max %.2fms; write+sync p50 %.2fms\n",
      static_cast<unsigned long long>(js.records), static_cast<unsigned long long>(js.batches),
      js.batches ? static_cast<double>(js.records) / js.batches : 0.0, seconds,
      Grouped(rate).c_str(), append.p50_nanos / 1e6, append.p99_nanos / 1e6, append.max_nanos / 1e6,
      batch.p50_nanos / 1e6);
  if (js.records != total) {
    return Fail(InternalError("journaled " + std::to_string(js.records) + " records, want " +
                              std::to_string(total)));
  }

  // --- 2. Raw LevelDB, 512-record synced batches of the same records' size.
  storage::RawAppendOptions raw;
  raw.dir = dir + "/raw512";
  raw.records = total;
  raw.batch_records = 512;
  raw.runs = runs;
  // Values of the journal's mean record size (its keys and the baseline's are laid out alike),
  // unless --value_bytes says otherwise.
  raw.value_bytes = FlagInt(argc, argv, "value_bytes",
                            storage::ValueBytesOfMeanRecord(js.records, js.record_bytes, RunId(0)));
  Result<storage::RawResult> batched = storage::RawLevelDbAppend(raw);
  if (!batched.ok()) return Fail(batched.status());
  std::printf("raw leveldb, 512/batch, sync, %zu-byte values: %llu records in %.2fs = %s/s\n",
              raw.value_bytes, static_cast<unsigned long long>(batched->records), batched->seconds,
              Grouped(batched->records_per_second()).c_str());

  // --- 3. Raw LevelDB, one synced write per record.
  raw.dir = dir + "/raw1";
  raw.records = FlagInt(argc, argv, "single_records", 3000);
  raw.batch_records = 1;
  Result<storage::RawResult> single = storage::RawLevelDbAppend(raw);
  if (!single.ok()) return Fail(single.status());
  std::printf("raw leveldb, 1/batch, sync: %llu records in %.2fs = %s/s\n",
              static_cast<unsigned long long>(single->records), single->seconds,
              Grouped(single->records_per_second()).c_str());

  // --- 4. Recovery reads.
  std::vector<Row> rows;
  const uint64_t rec_runs = FlagInt(argc, argv, "recovery_runs", 100000);
  const uint64_t rec_per_run = FlagInt(argc, argv, "recovery_records", 10);
  if (rec_runs > 0) {
    JournalOptions ro;
    ro.dir = dir + "/recovery";
    {
      Result<std::unique_ptr<Journal>> j = OpenJournal(ro);
      if (!j.ok()) return Fail(j.status());
      std::vector<Journal::Entry> entries;
      for (uint64_t r = 0; r < rec_runs; ++r) {
        std::string id = RunId(r);
        for (uint64_t seq = 1; seq <= rec_per_run; ++seq) entries.push_back({id, Record(id, seq)});
        if (entries.size() >= 20000 || r + 1 == rec_runs) {
          if (Status st = (*j)->Append(std::move(entries)); !st.ok()) return Fail(st);
          entries.clear();
        }
      }
    }
    // Alternated and repeated: the best of --recovery_reps of each, so a noisy neighbour on
    // the machine does not decide the ratio.
    const uint64_t reps = FlagInt(argc, argv, "recovery_reps", 3);
    double scan_seconds = 1e9, stream_seconds = 1e9, read_seconds = 1e9;
    uint64_t scanned = 0, scanned_bytes = 0, visited = 0, events = 0;
    size_t read_runs = 0;
    ro.create_if_missing = false;
    for (uint64_t rep = 0; rep < reps; ++rep) {
      Result<storage::RawResult> scan = storage::RawLevelDbFullScan(ro.dir);
      if (!scan.ok()) return Fail(scan.status());
      scan_seconds = std::min(scan_seconds, scan->seconds);
      scanned = scan->records;
      scanned_bytes = scan->bytes;

      auto r0 = std::chrono::steady_clock::now();
      Result<std::unique_ptr<Journal>> j = OpenJournal(ro);
      if (!j.ok()) return Fail(j.status());
      visited = events = 0;
      Status each = (*j)->ForEachActiveRun([&](Journal::RunRecords& r) {
        ++visited;
        events += r.events.size();
        return Status::OK();
      });
      if (!each.ok()) return Fail(each);
      stream_seconds = std::min(stream_seconds, SecondsSince(r0));
      j->reset();

      auto r1 = std::chrono::steady_clock::now();
      j = OpenJournal(ro);
      if (!j.ok()) return Fail(j.status());
      Result<std::vector<Journal::RunRecords>> active = (*j)->ReadActiveRuns();
      if (!active.ok()) return Fail(active.status());
      read_seconds = std::min(read_seconds, SecondsSince(r1));
      read_runs = active->size();
    }
    std::printf(
        "recovery (best of %llu): raw scan of %llu entries (%.1f MB) %.3fs; open + "
        "ForEachActiveRun of %llu runs (%llu records) %.3fs; open + ReadActiveRuns %.3fs\n",
        static_cast<unsigned long long>(reps), static_cast<unsigned long long>(scanned),
        scanned_bytes / 1e6, scan_seconds, static_cast<unsigned long long>(visited),
        static_cast<unsigned long long>(events), stream_seconds, read_seconds);
    if (read_runs != rec_runs || visited != rec_runs) {
      return Fail(InternalError("read " + std::to_string(read_runs) + " runs"));
    }
    double ratio = stream_seconds / scan_seconds;
    rows.push_back({"open + ForEachActiveRun vs raw scan (s)", Fixed(stream_seconds, 3),
                    Fixed(scan_seconds, 3), Fixed(ratio, 2) + "x", "<= 2x", ratio <= 2.0});
    double all_ratio = read_seconds / scan_seconds;
    rows.push_back({"open + ReadActiveRuns (all in memory) (s)", Fixed(read_seconds, 3),
                    Fixed(scan_seconds, 3), Fixed(all_ratio, 2) + "x", "<= 2x", all_ratio <= 2.0});
  }

  std::filesystem::remove_all(dir);
  double vs_batched = rate / batched->records_per_second();
  double vs_single = rate / single->records_per_second();
  double p99_ms = append.p99_nanos / 1e6;
  std::vector<Row> head = {
      {"journal appends/s vs 512-batch", Grouped(rate), Grouped(batched->records_per_second()),
       Fixed(vs_batched, 2) + "x", ">= 0.7x", vs_batched >= 0.7},
      {"journal appends/s vs 1 fsync each", Grouped(rate), Grouped(single->records_per_second()),
       Fixed(vs_single, 1) + "x", ">= 30x", vs_single >= 30},
      {"p99 append->durable (ms)", Fixed(p99_ms, 2), "-", "-", "<= 10ms", p99_ms <= 10},
  };
  head.insert(head.end(), rows.begin(), rows.end());
  return PrintRows(head);
}

}  // namespace
}  // namespace brfed::bench

int main(int argc, char** argv) { return brfed::bench::Main(argc, argv); }
