// Raw LevelDB baselines that the benchmarks (bench/) measure the journal against, in the same
// run and on the same disk. Here because only storage/ may use LevelDB directly.
//
//   RawAppendOptions o{.dir = tmp + "/raw", .records = 200000, .batch_records = 512};
//   ASSIGN_OR_RETURN(RawResult r, RawLevelDbAppend(o));
//   double ratio = journal_records_per_second / r.records_per_second();
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/status.h"

namespace leveldb {
class Env;
}  // namespace leveldb

namespace brfed::storage {

// One record the baseline writes: its run's place among RawAppendOptions' runs, and its seq.
struct RawRecordRef {
  uint32_t run = 0;
  uint64_t seq = 0;
};

struct RawAppendOptions {
  std::string dir;             // created; must not hold a database yet
  uint64_t records = 100000;   // records written (and timed)
  size_t batch_records = 512;  // records per WriteBatch; 1 = one fsync per record
  size_t value_bytes = 100;    // bytes per value; keys look like journal record keys
  size_t runs = 10000;         // the runs the records belong to
  // The ids of those runs; empty: 00000000-0000-4000-8000-<12 digits of the run's number>.
  std::vector<std::string> run_ids;
  // Which records to write, in this order: the first `untimed` before the clock starts (what
  // the database held before the measured writes), then up to `records` of the rest. Empty:
  // `records` records spread round-robin over the runs in id order, each run's seqs from 1 —
  // the friendliest order for LevelDB, each batch's keys neighbours in its memtable.
  std::vector<RawRecordRef> order;
  size_t untimed = 0;
  bool sync = true;
  size_t write_buffer_bytes = 8 << 20;  // as JournalOptions
  leveldb::Env* env = nullptr;          // nullptr: leveldb::Env::Default()
};

struct RawResult {
  uint64_t records = 0;
  uint64_t bytes = 0;  // keys + values
  double seconds = 0;
  // The process's CPU time (every thread) from the clock's start to the database closed, which
  // waits for a compaction under way.
  double cpu_seconds = 0;
  double records_per_second() const { return seconds > 0 ? records / seconds : 0; }
};

// CPU seconds the whole process has used so far, every thread's, user and system.
double ProcessCpuSeconds();

// The value size that makes a raw record, keyed as run `run_id`'s, as large as the journal's
// mean record: `record_bytes` (keys and values, JournalStats::record_bytes) over `records`,
// less the key. At least 1.
size_t ValueBytesOfMeanRecord(uint64_t records, uint64_t record_bytes, std::string_view run_id);

// Writes options.records records in WriteBatches of options.batch_records with sync as given
// (after the untimed ones of options.order, in batches of 4,096).
Result<RawResult> RawLevelDbAppend(const RawAppendOptions& options);

// Reads every key and value of the (closed) LevelDB database in `dir` once, in key order,
// verifying checksums as the journal's reads do: the floor for recovery.
Result<RawResult> RawLevelDbFullScan(const std::string& dir);

// Compacts the whole (closed) database in `dir` and returns when done. A benchmark that reads
// a database it has just written calls it first: LevelDB stops its compactions at close and
// resumes them at the next open, where they would compete for the CPU with what is measured,
// differently for each measurement.
Status RawLevelDbCompact(const std::string& dir);

}  // namespace brfed::storage
