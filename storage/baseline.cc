#include "storage/baseline.h"

#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/write_batch.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "storage/journal_dir.h"
#include "storage/keys.h"
#include "storage/leveldb_util.h"

namespace brfed::storage {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Result<std::unique_ptr<leveldb::DB>> OpenDb(const std::string& dir, bool create,
                                            size_t write_buffer_bytes,
                                            leveldb::Env* env = nullptr) {
  leveldb::Options o;
  if (env != nullptr) o.env = env;
  o.create_if_missing = create;
  o.error_if_exists = create;
  o.write_buffer_size = write_buffer_bytes;
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(o, dir, &db);
  if (!s.ok()) return FromLevelDb(s, "baseline: open " + dir);
  return std::unique_ptr<leveldb::DB>(db);
}

}  // namespace

double ProcessCpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

size_t ValueBytesOfMeanRecord(uint64_t records, uint64_t record_bytes, std::string_view run_id) {
  const size_t key_bytes = RecordKey(run_id, 1).size();
  const uint64_t mean = records > 0 ? (record_bytes + records / 2) / records : 0;
  return mean > key_bytes ? static_cast<size_t>(mean - key_bytes) : 1;
}

Result<RawResult> RawLevelDbAppend(const RawAppendOptions& options) {
  if (options.batch_records == 0 || options.runs == 0) {
    return InvalidArgumentError("baseline: batch_records and runs must be positive");
  }
  if (!options.run_ids.empty() && options.run_ids.size() != options.runs) {
    return InvalidArgumentError("baseline: " + std::to_string(options.run_ids.size()) +
                                " run ids for " + std::to_string(options.runs) + " runs");
  }
  if (options.untimed > options.order.size()) {
    return InvalidArgumentError("baseline: " + std::to_string(options.untimed) +
                                " untimed records of an order of " +
                                std::to_string(options.order.size()));
  }
  for (size_t i = 0; i < options.order.size(); ++i) {
    if (options.order[i].run >= options.runs) {
      return InvalidArgumentError(
          "baseline: record " + std::to_string(i) + " of the order is of run " +
          std::to_string(options.order[i].run) + " of " + std::to_string(options.runs));
    }
  }
  RETURN_IF_ERROR(PrepareJournalDir(options.dir, /*create=*/true));
  ASSIGN_OR_RETURN(std::unique_ptr<leveldb::DB> db,
                   OpenDb(options.dir, true, options.write_buffer_bytes, options.env));
  std::vector<std::string> runs = options.run_ids;
  if (runs.empty()) {
    runs.resize(options.runs);
    for (size_t i = 0; i < runs.size(); ++i) {
      // 36 characters, like the Kubernetes uids that name real runs.
      char id[64];
      std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012zu", i);
      runs[i] = id;
    }
  }
  const bool ordered = !options.order.empty();
  std::vector<uint64_t> seqs(ordered ? 0 : options.runs, 0);
  // The key of record i of the whole sequence, the untimed ones first.
  auto key_of = [&](uint64_t i, std::string* key) {
    key->clear();
    if (ordered) {
      AppendRecordKey(runs[options.order[i].run], options.order[i].seq, key);
    } else {
      size_t run = i % options.runs;
      AppendRecordKey(runs[run], ++seqs[run], key);
    }
  };
  std::string value(options.value_bytes, 'v');
  leveldb::WriteOptions w;
  w.sync = options.sync;
  leveldb::WriteBatch batch;
  std::string key;
  RawResult r;
  // Writes records [from, to) in batches of `per_batch`, adding their sizes to *bytes.
  auto write = [&](uint64_t from, uint64_t to, size_t per_batch, uint64_t* bytes) -> Status {
    for (uint64_t i = from; i < to;) {
      batch.Clear();
      for (size_t j = 0; j < per_batch && i < to; ++j, ++i) {
        key_of(i, &key);
        batch.Put(key, value);
        *bytes += key.size() + value.size();
      }
      leveldb::Status s = db->Write(w, &batch);
      if (!s.ok()) return FromLevelDb(s, "baseline: write");
    }
    return Status::OK();
  };
  const uint64_t untimed = options.untimed;
  uint64_t untimed_bytes = 0;
  RETURN_IF_ERROR(write(0, untimed, 4096, &untimed_bytes));
  const uint64_t end = ordered ? std::min<uint64_t>(options.order.size(), untimed + options.records)
                               : options.records;
  const double cpu0 = ProcessCpuSeconds();
  Clock::time_point t0 = Clock::now();
  RETURN_IF_ERROR(write(untimed, end, options.batch_records, &r.bytes));
  r.seconds = Seconds(t0);
  r.records = end - untimed;
  db.reset();
  r.cpu_seconds = ProcessCpuSeconds() - cpu0;
  return r;
}

Result<RawResult> RawLevelDbFullScan(const std::string& dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<leveldb::DB> db, OpenDb(dir, false, 8 << 20));
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  RawResult r;
  Clock::time_point t0 = Clock::now();
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(ro));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++r.records;
    r.bytes += it->key().size() + it->value().size();
  }
  r.seconds = Seconds(t0);
  RETURN_IF_ERROR(FromLevelDb(it->status(), "baseline: scan " + dir));
  return r;
}

Status RawLevelDbCompact(const std::string& dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<leveldb::DB> db, OpenDb(dir, false, 8 << 20));
  db->CompactRange(nullptr, nullptr);
  return Status::OK();
}

}  // namespace brfed::storage
