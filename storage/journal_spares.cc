// JournalImpl::Spares: encoding buffers passed back from the committer to the appenders.
#include "storage/journal_impl.h"

namespace brfed::storage {
namespace {

// Bounds on what is kept: a few batches' worth of the usual small records. A buffer grown
// for a rare big record is freed, not kept for every later one.
constexpr size_t kMaxVectors = 4096;
constexpr size_t kMaxStrings = 8192;
constexpr size_t kMaxVectorCapacity = 16;
constexpr size_t kMaxStringCapacity = 1024;

}  // namespace

void JournalImpl::Spares::Take(size_t n, std::vector<EncodedRecord>* records) {
  std::lock_guard<std::mutex> l(mu_);
  if (records->capacity() < n && !vectors_.empty()) {
    *records = std::move(vectors_.back());
    vectors_.pop_back();
  }
  records->resize(n);
  for (EncodedRecord& r : *records) {
    if (strings_.empty()) break;
    r.bytes = std::move(strings_.back());
    strings_.pop_back();
  }
}

void JournalImpl::Spares::Keep(std::vector<Pending>* batch) {
  std::lock_guard<std::mutex> l(mu_);
  for (Pending& p : *batch) {
    for (EncodedRecord& r : p.records) {
      if (strings_.size() == kMaxStrings) break;
      if (r.bytes.capacity() > kMaxStringCapacity) continue;
      r.bytes.clear();
      strings_.push_back(std::move(r.bytes));
    }
    if (vectors_.size() < kMaxVectors && p.records.capacity() <= kMaxVectorCapacity) {
      p.records.clear();  // its strings are moved out or are to be freed here
      vectors_.push_back(std::move(p.records));
    }
  }
}

}  // namespace brfed::storage
