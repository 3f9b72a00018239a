// Reading the journal: one run, every active run (recovery), the run indexes.
//
// What recovery tolerates, and why (it never repairs anything; Verify reports the rest):
// - A torn or partly synced tail of LevelDB's log: LevelDB drops it as the end of the log
//   (leveldb db/log_reader.cc). Those records were never acknowledged: their batch's sync had
//   not returned, so no caller acted on them.
// - Records of an append whose `done` saw an error (a failed sync) that reached the disk anyway:
//   they are valid records in seq order, appended by the engine, which treats a failed append
//   as "maybe journaled" and continues from what it reads back.
// - Definitions no run references any more (after garbage collection): harmless text.
// Everything else inside a run (an undecodable record, a gap, a malformed key, an index entry
// that contradicts the records) is kDataLoss naming the run and seq: replaying a damaged run
// could redo a side effect whose record was lost, so the run is not recovered from a guess.
#include <leveldb/iterator.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <numeric>
#include <optional>

#include "storage/journal_impl.h"
#include "storage/keys.h"
#include "storage/leveldb_util.h"
#include "storage/record_codec.h"

namespace brfed::storage {
namespace {

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Whether the records of run `a` come before those of run `b`: their keys compare "<a>/" with
// "<b>/", so where one id is a prefix of the other the shorter one continues with '/'.
bool RecordOrderLess(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  if (int c = a.substr(0, n).compare(b.substr(0, n)); c != 0) return c < 0;
  auto next = [n](std::string_view s) {
    return static_cast<unsigned char>(n < s.size() ? s[n] : '/');
  };
  return next(a) < next(b);
}

// Run ids in one buffer: a string per id was an allocation per active run.
class IdList {
 public:
  void Add(std::string_view id) {
    bytes_.append(id);
    ends_.push_back(bytes_.size());
  }
  void clear() {
    bytes_.clear();
    ends_.clear();
  }
  size_t size() const { return ends_.size(); }
  std::string_view operator[](size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(bytes_).substr(begin, ends_[i] - begin);
  }

 private:
  std::string bytes_;
  std::vector<size_t> ends_;
};

// The ids of the active runs in id order, a few at a time: the ids under a/ that have no f/.
// Both indexes come in id order: a second iterator walks f/ alongside a/, so neither is held in
// memory however many finished runs are retained.
class ActiveIds {
 public:
  ActiveIds(leveldb::DB* db, const leveldb::ReadOptions& options)
      : a_(db->NewIterator(options)), f_(db->NewIterator(options)) {
    a_->Seek(ToSlice(kActivePrefix));
    f_->Seek(ToSlice(kFinishedPrefix));
  }

  // Calls fn(id) with each of the next active ids, up to `max` of them; with fewer at the end
  // of a/ or on an error (status()).
  template <typename Fn>
  void Next(size_t max, Fn&& fn) {
    for (size_t n = 0; n < max && a_->Valid(); a_->Next()) {
      std::string_view key = ToView(a_->key());
      if (!HasPrefix(key, kActivePrefix)) break;
      std::string_view id = key.substr(kActivePrefix.size());
      std::optional<std::string_view> done = FinishedId();
      for (; done && *done < id; done = FinishedId()) f_->Next();
      if (done && *done == id) continue;
      fn(id);
      ++n;
    }
  }

  Status status() const {
    if (!a_->status().ok()) {
      return FromLevelDb(a_->status(), "journal: scan " + std::string(kActivePrefix));
    }
    return FromLevelDb(f_->status(), "journal: scan " + std::string(kFinishedPrefix));
  }

 private:
  std::optional<std::string_view> FinishedId() const {
    std::string_view key = f_->Valid() ? ToView(f_->key()) : std::string_view();
    return HasPrefix(key, kFinishedPrefix) ? std::optional(key.substr(kFinishedPrefix.size()))
                                           : std::nullopt;
  }

  std::unique_ptr<leveldb::Iterator> a_;
  std::unique_ptr<leveldb::Iterator> f_;
};

// Reads the records of `run_id` starting at the iterator's position (its first key at or after
// `prefix`), up to `until_seq`, into *events, replacing what it held. Leaves the iterator at the
// first key after them. The caller checks it->status() afterwards.
Status ReadRunRecords(leveldb::Iterator* it, std::string_view run_id, std::string_view prefix,
                      uint64_t until_seq, std::vector<Event>* events) {
  auto where = [&] { return "journal: run " + std::string(run_id); };
  uint64_t expect = 1;
  for (; it->Valid(); it->Next()) {
    std::string_view key = ToView(it->key());
    if (!HasPrefix(key, prefix)) break;
    // Under r/<run-id>/ the rest of a record key is exactly its 8-byte seq.
    uint64_t seq = 0;
    if (!GetBigEndian64(key.substr(prefix.size()), &seq)) {
      return DataLossError(where() + ": malformed record key \"" + PrintableKey(key) + "\"");
    }
    if (seq != expect) {
      // LevelDB's iterator steps over a block it could not read and keeps the error for
      // status(): the gap is then that block, and its error says more than the gap does.
      if (!it->status().ok()) {
        return FromLevelDb(it->status(), where() + " after seq " + std::to_string(expect - 1));
      }
      return DataLossError(where() + ": seq " + std::to_string(expect) +
                           " is missing (the next record is seq " + std::to_string(seq) + ")");
    }
    if (seq > until_seq) break;
    // Decode into the slot a previous run left behind when there is one: its strings keep
    // their capacity (ForEachActiveRun reuses one vector for every run).
    size_t n = static_cast<size_t>(expect - 1);
    Event& e = n < events->size() ? (*events)[n] : events->emplace_back();
    if (Status s = DecodeRecordInto(ToView(it->value()), &e); !s.ok()) {
      return s.WithContext(where() + " seq " + std::to_string(seq));
    }
    if (e.seq != seq) {
      return DataLossError(where() + " seq " + std::to_string(seq) + ": the record says seq " +
                           std::to_string(e.seq));
    }
    ++expect;
  }
  events->resize(static_cast<size_t>(expect - 1));
  return Status::OK();
}

// The iterator's error, if any, placed after the last record read.
Status IteratorError(const leveldb::Iterator& it, std::string_view run_id,
                     const std::vector<Event>& events) {
  if (it.status().ok()) return Status::OK();
  std::string where = "journal: run " + std::string(run_id);
  if (!events.empty()) where += " after seq " + std::to_string(events.back().seq);
  return FromLevelDb(it.status(), where);
}

// Reads the active runs ids[first, end) with `it` and calls fn(i, run) for each, i being the
// run's index in `ids`; `run` is one object reused for every run.
Status VisitRuns(const IdList& ids, size_t first, size_t end, leveldb::Iterator* it,
                 const std::function<Status(size_t i, Journal::RunRecords& run)>& fn) {
  // a/ keys come in run-id order; record groups come in order of "<run-id>/", which differs
  // when one id is a prefix of another ("a" < "a-b" but "a-b/" < "a/"). The range is visited in
  // record order so its pass moves forward; Seek only skips runs that are not active.
  std::vector<size_t> order(end - first);
  std::iota(order.begin(), order.end(), first);
  auto by_records = [&](size_t a, size_t b) { return RecordOrderLess(ids[a], ids[b]); };
  // Usually already in order (no id is a prefix of another): one pass instead of a sort.
  if (!std::is_sorted(order.begin(), order.end(), by_records)) {
    std::sort(order.begin(), order.end(), by_records);
  }
  Journal::RunRecords rr;
  std::string prefix;
  bool sought = false;  // `it` may come from another range: the first run is sought
  for (size_t i : order) {
    rr.run_id.assign(ids[i]);
    prefix.clear();
    AppendRunPrefix(rr.run_id, &prefix);
    if (!sought || !it->Valid() || ToView(it->key()) < std::string_view(prefix)) {
      sought = true;
      RETURN_IF_ERROR(FromLevelDb(it->status(), "journal: read active runs"));
      it->Seek(prefix);
    }
    RETURN_IF_ERROR(ReadRunRecords(it, rr.run_id, prefix, UINT64_MAX, &rr.events));
    RETURN_IF_ERROR(IteratorError(*it, rr.run_id, rr.events));
    if (rr.events.empty()) {
      return DataLossError("journal: run " + rr.run_id +
                           " is in the active index but has no records");
    }
    if (rr.events.back().type == EventType::kRunFinished) {
      return DataLossError("journal: run " + rr.run_id + " seq " +
                           std::to_string(rr.events.back().seq) +
                           ": finished, but has no finish time (f/)");
    }
    RETURN_IF_ERROR(fn(i, rr));
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<Event>> JournalImpl::ReadRun(std::string_view run_id, uint64_t until_seq) {
  RETURN_IF_ERROR(ValidateRunId(run_id));
  std::string prefix = RunPrefix(run_id);
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ReadOpts()));
  it->Seek(prefix);
  bool exists = it->Valid() && HasPrefix(ToView(it->key()), prefix);
  Result<std::vector<Event>> result{std::vector<Event>()};
  std::vector<Event>& events = result.value();
  RETURN_IF_ERROR(ReadRunRecords(it.get(), run_id, prefix, until_seq, &events));
  RETURN_IF_ERROR(IteratorError(*it, run_id, events));
  if (!exists) return NotFoundError("journal: run " + std::string(run_id) + " not found");
  return result;
}

std::unique_ptr<leveldb::Iterator> JournalImpl::PassIterator() {
  leveldb::ReadOptions r = ReadOpts();
  r.fill_cache = false;  // one pass over everything: caching it would only evict useful blocks
  return std::unique_ptr<leveldb::Iterator>(db_->NewIterator(r));
}

Status JournalImpl::VisitActiveRuns(const std::function<Status(size_t, RunRecords&)>& fn,
                                    size_t* count) {
  IdList active;
  RETURN_IF_ERROR(ScanActiveIds([&](std::string_view id) { active.Add(id); }));
  *count = active.size();
  return VisitRuns(active, 0, active.size(), PassIterator().get(), fn);
}

Result<std::vector<Journal::RunRecords>> JournalImpl::ReadActiveRuns() {
  size_t count = 0;
  std::vector<RunRecords> out;
  RETURN_IF_ERROR(VisitActiveRuns(
      [&](size_t i, RunRecords& rr) {
        if (out.empty()) out.resize(count);
        out[i].run_id = std::move(rr.run_id);
        out[i].events = std::move(rr.events);
        return Status::OK();
      },
      &count));
  return out;  // out[i] is the run with the i-th active id in id order
}

Status JournalImpl::ForEachActiveRun(const std::function<Status(RunRecords& run)>& fn) {
  size_t count = 0;
  return VisitActiveRuns([&](size_t, RunRecords& rr) { return fn(rr); }, &count);
}

// One listing of the active ids, which the reading threads continue in turn: the thread that
// takes a part lists its ids, under the lock, then reads their records with its own iterator.
// (Each thread listing all of a/ itself was 8% of recovery's CPU.)
class JournalImpl::ListedRunParts final : public ActiveRunParts {
 public:
  ListedRunParts(JournalImpl* journal, size_t runs_per_part)
      : ActiveRunParts(runs_per_part),
        journal_(journal),
        listing_(journal->db_.get(), journal->ReadOpts()) {}

  void Read(const std::function<Status(size_t part, RunRecords& run)>& fn) override {
    std::unique_ptr<leveldb::Iterator> it = journal_->PassIterator();
    IdList ids;
    for (;;) {
      std::optional<size_t> part;
      Status listed;
      {
        std::lock_guard<std::mutex> l(mu_);
        ids.clear();
        listing_.Next(runs_per_part(), [&ids](std::string_view id) { ids.Add(id); });
        listed = listing_.status();
        if (ids.size() == 0 && listed.ok()) return;  // every active run is taken
        part = Take();  // under the lock: parts are numbered in the order they are listed
      }
      if (!part.has_value()) return;  // a part failed
      if (!listed.ok()) return Fail(*part, std::move(listed));
      Status s = VisitRuns(ids, 0, ids.size(), it.get(), [&](size_t, RunRecords& rr) {
        // The run's cursor, from what was read: its next append needs no lookup on disk.
        rr.cursor = std::make_shared<RunEntry>(RunInfo{rr.events.back().seq + 1, false},
                                               /*in_runs=*/false);
        return fn(*part, rr);
      });
      if (!s.ok()) return Fail(*part, std::move(s));
    }
  }

 private:
  JournalImpl* const journal_;
  std::mutex mu_;
  ActiveIds listing_;  // guarded by mu_
};

std::unique_ptr<ActiveRunParts> JournalImpl::ReadActiveRunParts(size_t runs_per_part) {
  return std::make_unique<ListedRunParts>(this, runs_per_part);
}

Status JournalImpl::ScanKeys(std::string_view prefix,
                             const std::function<void(std::string_view id)>& fn) {
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ReadOpts()));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    std::string_view key = ToView(it->key());
    if (!HasPrefix(key, prefix)) break;
    fn(key.substr(prefix.size()));
  }
  return FromLevelDb(it->status(), "journal: scan " + std::string(prefix));
}

Result<std::vector<std::string>> JournalImpl::ScanIds(std::string_view prefix) {
  std::vector<std::string> ids;
  RETURN_IF_ERROR(ScanKeys(prefix, [&](std::string_view id) { ids.emplace_back(id); }));
  return ids;
}

Status JournalImpl::ScanActiveIds(const std::function<void(std::string_view id)>& fn) {
  ActiveIds ids(db_.get(), ReadOpts());
  ids.Next(SIZE_MAX, fn);
  return ids.status();
}

Result<std::vector<std::string>> JournalImpl::ActiveRuns() {
  std::vector<std::string> ids;
  RETURN_IF_ERROR(ScanActiveIds([&](std::string_view id) { ids.emplace_back(id); }));
  return ids;
}

Result<std::vector<std::string>> JournalImpl::ListRuns() {
  // Every run has a/ from its RunStarted record and, once finished, f/ from its RunFinished
  // record, each written in the batch of that record (format-1 journals deleted a/ there).
  ASSIGN_OR_RETURN(std::vector<std::string> ids, ScanIds(kActivePrefix));
  ASSIGN_OR_RETURN(std::vector<std::string> finished, ScanIds(kFinishedPrefix));
  ids.insert(ids.end(), std::make_move_iterator(finished.begin()),
             std::make_move_iterator(finished.end()));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace brfed::storage
