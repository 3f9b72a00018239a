#include "tools/kube-sim/operator/object_storage.h"

#include <utility>

namespace brfed::kubesim::op {
namespace {

std::string AsDir(const std::string& dir) {
  if (dir.empty() || dir.back() == '/') return dir;
  return dir + "/";
}

}  // namespace

void ObjectStorage::Put(const std::string& key, std::string content) {
  std::lock_guard<std::mutex> lock(mu_);
  objects_[key] = std::move(content);
}

std::optional<std::string> ObjectStorage::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

size_t ObjectStorage::DeleteDir(const std::string& dir) {
  std::string prefix = AsDir(dir);
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    it = objects_.erase(it);
    ++n;
  }
  return n;
}

std::vector<std::string> ObjectStorage::List(const std::string& dir) const {
  std::string prefix = AsDir(dir);
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    out.push_back(it->first);
  }
  return out;
}

nlohmann::json ObjectStorage::ToJson(const std::string& dir) const {
  std::string prefix = AsDir(dir);
  nlohmann::json list = nlohmann::json::array();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    list.push_back({{"key", it->first}, {"size", it->second.size()}});
  }
  return {{"objects", list}};
}

}  // namespace brfed::kubesim::op
