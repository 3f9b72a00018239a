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

void WakeIndex::Erase(const std::vector<Wait>& waits) {
  for (const Wait& w : waits) {
    w.ref->second.erase(w.waiter);
    if (w.ref->second.empty()) by_ref_.erase(w.ref);
  }
}

void WakeIndex::Set(InstanceKeyView key, const std::vector<ObjectRef>& refs) {
  auto old = by_key_.find(key);
  if (old != by_key_.end()) {
    // A step that waits again on what it waited on (a recheck, a wake that changed nothing
    // for it) leaves the index as it is.
    const std::vector<Wait>& was = old->second;
    bool same = was.size() == refs.size();
    for (size_t i = 0; same && i < refs.size(); ++i) same = IsRefKey(was[i].ref->first, refs[i]);
    if (same) return;
    Erase(old->second);
    if (refs.empty()) {
      by_key_.erase(old);
      return;
    }
    old->second.clear();
  } else if (refs.empty()) {
    return;
  } else {
    old = by_key_.emplace(key.Own(), std::vector<Wait>()).first;
  }
  std::vector<Wait>& mine = old->second;
  mine.reserve(refs.size());
  for (const ObjectRef& ref : refs) {
    std::string rk = RefKey(ref);
    auto r = by_ref_.try_emplace(std::move(rk)).first;  // rk is left alone when present
    auto [w, added] = r->second.insert(key.Own());
    if (added) mine.push_back(Wait{r, w});  // not added: the same ref twice in `refs`
  }
}

}  // namespace brfed
