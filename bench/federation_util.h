// The VolumeBackup the manager benchmarks create: the upstream guide's template (volume-snapshot
// backup to S3, cleanPolicy Delete) over the given spec.clusters.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace brfed::bench {

inline nlohmann::json VolumeBackupManifest(const std::string& name, const std::string& bucket,
                                           nlohmann::json clusters) {
  return {
      {"apiVersion", "federation.pingcap.com/v1alpha1"},
      {"kind", "VolumeBackup"},
      {"metadata", {{"name", name}, {"namespace", "default"}}},
      {"spec",
       {{"clusters", std::move(clusters)},
        {"template",
         {{"br", {{"sendCredToTikv", true}}},
          {"s3",
           {{"provider", "aws"}, {"region", "us-west-2"}, {"bucket", bucket}, {"prefix", name}}},
          {"toolImage", "pingcap/br:v7.5.0"},
          {"cleanPolicy", "Delete"}}}}}};
}

}  // namespace brfed::bench
