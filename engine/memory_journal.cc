#include "engine/memory_journal.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <utility>

namespace brfed {
namespace {

constexpr size_t kMaxRunIdBytes = 253;  // as storage/keys.h

Status ValidateRunId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRunIdBytes || id.find('/') != std::string_view::npos) {
    return InvalidArgumentError("journal: bad run id \"" + std::string(id) +
                                "\" (1.." + std::to_string(kMaxRunIdBytes) +
                                " bytes, no '/')");
  }
  return Status::OK();
}

// The size a record would roughly take encoded: its strings and the JSON of its values.
size_t ApproximateSize(const Event& e) {
  const RunStart& s = e.start.get();
  size_t n = 64 + s.workflow_name.size() + s.definition_hash.size() + e.step_id.size() +
             e.idempotency_key.size() + e.message.size();
  if (!s.params.is_null()) n += s.params.ToJson().size();
  if (!e.outputs.is_null()) n += e.outputs.ToJson().size();
  return n;
}

std::string Where(const std::string& run_id, uint64_t seq) {
  return "journal: run " + run_id + " seq " + std::to_string(seq);
}

}  // namespace

MemoryJournal::MemoryJournal(MemoryJournalOptions options)
    : options_(options), committer_([this] { CommitLoop(); }) {}

MemoryJournal::~MemoryJournal() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  committer_.join();
}

Status MemoryJournal::PutDefinition(std::string_view hash, std::string_view text) {
  if (hash.empty()) return InvalidArgumentError("journal: definition with an empty hash");
  std::lock_guard<std::mutex> l(mu_);
  if (!sticky_.ok()) return sticky_;
  auto [it, added] = definitions_.try_emplace(std::string(hash), std::string(text));
  if (!added && it->second != text) {
    return AlreadyExistsError("journal: definition " + std::string(hash) +
                              " is already stored with a different text");
  }
  return Status::OK();
}

Result<std::string> MemoryJournal::GetDefinition(std::string_view hash) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = definitions_.find(hash);
  if (it == definitions_.end()) {
    return NotFoundError("journal: no definition " + std::string(hash));
  }
  return it->second;
}

void MemoryJournal::AppendAsync(std::vector<Entry> entries, std::function<void(Status)> done) {
  {
    std::lock_guard<std::mutex> l(mu_);
    queue_.push_back(Pending{std::move(entries), std::move(done)});
  }
  cv_.notify_all();
}

Status MemoryJournal::Append(std::vector<Entry> entries) {
  std::promise<Status> p;
  std::future<Status> f = p.get_future();
  AppendAsync(std::move(entries), [&p](Status s) { p.set_value(std::move(s)); });
  return f.get();
}

Status MemoryJournal::Stage(const std::vector<Entry>& entries,
                            std::map<std::string, RunData>* staged) {
  // Work on copies of the touched runs so a rejected append leaves nothing behind.
  std::map<std::string, RunData> mine;
  auto run_of = [&](const std::string& id) -> RunData& {
    auto m = mine.find(id);
    if (m != mine.end()) return m->second;
    auto s = staged->find(id);
    if (s != staged->end()) return mine[id] = s->second;
    auto c = runs_.find(id);
    return mine[id] = c != runs_.end() ? c->second : RunData{};
  };
  for (const Entry& entry : entries) {
    RETURN_IF_ERROR(ValidateRunId(entry.run_id));
    const Event& e = entry.event;
    RunData& run = run_of(entry.run_id);
    uint64_t want = run.events.size() + 1;
    // Codes as the LevelDB journal's (storage/journal.cc): misuse is kFailedPrecondition.
    if (!run.events.empty() && run.events.back().type == EventType::kRunFinished) {
      return FailedPreconditionError(Where(entry.run_id, e.seq) + ": the run is finished");
    }
    if (e.seq != want) {
      return FailedPreconditionError(Where(entry.run_id, e.seq) +
                                     ": out of order, expected seq " + std::to_string(want));
    }
    if ((want == 1) != (e.type == EventType::kRunStarted)) {
      return FailedPreconditionError(Where(entry.run_id, e.seq) +
                                     (want == 1 ? ": a run's first record must be RunStarted"
                                                : ": RunStarted must be the run's first record"));
    }
    if (e.type != EventType::kRunFinished && run.events.size() >= options_.max_records_per_run) {
      return ResourceExhaustedError(Where(entry.run_id, e.seq) + ": the run holds " +
                                    std::to_string(run.events.size()) +
                                    " records, the cap");
    }
    size_t size = ApproximateSize(e);
    if (size > options_.max_record_bytes) {
      return InvalidArgumentError(Where(entry.run_id, e.seq) + ": record of " +
                                  std::to_string(size) + " bytes exceeds the cap of " +
                                  std::to_string(options_.max_record_bytes));
    }
    run.events.push_back(e);
    if (e.type == EventType::kRunStarted) run.active = true;
    if (e.type == EventType::kRunFinished) {
      run.active = false;
      run.finished_at = e.time;
    }
  }
  for (auto& [id, run] : mine) (*staged)[id] = std::move(run);
  return Status::OK();
}

void MemoryJournal::CommitLoop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and drained
    std::deque<Pending> batch;
    batch.swap(queue_);
    auto start = std::chrono::steady_clock::now();
    std::map<std::string, RunData> staged;
    std::vector<Status> results;
    std::vector<Entry> committed;
    bool crashed = false;
    for (Pending& p : batch) {
      if (crashed || !sticky_.ok()) {
        results.push_back(sticky_.ok() ? UnavailableError("journal: crashed") : sticky_);
        continue;
      }
      Status s = Stage(p.entries, &staged);
      results.push_back(s);
      if (!s.ok()) continue;
      for (Entry& e : p.entries) committed.push_back(e);
      if (crash_left_.has_value()) {
        uint64_t n = p.entries.size();
        if (n >= *crash_left_) {
          crashed = true;  // this append is the last one kept
          crash_left_.reset();
        } else {
          *crash_left_ -= n;
        }
      }
    }
    for (auto& [id, run] : staged) runs_[id] = std::move(run);
    log_.insert(log_.end(), committed.begin(), committed.end());
    if (!committed.empty()) {
      auto nanos = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::steady_clock::now() - start)
                                             .count());
      stats_.batches++;
      stats_.records += committed.size();
      stats_.commit_nanos_total += nanos;
      stats_.commit_nanos_max = std::max(stats_.commit_nanos_max, nanos);
    }
    if (crashed) {
      // The process "died" right after this batch became durable: no callback of it ran.
      sticky_ = UnavailableError("journal: crashed (simulated)");
      for (Status& s : results) {
        if (s.ok()) s = sticky_;
      }
    }
    l.unlock();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) batch[i].done(results[i]);
    }
    l.lock();
  }
}

Result<std::vector<std::string>> MemoryJournal::ActiveRuns() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, run] : runs_) {
    if (run.active) ids.push_back(id);
  }
  return ids;
}

Result<std::vector<std::string>> MemoryJournal::ListRuns() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, run] : runs_) ids.push_back(id);
  return ids;
}

Result<std::vector<Event>> MemoryJournal::ReadLocked(const std::string& run_id,
                                                     const RunData& run,
                                                     uint64_t until_seq) const {
  std::vector<Event> out;
  for (size_t i = 0; i < run.events.size(); ++i) {
    const Event& e = run.events[i];
    if (e.seq != i + 1) {
      return DataLossError(Where(run_id, i + 1) + ": missing (found seq " +
                           std::to_string(e.seq) + " in its place)");
    }
    if (e.seq > until_seq) break;
    out.push_back(e);
  }
  return out;
}

Result<std::vector<Event>> MemoryJournal::ReadRun(std::string_view run_id, uint64_t until_seq) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return NotFoundError("journal: no run " + std::string(run_id));
  return ReadLocked(it->first, it->second, until_seq);
}

Result<std::vector<Journal::RunRecords>> MemoryJournal::ReadActiveRuns() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<RunRecords> out;
  for (const auto& [id, run] : runs_) {
    if (!run.active) continue;
    ASSIGN_OR_RETURN(std::vector<Event> events,
                     ReadLocked(id, run, std::numeric_limits<uint64_t>::max()));
    out.push_back(RunRecords{id, std::move(events), nullptr});
  }
  return out;
}

Result<int> MemoryJournal::CollectGarbage(TimePoint now) {
  std::lock_guard<std::mutex> l(mu_);
  int n = 0;
  for (auto it = runs_.begin(); it != runs_.end();) {
    const RunData& run = it->second;
    if (!run.active && run.finished_at.has_value() && *run.finished_at + options_.retention <= now) {
      it = runs_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

Result<std::vector<Journal::Problem>> MemoryJournal::Verify() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Problem> problems;
  for (const auto& [id, run] : runs_) {
    for (size_t i = 0; i < run.events.size(); ++i) {
      if (run.events[i].seq != i + 1) {
        problems.push_back({id, i + 1, "missing; found seq " +
                                           std::to_string(run.events[i].seq) + " in its place"});
        break;
      }
    }
    if (run.events.empty() || run.events.front().type != EventType::kRunStarted) {
      problems.push_back({id, 1, "the first record is not RunStarted"});
      continue;
    }
    const std::string& hash = run.events.front().start.get().definition_hash;
    if (definitions_.find(hash) == definitions_.end()) {
      problems.push_back({id, 1, "definition " + hash + " is missing"});
    }
    bool finished = run.events.back().type == EventType::kRunFinished;
    if (finished == run.active) {
      problems.push_back({id, 0, finished ? "finished but in the active index"
                                          : "unfinished but not in the active index"});
    }
  }
  return problems;
}

JournalStats MemoryJournal::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

void MemoryJournal::CrashAfterRecordsForTest(uint64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  if (n == 0) {
    sticky_ = UnavailableError("journal: crashed (simulated)");
    return;
  }
  crash_left_ = n;
}

void MemoryJournal::FailAppendsForTest(Status s) {
  std::lock_guard<std::mutex> l(mu_);
  sticky_ = std::move(s);
}

void MemoryJournal::ReviveForTest() {
  std::lock_guard<std::mutex> l(mu_);
  sticky_ = Status::OK();
  crash_left_.reset();
}

void MemoryJournal::PutRunForTest(const std::string& run_id, std::vector<Event> events,
                                  bool active) {
  std::lock_guard<std::mutex> l(mu_);
  RunData& run = runs_[run_id];
  run.events = std::move(events);
  run.active = active;
  run.finished_at.reset();
  if (!run.events.empty() && run.events.back().type == EventType::kRunFinished) {
    run.finished_at = run.events.back().time;
  }
}

std::vector<Journal::Entry> MemoryJournal::AllEntriesForTest() const {
  std::lock_guard<std::mutex> l(mu_);
  return log_;
}

}  // namespace brfed
