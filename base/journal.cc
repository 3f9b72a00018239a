// What the Journal interface (brfed/journal.h) implements itself: ActiveRunParts' bookkeeping
// and the default ReadActiveRunParts, for a journal that cannot do better.
#include "brfed/journal.h"

#include <algorithm>
#include <utility>

namespace brfed {
namespace {

// Parts of runs read in full up front (Journal::ReadActiveRunParts' default).
class ReadRunParts final : public ActiveRunParts {
 public:
  ReadRunParts(size_t runs_per_part, Result<std::vector<Journal::RunRecords>> runs)
      : ActiveRunParts(runs_per_part), runs_(std::move(runs)) {}

  void Read(const std::function<Status(size_t part, Journal::RunRecords& run)>& fn) override {
    for (std::optional<size_t> p = Take(); p.has_value(); p = Take()) {
      if (!runs_.ok()) return Fail(*p, runs_.status());  // the first part taken: part 0
      const size_t first = *p * runs_per_part();
      if (first >= runs_->size()) return;
      const size_t end = std::min(runs_->size(), first + runs_per_part());
      for (size_t i = first; i < end; ++i) {
        if (Status s = fn(*p, (*runs_)[i]); !s.ok()) return Fail(*p, std::move(s));
      }
    }
  }

 private:
  Result<std::vector<Journal::RunRecords>> runs_;
};

}  // namespace

std::unique_ptr<ActiveRunParts> Journal::ReadActiveRunParts(size_t runs_per_part) {
  return std::make_unique<ReadRunParts>(runs_per_part, ReadActiveRuns());
}

Status ActiveRunParts::FirstError() const {
  std::lock_guard<std::mutex> l(mu_);
  return first_error_;
}

std::optional<size_t> ActiveRunParts::Take() {
  if (failed_.load(std::memory_order_acquire)) return std::nullopt;
  return next_.fetch_add(1, std::memory_order_relaxed);
}

void ActiveRunParts::Fail(size_t part, Status s) {
  std::lock_guard<std::mutex> l(mu_);
  if (first_error_.ok() || part < failed_part_) {
    failed_part_ = part;
    first_error_ = std::move(s);
  }
  failed_.store(true, std::memory_order_release);
}

}  // namespace brfed
