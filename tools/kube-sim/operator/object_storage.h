// ObjectStorage: the fake S3 the simulated data planes write backup files to (`clustermeta`,
// `backupmeta`, `restoremeta`, manifests). Keys are full URLs ("s3://bucket/prefix/backupmeta").
// Shared by all data planes (S3 is regional). Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace brfed::kubesim::op {

class ObjectStorage {
 public:
  ObjectStorage() = default;
  ObjectStorage(const ObjectStorage&) = delete;
  ObjectStorage& operator=(const ObjectStorage&) = delete;

  void Put(const std::string& key, std::string content);
  std::optional<std::string> Get(const std::string& key) const;
  bool Exists(const std::string& key) const { return Get(key).has_value(); }
  // Removes every key under `dir` ("s3://b/p" removes "s3://b/p/..."); returns how many.
  size_t DeleteDir(const std::string& dir);
  // Keys under `dir` ("" = all), ordered.
  std::vector<std::string> List(const std::string& dir) const;
  // {"objects": [{"key", "size"}]}
  nlohmann::json ToJson(const std::string& dir) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> objects_;  // GUARDED_BY(mu_)
};

}  // namespace brfed::kubesim::op
