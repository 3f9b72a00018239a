// EbsRegistry: the fake EBS snapshot service of the simulated data planes.
//
//   EbsRegistry ebs;
//   ebs.Create({.id = "snap-0a1b", .data_plane = "k8s-1", .volume_id = "vol-9c", ...});
//   std::vector<EbsSnapshot> left = ebs.List("k8s-1");   // what a test asserts is empty
//   ebs.Delete("snap-0a1b");
//
// Snapshots carry the data plane (each data plane owns its availability zone's volumes) and
// free-form tags. Ids are chosen by the caller (derived from the backup's uid and the volume),
// which makes creation idempotent. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace brfed::kubesim::op {

struct EbsSnapshot {
  std::string id;          // "snap-0123456789abcdef0"
  std::string data_plane;  // "k8s-1"
  std::string volume_id;   // "vol-0123456789abcdef0"
  int64_t size_bytes = 0;
  std::chrono::system_clock::time_point created;
  std::map<std::string, std::string> tags;

  nlohmann::json ToJson() const;
};

class EbsRegistry {
 public:
  EbsRegistry() = default;
  EbsRegistry(const EbsRegistry&) = delete;
  EbsRegistry& operator=(const EbsRegistry&) = delete;

  // Adds the snapshot unless one with its id exists. Returns true when added.
  bool Create(const EbsSnapshot& snapshot);
  // Returns true when the snapshot existed.
  bool Delete(const std::string& id);
  // Snapshots of one data plane ("" = all), ordered by id.
  std::vector<EbsSnapshot> List(const std::string& data_plane) const;
  size_t size() const;
  // {"snapshots": [{"id", "dataPlane", "volumeId", "sizeBytes", "created", "tags"}]}
  nlohmann::json ToJson(const std::string& data_plane) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, EbsSnapshot> snapshots_;  // GUARDED_BY(mu_)
};

}  // namespace brfed::kubesim::op
