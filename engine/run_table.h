// RunTable: runs by id in one open-addressed array (linear probing, erase by backward shift).
// Internal to engine/.
//
// P points at something with a `run_id` (RunSlot*, std::unique_ptr<RunSlot>): the key is the
// pointee's own id, and each entry keeps the id's hash beside the pointer, so growing the table
// and a probe that meets another run read no run at all. Recovery indexes 100,000 runs at once,
// from slots long out of cache: std::unordered_map's node per run, its division per bucket and
// its hashing of each cold id were most of that phase. InsertHashed takes a hash computed where
// the run was at hand.
//
//   RunTable<std::unique_ptr<RunSlot>> runs;
//   runs.Insert(std::move(slot));
//   if (std::unique_ptr<RunSlot>* p = runs.Find("run-1")) ...;
//   std::unique_ptr<RunSlot> gone = runs.Take("run-1");
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace brfed::internal {

// H hashes a run id (tests give one that collides on purpose).
template <typename P, typename H = std::hash<std::string_view>>
class RunTable {
 public:
  // The hash InsertHashed expects for a run id.
  static size_t Hash(std::string_view id) { return H{}(id); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Makes room for n runs in all, so that inserting up to n grows nothing.
  void Reserve(size_t n) {
    if (Fits(n, entries_.size())) return;
    size_t capacity = kMinCapacity;
    while (!Fits(n, capacity)) capacity *= 2;
    Rehash(capacity);
  }

  // The pointer stored under `id`, or null.
  P* Find(std::string_view id) {
    const size_t i = IndexOf(Hash(id), id);
    return i == kNone ? nullptr : &entries_[i].p;
  }
  const P* Find(std::string_view id) const {
    const size_t i = IndexOf(Hash(id), id);
    return i == kNone ? nullptr : &entries_[i].p;
  }
  bool Contains(std::string_view id) const { return Find(id) != nullptr; }

  // Stores p under p->run_id unless that id is there already; returns whether it did.
  // REQUIRES: p is not null.
  bool Insert(P p) {
    const size_t hash = Hash(p->run_id);
    return InsertHashed(hash, std::move(p));
  }
  // The same with hash == Hash(p->run_id).
  bool InsertHashed(size_t hash, P p) {
    if (!Fits(size_ + 1, entries_.size())) {
      Rehash(entries_.empty() ? kMinCapacity : 2 * entries_.size());
    }
    size_t i = hash & mask_;
    for (; entries_[i].p != nullptr; i = (i + 1) & mask_) {
      if (entries_[i].hash == hash && std::string_view(entries_[i].p->run_id) == p->run_id) {
        return false;
      }
    }
    entries_[i].hash = hash;
    entries_[i].p = std::move(p);
    ++size_;
    return true;
  }

  // Removes the entry of `id` and returns its pointer; null when there is none.
  P Take(std::string_view id) {
    size_t hole = IndexOf(Hash(id), id);
    if (hole == kNone) return P{};
    P taken = std::move(entries_[hole].p);
    entries_[hole] = Entry{};
    --size_;
    // Backward shift: an entry further along the run of full slots moves into the hole when
    // its home is not between the hole and where it sits, so every entry stays reachable from
    // its home without tombstones.
    for (size_t j = (hole + 1) & mask_; entries_[j].p != nullptr; j = (j + 1) & mask_) {
      const size_t home = entries_[j].hash & mask_;
      if (((j - home) & mask_) >= ((j - hole) & mask_)) {
        entries_[hole] = std::move(entries_[j]);
        entries_[j] = Entry{};
        hole = j;
      }
    }
    return taken;
  }
  bool Erase(std::string_view id) { return Take(id) != nullptr; }

  // Calls fn(P&) for every entry, in no particular order. fn must not insert or erase.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (Entry& e : entries_) {
      if (e.p != nullptr) fn(e.p);
    }
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Entry& e : entries_) {
      if (e.p != nullptr) fn(e.p);
    }
  }

 private:
  struct Entry {
    P p{};
    size_t hash = 0;
  };
  static constexpr size_t kMinCapacity = 16;
  static constexpr size_t kNone = ~size_t{0};

  // At most three quarters full: linear probing's probes stay short.
  static bool Fits(size_t n, size_t capacity) { return 4 * n <= 3 * capacity; }

  // The index of id's entry, or kNone.
  size_t IndexOf(size_t hash, std::string_view id) const {
    if (size_ == 0) return kNone;
    for (size_t i = hash & mask_; entries_[i].p != nullptr; i = (i + 1) & mask_) {
      if (entries_[i].hash == hash && std::string_view(entries_[i].p->run_id) == id) return i;
    }
    return kNone;
  }

  void Rehash(size_t capacity) {
    std::vector<Entry> old(capacity);
    old.swap(entries_);
    mask_ = capacity - 1;
    for (Entry& e : old) {
      if (e.p == nullptr) continue;
      size_t i = e.hash & mask_;
      while (entries_[i].p != nullptr) i = (i + 1) & mask_;
      entries_[i] = std::move(e);
    }
  }

  std::vector<Entry> entries_;  // empty, or a power of two of them; a null p is a free entry
  size_t size_ = 0;
  size_t mask_ = 0;
};

}  // namespace brfed::internal
