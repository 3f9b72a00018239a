// Resource: which API collection a request addresses, and the URL paths for it.
//
//   const Resource kBackups{"pingcap.com", "v1alpha1", "backups", /*namespaced=*/true};
//   kBackups.CollectionPath("ns1")      // "/apis/pingcap.com/v1alpha1/namespaces/ns1/backups"
//   kBackups.ItemPath("ns1", "b1")      // ".../backups/b1"
//   kNamespaces.ItemPath("", "ns1")     // "/api/v1/namespaces/ns1"
//
// An empty group means the core API ("/api/v1"). For a namespaced resource an empty namespace
// addresses all namespaces (list and watch only). Plain value type.
#pragma once

#include <string>
#include <string_view>

namespace brfed::kube {

struct Resource {
  std::string group;    // "" for core
  std::string version;  // "v1alpha1"
  std::string plural;   // "volumebackups"
  bool namespaced = true;

  std::string CollectionPath(std::string_view ns) const;
  std::string ItemPath(std::string_view ns, std::string_view name) const;
  // "volumebackups.federation.pingcap.com" (just the plural for core): for messages.
  std::string GroupResource() const;
};

// Resources brfed uses.
extern const Resource kVolumeBackups;  // federation.pingcap.com/v1alpha1
extern const Resource kVolumeRestores;
extern const Resource kVolumeBackupSchedules;
extern const Resource kBackups;  // pingcap.com/v1alpha1
extern const Resource kRestores;
extern const Resource kTidbClusters;
extern const Resource kLeases;                    // coordination.k8s.io/v1
extern const Resource kEvents;                    // v1
extern const Resource kNamespaces;                // v1, cluster-scoped
extern const Resource kSelfSubjectAccessReviews;  // authorization.k8s.io/v1, cluster-scoped

}  // namespace brfed::kube
