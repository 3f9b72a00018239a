// VectorQueue: a first-in first-out queue in one vector. Popping moves a head forward; once the
// queue empties its memory is reused, and a queue that never empties drops its spent front when
// that is half of it (and at least kCompactAt entries), so it stays within twice its length.
// A vector rather than a std::deque: a batch handed to an empty queue is taken over whole, and
// 100,000 entries appended at once make one allocation, not a block per 512 bytes. Not
// thread-safe. Internal to engine/.
//
//   VectorQueue<RunSlot*> line;
//   line.push_back(r);
//   while (!line.empty()) Use(line.PopFront());
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace brfed::internal {

template <typename T>
class VectorQueue {
 public:
  static constexpr size_t kCompactAt = 1024;

  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  void reserve(size_t n) { items_.reserve(head_ + n); }
  void push_back(T v) { items_.push_back(std::move(v)); }

  // Appends *batch's entries in order and leaves *batch empty; an empty queue takes the batch
  // over whole and hands *batch its own memory for the next one.
  void Append(std::vector<T>* batch) {
    if (empty()) {
      items_.clear();
      head_ = 0;
      items_.swap(*batch);
    } else {
      for (T& v : *batch) items_.push_back(std::move(v));
    }
    batch->clear();
  }

  // REQUIRES: !empty().
  T PopFront() {
    T v = std::move(items_[head_++]);
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    } else if (head_ >= kCompactAt && 2 * head_ >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return v;
  }

 private:
  std::vector<T> items_;  // queued: items_[head_...]
  size_t head_ = 0;
};

}  // namespace brfed::internal
