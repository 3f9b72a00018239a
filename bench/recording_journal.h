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
// counted (unknown()) and left out of the order.
#pragma once

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
    for (size_t i = 0; i < ids.size(); ++i) index_.emplace(ids[i], static_cast<uint32_t>(i));
  }

  // The records appended so far, in order.
  std::vector<storage::RawRecordRef> Order() const {
    std::lock_guard<std::mutex> l(mu_);
    return order_;
  }
  size_t size() const {
    std::lock_guard<std::mutex> l(mu_);
    return order_.size();
  }
  uint64_t unknown() const {
    std::lock_guard<std::mutex> l(mu_);
    return unknown_;
  }
  // Room for `n` more records, so that noting them allocates nothing while it is measured.
  void Reserve(size_t n) {
    std::lock_guard<std::mutex> l(mu_);
    order_.reserve(order_.size() + n);
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
  Status ForEachActiveRunShard(size_t shard, size_t shards,
                               const std::function<Status(RunRecords& run)>& fn) override {
    return inner_->ForEachActiveRunShard(shard, shards, fn);
  }
  Result<int> CollectGarbage(TimePoint now) override { return inner_->CollectGarbage(now); }
  Result<std::vector<Problem>> Verify() override { return inner_->Verify(); }
  JournalStats stats() const override { return inner_->stats(); }

 private:
  // Notes `n` records of run `run_id`, the i-th of seq seq_of(i): one lookup of the run for
  // all of them. REQUIRES: mu_ held.
  template <typename SeqOf>
  void Note(std::string_view run_id, size_t n, SeqOf seq_of) {
    auto it = index_.find(run_id);
    if (it == index_.end()) {
      unknown_ += n;
      return;
    }
    for (size_t i = 0; i < n; ++i) order_.push_back({it->second, seq_of(i)});
  }
  void NoteEntries(const std::vector<Entry>& entries) {
    std::lock_guard<std::mutex> l(mu_);
    for (const Entry& e : entries) Note(e.run_id, 1, [&](size_t) { return e.event.seq; });
  }

  Journal* const inner_;
  std::unordered_map<std::string_view, uint32_t> index_;  // run id -> its place in `ids`
  mutable std::mutex mu_;
  std::vector<storage::RawRecordRef> order_;  // GUARDED_BY(mu_)
  uint64_t unknown_ = 0;                      // GUARDED_BY(mu_)
};

}  // namespace brfed::bench
