// RecordingJournal: a Journal that forwards every call to another and notes, in the order it
// was asked to append them, which records were appended: (the run's place among a fixed list
// of run ids, seq). engine_bench gives the raw LevelDB baseline that order, so the baseline
// writes the very keys the engine journaled, in the engine's order.
//
//   RecordingJournal rec(journal.get(), ids);   // ids: every run the engine will append for
//   eo.journal = &rec;
//   ... run the engine ...
//   std::vector<storage::RawRecordRef> order = rec.Order();
//
// The order of AppendAsync calls is the order of the records in the inner journal's group
// commits (its queue is FIFO). An append for a run not in the list is a benchmark bug: it is
// left out of the order, which is then shorter than size().
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "brfed/journal.h"
#include "storage/baseline.h"

namespace brfed::bench {

class RecordingJournal final : public Journal {
 public:
  // `ids` must outlive this journal.
  RecordingJournal(Journal* inner, const std::vector<std::string>& ids) : inner_(inner) {
    index_.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      index_.emplace(ids[i], static_cast<uint32_t>(i));
      longest_id_ = std::max(longest_id_, ids[i].size());
    }
  }

  // The records appended so far, in order, but for those of runs not in `ids`. Resolves the noted
  // run ids to their places in `ids` (after the measurement: noting only copies the id's bytes,
  // with no lookup, so the engine's appends pay as little as possible for being recorded).
  std::vector<storage::RawRecordRef> Order() const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<storage::RawRecordRef> order;
    order.reserve(noted_.size());
    for (const Noted& n : noted_) {
      auto it = index_.find(std::string_view(names_).substr(n.name_at, n.name_size));
      if (it != index_.end()) order.push_back({it->second, n.seq});
    }
    return order;
  }
  size_t size() const {
    std::lock_guard<std::mutex> l(mu_);
    return noted_.size();
  }
  // Room for `n` more records, so that noting them neither allocates nor faults a page in
  // while it is measured: the room (for ids as long as the longest) is written once here.
  void Reserve(size_t n) {
    std::lock_guard<std::mutex> l(mu_);
    const size_t noted = noted_.size(), names = names_.size();
    noted_.resize(noted + n);
    noted_.resize(noted);
    names_.resize(names + n * longest_id_);
    names_.resize(names);
  }

  Status PutDefinition(std::string_view hash, std::string_view text) override {
    return inner_->PutDefinition(hash, text);
  }
  Result<std::string> GetDefinition(std::string_view hash) override {
    return inner_->GetDefinition(hash);
  }
  void AppendAsync(std::vector<Entry> entries, std::function<void(Status)> done) override {
    NoteEntries(entries);
    inner_->AppendAsync(std::move(entries), std::move(done));
  }
  Status Append(std::vector<Entry> entries) override {
    NoteEntries(entries);
    return inner_->Append(std::move(entries));
  }
  void AppendRunAsync(std::string_view run_id, const std::vector<Event>& events,
                      std::shared_ptr<RunCursor>* cursor,
                      std::function<void(Status)> done) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      Note(run_id, events.size(), [&](size_t i) { return events[i].seq; });
    }
    inner_->AppendRunAsync(run_id, events, cursor, std::move(done));
  }
  Result<std::vector<std::string>> ActiveRuns() override { return inner_->ActiveRuns(); }
  Result<std::vector<std::string>> ListRuns() override { return inner_->ListRuns(); }
  Result<std::vector<Event>> ReadRun(std::string_view run_id, uint64_t until_seq) override {
    return inner_->ReadRun(run_id, until_seq);
  }
  Result<std::vector<RunRecords>> ReadActiveRuns() override { return inner_->ReadActiveRuns(); }
  Status ForEachActiveRun(const std::function<Status(RunRecords& run)>& fn) override {
    return inner_->ForEachActiveRun(fn);
  }
  std::unique_ptr<ActiveRunParts> ReadActiveRunParts(size_t runs_per_part) override {
    return inner_->ReadActiveRunParts(runs_per_part);
  }
  Result<int> CollectGarbage(TimePoint now) override { return inner_->CollectGarbage(now); }
  Result<std::vector<Problem>> Verify() override { return inner_->Verify(); }
  JournalStats stats() const override { return inner_->stats(); }

 private:
  // One record noted: its run's id is names_[name_at, name_at + name_size).
  struct Noted {
    uint32_t name_at;
    uint32_t name_size;
    uint64_t seq;
  };

  // Notes `n` records of run `run_id`, the i-th of seq seq_of(i): the id's bytes once for all
  // of them. REQUIRES: mu_ held.
  template <typename SeqOf>
  void Note(std::string_view run_id, size_t n, SeqOf seq_of) {
    const auto at = static_cast<uint32_t>(names_.size());
    names_.append(run_id);
    for (size_t i = 0; i < n; ++i) {
      noted_.push_back({at, static_cast<uint32_t>(run_id.size()), seq_of(i)});
    }
  }
  void NoteEntries(const std::vector<Entry>& entries) {
    std::lock_guard<std::mutex> l(mu_);
    for (const Entry& e : entries) Note(e.run_id, 1, [&](size_t) { return e.event.seq; });
  }

  Journal* const inner_;
  std::unordered_map<std::string_view, uint32_t> index_;  // run id -> its place in `ids`
  size_t longest_id_ = 0;                                 // of `ids`, in bytes
  mutable std::mutex mu_;
  std::string names_;         // GUARDED_BY(mu_): the noted records' run ids, back to back
  std::vector<Noted> noted_;  // GUARDED_BY(mu_)
};

}  // namespace brfed::bench
