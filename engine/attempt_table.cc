#include "engine/attempt_table.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace brfed::internal {
namespace {

bool Before(int step_a, int item_a, int step_b, int item_b) {
  return step_a != step_b ? step_a < step_b : item_a < item_b;
}

}  // namespace

AttemptSlot* AttemptTable::Find(int step_index, int item_index) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), std::pair(step_index, item_index),
                             [](const Entry& e, const std::pair<int, int>& k) {
                               return Before(e.step_index, e.item_index, k.first, k.second);
                             });
  if (it == entries_.end() || it->step_index != step_index || it->item_index != item_index) {
    return nullptr;
  }
  return &it->slot;
}

AttemptSlot* AttemptTable::Find(std::string_view step_id, int item_index) {
  for (size_t i = 0; i < entries_.size();) {
    const int step = entries_[i].step_index;
    if (entries_[i].step_id == step_id) return Find(step, item_index);
    while (i < entries_.size() && entries_[i].step_index == step) ++i;  // the step's other items
  }
  return nullptr;
}

void AttemptTable::Sync(const std::vector<RunMachine::Attempt>& running, SyncScratch* s) {
  std::vector<Entry>& next = s->spare;
  std::vector<Entry>* ended = &s->ended;
  std::vector<bool>* fresh = &s->fresh;
  // A merge of two sorted lists: the table's entries and the running attempts.
  assert(std::is_sorted(running.begin(), running.end(), [](const auto& a, const auto& b) {
    return Before(a.step_index, a.item_index, b.step_index, b.item_index);
  }));
  next.clear();
  next.reserve(running.size());
  fresh->assign(running.size(), false);
  size_t old = 0;
  for (size_t i = 0; i < running.size(); ++i) {
    const RunMachine::Attempt& a = running[i];
    while (old < entries_.size() &&
           Before(entries_[old].step_index, entries_[old].item_index, a.step_index, a.item_index)) {
      ended->push_back(std::move(entries_[old++]));
    }
    Entry& e = next.emplace_back();
    if (old < entries_.size() && entries_[old].step_index == a.step_index &&
        entries_[old].item_index == a.item_index) {
      Entry& kept = entries_[old++];
      if (kept.slot.attempt == a.attempt) {
        e = std::move(kept);
        continue;
      }
      ended->push_back(std::move(kept));  // the instance's attempt before this one
    }
    e.step_index = a.step_index;
    e.item_index = a.item_index;
    e.step_id = a.step->id;
    e.slot.attempt = a.attempt;
    (*fresh)[i] = true;
  }
  while (old < entries_.size()) ended->push_back(std::move(entries_[old++]));
  entries_.swap(next);
}

}  // namespace brfed::internal
