#include "kube/resource.h"

#include "kube/util.h"

namespace brfed::kube {

std::string Resource::CollectionPath(std::string_view ns) const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) p += "/namespaces/" + internal::PathEscape(ns);
  return p + "/" + plural;
}

std::string Resource::ItemPath(std::string_view ns, std::string_view name) const {
  return CollectionPath(ns) + "/" + internal::PathEscape(name);
}

std::string Resource::GroupResource() const {
  return group.empty() ? plural : plural + "." + group;
}

const Resource kVolumeBackups{"federation.pingcap.com", "v1alpha1", "volumebackups", true};
const Resource kVolumeRestores{"federation.pingcap.com", "v1alpha1", "volumerestores", true};
const Resource kVolumeBackupSchedules{"federation.pingcap.com", "v1alpha1", "volumebackupschedules",
                                      true};
const Resource kBackups{"pingcap.com", "v1alpha1", "backups", true};
const Resource kRestores{"pingcap.com", "v1alpha1", "restores", true};
const Resource kTidbClusters{"pingcap.com", "v1alpha1", "tidbclusters", true};
const Resource kLeases{"coordination.k8s.io", "v1", "leases", true};
const Resource kEvents{"", "v1", "events", true};
const Resource kNamespaces{"", "v1", "namespaces", false};
const Resource kSelfSubjectAccessReviews{"authorization.k8s.io", "v1", "selfsubjectaccessreviews",
                                         false};

}  // namespace brfed::kube
