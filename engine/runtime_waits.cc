#include "engine/runtime_waits.h"

namespace brfed {

std::string WakeIndex::RefKey(const ObjectRef& ref) {
  std::string k;
  k.reserve(ref.cluster.size() + ref.resource.size() + ref.ns.size() + ref.name.size() + 3);
  k.append(ref.cluster).push_back('\0');
  k.append(ref.resource).push_back('\0');
  k.append(ref.ns).push_back('\0');
  k.append(ref.name);
  return k;
}

namespace {

// Whether `key` is RefKey(ref), without building it.
bool IsRefKey(std::string_view key, const ObjectRef& ref) {
  for (const std::string* part : {&ref.cluster, &ref.resource, &ref.ns}) {
    if (key.size() <= part->size() || key.substr(0, part->size()) != *part ||
        key[part->size()] != '\0') {
      return false;
    }
    key.remove_prefix(part->size() + 1);
  }
  return key == ref.name;
}

}  // namespace

void WakeIndex::Set(InstanceKeyView key, const std::vector<ObjectRef>& refs) {
  auto old = by_key_.find(key);
  if (old != by_key_.end()) {
    // A step that waits again on what it waited on (a recheck, a wake that changed nothing
    // for it) leaves the index as it is.
    const std::vector<std::string>& was = old->second;
    bool same = was.size() == refs.size();
    for (size_t i = 0; same && i < refs.size(); ++i) same = IsRefKey(was[i], refs[i]);
    if (same) return;
    for (const std::string& rk : was) {
      auto it = by_ref_.find(rk);
      if (it == by_ref_.end()) continue;
      if (auto waiter = it->second.find(key); waiter != it->second.end()) it->second.erase(waiter);
      if (it->second.empty()) by_ref_.erase(it);
    }
    by_key_.erase(old);
  }
  if (refs.empty()) return;
  std::vector<std::string>& mine =
      by_key_.emplace(key.Own(), std::vector<std::string>()).first->second;
  for (const ObjectRef& ref : refs) {
    std::string rk = RefKey(ref);
    by_ref_[rk].insert(key.Own());
    mine.push_back(std::move(rk));
  }
}

}  // namespace brfed
