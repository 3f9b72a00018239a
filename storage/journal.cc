#include "storage/journal.h"

#include <leveldb/cache.h>
#include <leveldb/env.h>
#include <leveldb/iterator.h>

#include <algorithm>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <iterator>
#include <unordered_set>

#include "storage/journal_dir.h"
#include "storage/journal_impl.h"
#include "storage/keys.h"
#include "storage/leveldb_util.h"
#include "storage/record_codec.h"

namespace brfed {

std::string Journal::Problem::ToString() const {
  std::string out;
  if (!run_id.empty()) {
    out += "run " + run_id;
    if (seq != 0) out += " seq " + std::to_string(seq);
    out += ": ";
  }
  out += what;
  return out;
}

Result<std::unique_ptr<LevelDbJournal>> OpenLevelDbJournal(const JournalOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::JournalImpl> j, storage::JournalImpl::Open(options));
  return std::unique_ptr<LevelDbJournal>(std::move(j));
}

Result<std::unique_ptr<Journal>> OpenJournal(const JournalOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::JournalImpl> j, storage::JournalImpl::Open(options));
  return std::unique_ptr<Journal>(std::move(j));
}

namespace storage {

// LevelDB's info log, kept in memory for the lines that explain damage ("dropping N bytes;
// Corruption: ..." names the file) so an open that fails can say where, and forwarded to the
// LOG file once the database is open. The LOG file is attached only after the LOCK is held:
// LevelDB itself renames LOG before locking, which clobbers the log of a running process.
class CaptureLogger final : public leveldb::Logger {
 public:
  ~CaptureLogger() override { delete file_; }

  void Logv(const char* format, std::va_list ap) override {
    std::va_list copy;
    va_copy(copy, ap);
    char buf[512];
    std::vsnprintf(buf, sizeof(buf), format, copy);
    va_end(copy);
    std::string_view line(buf);
    bool interesting = line.find("dropping") != std::string_view::npos ||
                       line.find("orruption") != std::string_view::npos ||
                       line.find("rror") != std::string_view::npos;
    std::lock_guard<std::mutex> l(mu_);
    if (interesting) {
      lines_.emplace_back(line);
      if (lines_.size() > 4) lines_.pop_front();
    }
    if (file_ != nullptr) file_->Logv(format, ap);
  }

  // Takes ownership of `file`.
  void Attach(leveldb::Logger* file) {
    std::lock_guard<std::mutex> l(mu_);
    delete file_;
    file_ = file;
  }

  // The captured lines, "; "-joined; empty when none.
  std::string Problems() const {
    std::lock_guard<std::mutex> l(mu_);
    std::string out;
    for (const std::string& s : lines_) {
      if (!out.empty()) out += "; ";
      out += s;
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::deque<std::string> lines_;
  leveldb::Logger* file_ = nullptr;
};

namespace {

using Clock = std::chrono::steady_clock;

// Appends of at most this many records check their runs by linear search.
constexpr size_t kSmallAppend = 16;

uint64_t NanosSince(Clock::time_point t0, Clock::time_point t1) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
}

LatencySummary Summarize(const Histogram& h) {
  return {h.count(), h.Percentile(0.50), h.Percentile(0.99), h.max()};
}

Result<uint64_t> ParseCrashAfter(const char* text) {
  std::string_view s(text);
  uint64_t n = 0;
  bool ok = !s.empty() && s.size() <= 18;
  for (char c : s) {
    if (c < '0' || c > '9') ok = false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok || n == 0) {
    return InvalidArgumentError("BRFED_CRASH_AFTER_RECORDS=" + std::string(s) +
                                ": not a positive integer");
  }
  return n;
}

}  // namespace

std::string_view JournalImpl::EncodedAppend::run_id(const EncodedRecord& r) const {
  return std::string_view(bytes).substr(r.begin + kRecordPrefix.size(),
                                        r.key_size - kRecordPrefix.size() - 1 - kSeqBytes);
}

JournalImpl::JournalImpl(const JournalOptions& options, std::string dir)
    : options_(options), dir_(std::move(dir)) {}

Result<std::unique_ptr<JournalImpl>> JournalImpl::Open(const JournalOptions& options) {
  RETURN_IF_ERROR(storage::PrepareJournalDir(options.dir, options.create_if_missing));
  std::string dir = options.dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::unique_ptr<JournalImpl> j(new JournalImpl(options, dir));
  if (const char* crash = std::getenv("BRFED_CRASH_AFTER_RECORDS"); crash != nullptr) {
    ASSIGN_OR_RETURN(j->crash_after_records_, ParseCrashAfter(crash));
  }
  RETURN_IF_ERROR(j->OpenDb());
  RETURN_IF_ERROR(j->CheckFormat());
  j->committer_ = std::thread(&JournalImpl::CommitLoop, j.get());
  return j;
}

Status JournalImpl::OpenDb() {
  leveldb::Env* env = options_.env != nullptr ? options_.env : leveldb::Env::Default();
  if (!options_.create_if_missing && !env->FileExists(dir_ + "/CURRENT")) {
    return NotFoundError("journal " + dir_ + " holds no journal");
  }
  logger_ = std::make_unique<CaptureLogger>();
  cache_.reset(leveldb::NewLRUCache(options_.block_cache_bytes));

  leveldb::Options o;
  o.env = env;
  o.create_if_missing = options_.create_if_missing;
  o.paranoid_checks = true;  // damage found while opening fails the open instead of being skipped
  o.write_buffer_size = options_.write_buffer_bytes;
  o.block_cache = cache_.get();
  o.info_log = logger_.get();
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(o, dir_, &db);
  if (!s.ok()) {
    if (IsLockError(s)) {
      return UnavailableError("journal " + dir_ + " is in use by another process");
    }
    Status st = FromLevelDb(s, "journal " + dir_ + ": open");
    std::string where = logger_->Problems();
    if (!where.empty()) st = Status(st.code(), st.message() + " (" + where + ")");
    return st;
  }
  db_.reset(db);

  // The LOCK is ours now: start the LOG file (the previous one becomes LOG.old). A journal
  // without a LOG file still works, so failures here are ignored.
  leveldb::Status renamed = env->RenameFile(dir_ + "/LOG", dir_ + "/LOG.old");
  (void)renamed;
  leveldb::Logger* file = nullptr;
  if (env->NewLogger(dir_ + "/LOG", &file).ok()) logger_->Attach(file);
  return Status::OK();
}

Status JournalImpl::CheckFormat() {
  Result<std::string> format = Get(kFormatKey, "journal: read m/format");
  if (format.ok()) {
    uint64_t v = 0;
    bool ok = !format->empty() && format->size() <= 18;
    for (char c : *format) {
      if (c < '0' || c > '9') ok = false;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!ok || v == 0) {
      return DataLossError("journal " + dir_ + ": m/format holds \"" + PrintableKey(*format) +
                           "\", not a version number");
    }
    if (v > kFormatVersion) {
      return FailedPreconditionError("journal " + dir_ + " has format " + std::to_string(v) +
                                     "; this binary reads formats up to " +
                                     std::to_string(kFormatVersion));
    }
    if (v == kFormatVersion) return Status::OK();
    // Format 1 differs only in deleting a/ when a run finished, and its journals read the same
    // under format 2's rule (active: a/ without f/). Stamping the new version before the first
    // append makes binaries that know only format 1 refuse the journal from now on: they
    // would take a finished run that keeps its a/ key for an active one.
    leveldb::WriteBatch b;
    b.Put(ToSlice(kFormatKey), std::to_string(kFormatVersion));
    return WriteSync(&b, "journal " + dir_ + ": upgrade m/format from " + std::to_string(v));
  }
  if (format.status().code() != StatusCode::kNotFound) return format.status();

  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ReadOpts()));
  it->SeekToFirst();
  if (it->Valid()) {
    return FailedPreconditionError("journal " + dir_ +
                                   ": a LevelDB database without m/format, not a brfed journal");
  }
  RETURN_IF_ERROR(FromLevelDb(it->status(), "journal " + dir_ + ": open"));
  leveldb::WriteBatch b;
  b.Put(ToSlice(kFormatKey), std::to_string(kFormatVersion));
  return WriteSync(&b, "journal " + dir_ + ": write m/format");
}

JournalImpl::~JournalImpl() {
  if (committer_.joinable()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
    }
    work_cv_.notify_one();
    committer_.join();  // drains the queue first: every `done` runs
  }
  db_.reset();
}

leveldb::ReadOptions JournalImpl::ReadOpts() const {
  leveldb::ReadOptions r;
  r.verify_checksums = true;
  return r;
}

Result<std::string> JournalImpl::Get(std::string_view key, std::string_view context) {
  std::string value;
  leveldb::Status s = db_->Get(ReadOpts(), ToSlice(key), &value);
  if (!s.ok()) return FromLevelDb(s, context);
  return value;
}

Status JournalImpl::StickyError() {
  std::lock_guard<std::mutex> l(mu_);
  return sticky_;
}

void JournalImpl::SetStickyError(const Status& s) {
  std::lock_guard<std::mutex> l(mu_);
  if (sticky_.ok()) sticky_ = s;
}

Status JournalImpl::WriteSync(leveldb::WriteBatch* batch, std::string_view context) {
  RETURN_IF_ERROR(StickyError());
  leveldb::WriteOptions w;
  w.sync = options_.sync;
  leveldb::Status s = db_->Write(w, batch);
  if (s.ok()) return Status::OK();
  Status st = FromLevelDb(s, context);
  SetStickyError(st);
  return st;
}

// ---- Definitions and the leader epoch -------------------------------------------------------

Status JournalImpl::PutDefinition(std::string_view hash, std::string_view text) {
  if (hash.empty()) return InvalidArgumentError("journal: definition with an empty hash");
  std::string key = DefinitionKey(hash);
  Result<std::string> existing = Get(key, "journal: read definition " + PrintableKey(hash));
  if (existing.ok()) {
    if (*existing == text) return Status::OK();
    return AlreadyExistsError("journal: definition " + PrintableKey(hash) +
                              " is already stored with a different text");
  }
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  leveldb::WriteBatch b;
  b.Put(key, ToSlice(text));
  return WriteSync(&b, "journal: write definition " + PrintableKey(hash));
}

Result<std::string> JournalImpl::GetDefinition(std::string_view hash) {
  Result<std::string> text = Get(DefinitionKey(hash), "journal: read definition");
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
    return NotFoundError("journal: definition " + PrintableKey(hash) + " not found");
  }
  return text;
}

Result<uint64_t> JournalImpl::LeaderEpoch() {
  Result<std::string> v = Get(kEpochKey, "journal: read m/epoch");
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound) return uint64_t{0};
    return v.status();
  }
  uint64_t epoch = 0;
  if (!GetBigEndian64(*v, &epoch)) {
    return DataLossError("journal: m/epoch holds " + std::to_string(v->size()) + " bytes, want 8");
  }
  return epoch;
}

Status JournalImpl::SetLeaderEpoch(uint64_t epoch) {
  std::lock_guard<std::mutex> l(epoch_mu_);
  ASSIGN_OR_RETURN(uint64_t current, LeaderEpoch());
  if (epoch < current) {
    return FailedPreconditionError("journal: leader epoch " + std::to_string(epoch) +
                                   " is below the stored epoch " + std::to_string(current));
  }
  std::string v;
  PutBigEndian64(epoch, &v);
  leveldb::WriteBatch b;
  b.Put(ToSlice(kEpochKey), v);
  return WriteSync(&b, "journal: write m/epoch");
}

// ---- Appends and the committer --------------------------------------------------------------

JournalImpl::EncodedAppend& JournalImpl::Scratch() {
  thread_local EncodedAppend a;
  // A buffer grown for a rare big append is given back rather than kept by the thread.
  constexpr size_t kMaxKeptBytes = 64 << 10;
  if (a.bytes.capacity() > kMaxKeptBytes) std::string().swap(a.bytes);
  a.bytes.clear();
  a.records.clear();
  return a;
}

void JournalImpl::Refuse(Status s, std::function<void(Status)> done) {
  {
    std::lock_guard<std::mutex> l(mu_);
    Queue(nullptr, Waiter{std::move(done), std::move(s), Clock::now()});
  }
  work_cv_.notify_one();
}

void JournalImpl::AppendAsync(std::vector<Entry> entries, std::function<void(Status)> done) {
  const SteadyTime enqueued = Clock::now();
  EncodedAppend& a = Scratch();
  // Encoding happens here, on the caller's thread, outside every lock.
  for (const Entry& e : entries) {
    if (Status s = ValidateRunId(e.run_id); !s.ok()) {
      return Refuse(s.WithContext("journal: append"), std::move(done));
    }
    if (Status s = EncodeEntry(e.run_id, e.event, &a); !s.ok()) {
      return Refuse(std::move(s), std::move(done));
    }
  }
  Submit(a, std::move(done), enqueued);
}

void JournalImpl::AppendRunAsync(std::string_view run_id, const std::vector<Event>& events,
                                 std::shared_ptr<RunCursor>* cursor,
                                 std::function<void(Status)> done) {
  const SteadyTime enqueued = Clock::now();
  if (Status s = ValidateRunId(run_id); !s.ok()) {
    return Refuse(s.WithContext("journal: append"), std::move(done));
  }
  EncodedAppend& a = Scratch();
  for (const Event& e : events) {
    if (Status s = EncodeEntry(run_id, e, &a); !s.ok()) {
      return Refuse(std::move(s), std::move(done));
    }
  }
  Submit(a, std::move(done), enqueued, cursor);
}

Status JournalImpl::EncodeEntry(std::string_view run_id, const Event& event,
                                EncodedAppend* a) const {
  auto where = [&] {  // only for an error
    return "journal: append run " + std::string(run_id) + " seq " + std::to_string(event.seq);
  };
  EncodedRecord r;
  r.begin = a->bytes.size();
  AppendRecordKey(run_id, event.seq, &a->bytes);
  r.key_size = a->bytes.size() - r.begin;
  if (Status s = AppendRecord(event, &a->bytes); !s.ok()) return s.WithContext(where());
  r.size = a->bytes.size() - r.begin;
  if (r.size - r.key_size > options_.max_record_bytes) {
    return InvalidArgumentError(where() + ": record of " + std::to_string(r.size - r.key_size) +
                                " bytes is over the cap of " +
                                std::to_string(options_.max_record_bytes));
  }
  r.seq = event.seq;
  r.type = event.type;
  r.time_ms = ToUnixMillis(event.time);
  a->records.push_back(r);
  return Status::OK();
}

void JournalImpl::Submit(const EncodedAppend& a, std::function<void(Status)> done,
                         SteadyTime enqueued, std::shared_ptr<RunCursor>* cursor) {
  // The common case takes the lock once: every run of the append is known, checked and
  // advanced, and the append queued. Runs this process does not know (new, or forgotten once
  // finished) are then looked up on disk, outside the lock, and the check is made again. A run
  // can be forgotten between the two (its RunFinished became durable): it is looked up again,
  // and the disk says it is finished.
  for (int round = 0;; ++round) {
    std::vector<std::string> unknown;
    {
      std::lock_guard<std::mutex> l(mu_);
      bool missing = false;
      Status s = sticky_;
      // A filled cursor is the run's entry: no lookup among the runs.
      RunEntry* known = cursor != nullptr ? static_cast<RunEntry*>(cursor->get()) : nullptr;
      if (known != nullptr && !known->registered && !a.records.empty()) {
        Register(a.run_id(a.records.front()), cursor);
        known = static_cast<RunEntry*>(cursor->get());
      }
      if (s.ok()) s = CheckAndAdvance(a, known ? &known->info : nullptr, &missing);
      if (s.ok() && !missing && known == nullptr && cursor != nullptr && !a.records.empty()) {
        *cursor = runs_.find(a.run_id(a.records.front()))->second;  // the run's first append
      }
      if (!missing || round >= 3) {
        if (missing) s = AbortedError("journal: append: a run was forgotten under it 3 times");
        Queue(&a, Waiter{std::move(done), std::move(s), enqueued});
        break;
      }
      unknown = UnknownRuns(a);
    }
    std::vector<std::pair<std::string, RunInfo>> found;
    for (std::string& run : unknown) {
      Result<RunInfo> info = LookupRun(run);
      if (!info.ok()) {
        return Refuse(info.status().WithContext("journal: append run " + run), std::move(done));
      }
      found.emplace_back(std::move(run), *info);
    }
    std::lock_guard<std::mutex> l(mu_);
    // try_emplace: another append may have added the run meanwhile, with queued records that
    // the disk does not show yet; its entry is the newer one.
    for (auto& [run, info] : found) {
      auto it = runs_.try_emplace(std::move(run)).first;
      if (it->second == nullptr) it->second = std::make_shared<RunEntry>(info);
    }
  }
  work_cv_.notify_one();
}

void JournalImpl::Register(std::string_view run_id, std::shared_ptr<RunCursor>* cursor) {
  auto [it, fresh] = runs_.try_emplace(std::string(run_id));
  if (fresh) {
    it->second = std::static_pointer_cast<RunEntry>(*cursor);
    it->second->registered = true;
  } else {
    *cursor = it->second;  // the journal's entry is the run's truth
  }
}

std::vector<std::string> JournalImpl::UnknownRuns(const EncodedAppend& a) const {
  const std::vector<EncodedRecord>& records = a.records;
  std::vector<std::string> unknown;
  std::unordered_set<std::string_view> listed;  // only for appends of many records
  std::string_view previous;                    // an append's records mostly belong to one run
  for (const EncodedRecord& r : records) {
    std::string_view run = a.run_id(r);
    if (run == previous) continue;
    previous = run;
    if (runs_.find(run) != runs_.end()) continue;
    bool seen = records.size() <= kSmallAppend
                    ? std::find(unknown.begin(), unknown.end(), run) != unknown.end()
                    : !listed.insert(run).second;
    if (!seen) unknown.emplace_back(run);
  }
  return unknown;
}

Status JournalImpl::CheckAndAdvance(const EncodedAppend& a, RunInfo* known, bool* missing) {
  const std::vector<EncodedRecord>& records = a.records;
  // The new state of each run touched, applied only when every record passes. Most appends
  // carry a record or two: a linear search; big ones (recovery tools, benchmarks) get an index.
  std::vector<std::pair<RunInfo*, RunInfo>>& touched = touched_;  // memory kept between calls
  touched.clear();
  std::unordered_map<RunInfo*, size_t> index;
  touched.reserve(records.size());
  std::string_view previous;
  RunInfo* live = nullptr;
  for (const EncodedRecord& r : records) {
    std::string_view run = a.run_id(r);
    if (known != nullptr) {
      live = known;
    } else if (run != previous) {
      auto it = runs_.find(run);
      if (it == runs_.end()) {
        *missing = true;  // Submit looks it up on disk
        return Status::OK();
      }
      live = &it->second->info;
    }
    previous = run;
    size_t i = touched.size();
    if (records.size() <= kSmallAppend) {
      for (size_t k = 0; k < touched.size(); ++k) {
        if (touched[k].first == live) i = k;
      }
    } else {
      i = index.try_emplace(live, touched.size()).first->second;
    }
    if (i == touched.size()) touched.emplace_back(live, *live);
    RunInfo& next = touched[i].second;
    // Built only for an error: this loop runs for every record journaled.
    auto where = [&] {
      return "journal: append run " + std::string(run) + " seq " + std::to_string(r.seq);
    };
    if (next.finished) return FailedPreconditionError(where() + ": the run is finished");
    if (r.seq != next.next_seq) {
      return FailedPreconditionError(where() + ": out of order, expected seq " +
                                     std::to_string(next.next_seq));
    }
    if (r.seq == 1 && r.type != EventType::kRunStarted) {
      return FailedPreconditionError(where() + ": a run's first record must be RunStarted");
    }
    if (r.seq != 1 && r.type == EventType::kRunStarted) {
      return FailedPreconditionError(where() + ": RunStarted must be the run's first record");
    }
    if (r.seq > options_.max_records_per_run && r.type != EventType::kRunFinished) {
      return ResourceExhaustedError(where() + ": the run reached its cap of " +
                                    std::to_string(options_.max_records_per_run) + " records");
    }
    next.next_seq = r.seq + 1;
    next.finished = r.type == EventType::kRunFinished;
  }
  for (auto& [info, next] : touched) *info = next;
  return Status::OK();
}

Result<JournalImpl::RunInfo> JournalImpl::LookupRun(std::string_view run_id) {
  std::string prefix = RunPrefix(run_id);
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ReadOpts()));
  it->Seek(PrefixEnd(prefix));
  if (it->Valid()) {
    it->Prev();
  } else if (it->status().ok()) {
    it->SeekToLast();
  }
  RunInfo info;
  if (it->Valid() && ToView(it->key()).substr(0, prefix.size()) == prefix) {
    std::string_view run;
    uint64_t seq = 0;
    if (!ParseRecordKey(ToView(it->key()), &run, &seq)) {
      return DataLossError("malformed record key \"" + PrintableKey(ToView(it->key())) + "\"");
    }
    Result<Event> last = DecodeRecord(ToView(it->value()));
    if (!last.ok()) return last.status().WithContext("seq " + std::to_string(seq));
    info.next_seq = seq + 1;
    info.finished = last->type == EventType::kRunFinished;
  }
  RETURN_IF_ERROR(FromLevelDb(it->status(), "read its last record"));
  return info;
}

void JournalImpl::Queue(const EncodedAppend* a, Waiter w) {
  // An append joins the newest group while it holds fewer than max_batch_records records (an
  // append is never split).
  if (groups_.empty() || groups_.back()->records >= options_.max_batch_records) {
    if (spare_groups_.empty()) {
      groups_.push_back(std::make_unique<Group>());
    } else {
      groups_.push_back(std::move(spare_groups_.back()));
      spare_groups_.pop_back();
    }
  }
  Group& g = *groups_.back();
  if (a != nullptr && w.status.ok()) {
    for (const EncodedRecord& r : a->records) {
      g.batch.Put(ToSlice(a->key(r)), ToSlice(a->value(r)));
      ++g.records;
      g.bytes += r.size;
      // a/ stays when the run finishes (f/ tells it is finished): one write fewer per run, in
      // a part of the key space the batch's records do not touch. engine_bench, alternated:
      // a few percent more transitions/s, about the size of its noise.
      if (r.type == EventType::kRunStarted) {
        index_key_.assign(kActivePrefix).append(a->run_id(r));
        g.batch.Put(index_key_, leveldb::Slice());
      } else if (r.type == EventType::kRunFinished) {
        index_key_.assign(kFinishedPrefix).append(a->run_id(r));
        index_value_.clear();
        PutBigEndian64(static_cast<uint64_t>(r.time_ms), &index_value_);
        g.batch.Put(index_key_, index_value_);
        if (g.finished_count == g.finished.size()) g.finished.emplace_back();
        g.finished[g.finished_count++].assign(a->run_id(r));
      }
    }
    w.has_records = !a->records.empty();
  }
  g.waiters.push_back(std::move(w));
}

void JournalImpl::Recycle(std::unique_ptr<Group> g) {
  // Enough for the group being filled while one is written; a batch grown by a rare huge
  // append is freed rather than kept.
  constexpr size_t kMaxSpares = 2;
  constexpr size_t kMaxKeptBatchBytes = 8 << 20;
  if (spare_groups_.size() >= kMaxSpares || g->batch.ApproximateSize() > kMaxKeptBatchBytes) {
    return;
  }
  g->batch.Clear();
  g->waiters.clear();
  g->records = 0;
  g->bytes = 0;
  g->finished_count = 0;
  spare_groups_.push_back(std::move(g));
}

void JournalImpl::CommitLoop() {
  std::unique_ptr<Group> g;
  leveldb::WriteOptions w;
  w.sync = options_.sync;
  while (true) {
    Status s;
    {
      std::unique_lock<std::mutex> l(mu_);
      if (g != nullptr) Recycle(std::move(g));
      work_cv_.wait(l, [this] { return !groups_.empty() || stopping_; });
      if (groups_.empty()) return;  // stopping, and every queued append has been answered
      g = std::move(groups_.front());
      groups_.pop_front();
      s = sticky_;
    }
    const uint64_t n = g->records;
    uint64_t write_nanos = 0;
    bool wrote = false;
    if (s.ok() && n > 0) {
      Clock::time_point t0 = Clock::now();
      leveldb::Status ls = db_->Write(w, &g->batch);
      write_nanos = NanosSince(t0, Clock::now());
      wrote = true;
      if (!ls.ok()) {
        s = FromLevelDb(ls, "journal: commit");
        SetStickyError(s);
      }
    }
    Clock::time_point durable = Clock::now();
    {
      std::lock_guard<std::mutex> l(stats_mu_);
      if (wrote && s.ok()) {
        ++stats_.batches;
        stats_.records += n;
        stats_.record_bytes += g->bytes;
        stats_.commit_nanos_total += write_nanos;
        stats_.commit_nanos_max = std::max(stats_.commit_nanos_max, write_nanos);
        batch_latency_.Add(write_nanos);
        for (const Waiter& x : g->waiters) {
          if (x.has_records) append_latency_.Add(NanosSince(x.enqueued, durable));
        }
      }
    }
    if (wrote && s.ok() && crash_after_records_ > 0) {
      records_committed_ += n;
      // The failpoint of the process crash tests: durable, and nobody has been told.
      if (records_committed_ >= crash_after_records_) std::raise(SIGKILL);
    }
    if (wrote && s.ok()) ForgetFinished(*g);
    for (Waiter& x : g->waiters) {
      if (x.done) x.done(x.status.ok() ? s : x.status);
    }
    g->waiters.clear();  // the callbacks go here, outside every lock
  }
}

Status JournalImpl::Append(std::vector<Entry> entries) {
  if (std::this_thread::get_id() == committer_.get_id()) {
    return FailedPreconditionError(
        "journal: Append called from a done callback would wait for itself; use AppendAsync");
  }
  std::promise<Status> promise;
  std::future<Status> result = promise.get_future();
  AppendAsync(std::move(entries), [&promise](Status s) { promise.set_value(std::move(s)); });
  return result.get();
}

void JournalImpl::ForgetFinished(const Group& g) {
  if (g.finished_count == 0) return;
  std::lock_guard<std::mutex> l(mu_);
  for (size_t i = 0; i < g.finished_count; ++i) {
    auto it = runs_.find(g.finished[i]);
    if (it != runs_.end() && it->second->info.finished) runs_.erase(it);
  }
}

JournalStats JournalImpl::stats() const {
  JournalStats out;
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    out = stats_;
  }
  std::lock_guard<std::mutex> l(mu_);
  out.runs_in_memory = runs_.size();
  return out;
}

LatencySummary JournalImpl::AppendLatency() const {
  std::lock_guard<std::mutex> l(stats_mu_);
  return Summarize(append_latency_);
}

LatencySummary JournalImpl::BatchLatency() const {
  std::lock_guard<std::mutex> l(stats_mu_);
  return Summarize(batch_latency_);
}

void JournalImpl::ResetLatencies() {
  std::lock_guard<std::mutex> l(stats_mu_);
  append_latency_.Clear();
  batch_latency_.Clear();
}

// ---- Retention -------------------------------------------------------------------------------

Result<int> JournalImpl::CollectGarbage(TimePoint now) {
  std::vector<std::pair<std::string, int64_t>> finished;
  {
    leveldb::ReadOptions r = ReadOpts();
    r.fill_cache = false;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(r));
    for (it->Seek(ToSlice(kFinishedPrefix)); it->Valid(); it->Next()) {
      std::string_view key = ToView(it->key());
      if (key.substr(0, kFinishedPrefix.size()) != kFinishedPrefix) break;
      uint64_t ms = 0;
      // A damaged finish time is skipped, not guessed: the run stays until repaired, and
      // Verify reports it.
      if (!GetBigEndian64(ToView(it->value()), &ms)) continue;
      finished.emplace_back(std::string(key.substr(kFinishedPrefix.size())),
                            static_cast<int64_t>(ms));
    }
    RETURN_IF_ERROR(FromLevelDb(it->status(), "journal: collect garbage: scan f/"));
  }
  int deleted = 0;
  for (const auto& [run, ms] : finished) {
    if (FromUnixMillis(ms) + options_.retention > now) continue;
    RETURN_IF_ERROR(DeleteRun(run));
    ++deleted;
  }
  return deleted;
}

Status JournalImpl::DeleteRun(std::string_view run_id) {
  std::string context = "journal: collect garbage: run " + PrintableKey(run_id);
  std::string prefix = RunPrefix(run_id);
  leveldb::WriteBatch b;
  {
    leveldb::ReadOptions r = ReadOpts();
    r.fill_cache = false;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(r));
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      if (ToView(it->key()).substr(0, prefix.size()) != prefix) break;
      b.Delete(it->key());
    }
    RETURN_IF_ERROR(FromLevelDb(it->status(), context));
  }
  // a/ (format 1 journals have none for finished runs) goes with the rest.
  b.Delete(ActiveKey(run_id));
  b.Delete(FinishedKey(run_id));
  RETURN_IF_ERROR(WriteSync(&b, context));
  std::lock_guard<std::mutex> l(mu_);
  runs_.erase(std::string(run_id));
  return Status::OK();
}

}  // namespace storage
}  // namespace brfed
