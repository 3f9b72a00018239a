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

void WakeIndex::Set(const InstanceKey& key, const std::vector<ObjectRef>& refs) {
  auto old = by_key_.find(key);
  if (old != by_key_.end()) {
    for (const std::string& rk : old->second) {
      auto it = by_ref_.find(rk);
      if (it == by_ref_.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) by_ref_.erase(it);
    }
    by_key_.erase(old);
  }
  if (refs.empty()) return;
  std::vector<std::string>& mine = by_key_[key];
  for (const ObjectRef& ref : refs) {
    std::string rk = RefKey(ref);
    by_ref_[rk].insert(key);
    mine.push_back(std::move(rk));
  }
}

}  // namespace brfed
