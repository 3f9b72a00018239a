#include "steps/protocol/members.h"

#include <nlohmann/json.hpp>

namespace brfed::protocol {

using nlohmann::json;

namespace {

// Copies `keys` of `from` that are present (and not null) into `to`.
void CopyKeys(const json& from, json* to, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    auto it = from.find(key);
    if (it != from.end() && !it->is_null()) (*to)[key] = *it;
  }
}

const json& MetadataOf(const json& obj) {
  static const json kEmpty = json::object();
  auto it = obj.find("metadata");
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}

json MemberMetadata(const json& fed, const json& cluster, std::string_view run_id) {
  const json& src = MetadataOf(fed);
  json meta = {{"name", MemberName(src.value("name", ""))},
               {"namespace", cluster.value("tcNamespace", "")}};
  if (src.contains("labels") && src["labels"].is_object()) meta["labels"] = src["labels"];
  json annotations = src.contains("annotations") && src["annotations"].is_object()
                         ? src["annotations"]
                         : json::object();
  // The client-side-apply annotation is the whole federation object: never worth copying.
  annotations.erase("kubectl.kubernetes.io/last-applied-configuration");
  annotations[kRunAnnotation] = run_id;
  meta["annotations"] = std::move(annotations);
  return meta;
}

json MemberBr(const json& tmpl, const json& cluster) {
  json br = {{"cluster", cluster.value("tcName", "")},
             {"clusterNamespace", cluster.value("tcNamespace", "")}};
  if (tmpl.contains("br") && tmpl["br"].is_object()) {
    CopyKeys(tmpl["br"], &br, {"concurrency", "checkRequirements", "sendCredToTikv", "options"});
  }
  return br;
}

}  // namespace

std::string MemberName(std::string_view federation_name) {
  return "fed-" + std::string(federation_name);
}

double ClampDeleteRatio(const json& tmpl) {
  auto it = tmpl.find("snapshotsDeleteRatio");
  if (it == tmpl.end() || !it->is_number()) return 1.0;
  double r = it->get<double>();
  return r >= 0.1 && r <= 2.0 ? r : 1.0;
}

json BuildBackupMember(const json& vbk, size_t cluster_index, std::string_view run_id,
                       bool initialize) {
  const json& cluster = vbk["spec"]["clusters"][cluster_index];
  const json& tmpl = vbk["spec"]["template"];
  json spec = {{"backupMode", "volume-snapshot"},
               {"backupType", "full"},
               {"federalVolumeBackupPhase", initialize ? "initialize" : "execute"}};
  if (initialize) {
    auto secs = tmpl.find("volumeBackupInitJobMaxActiveSeconds");
    spec["volumeBackupInitJobMaxActiveSeconds"] =
        secs != tmpl.end() && secs->is_number_integer() ? secs->get<int64_t>() : 600;
  }
  CopyKeys(tmpl, &spec,
           {"resources", "env", "tolerations", "toolImage", "imagePullSecrets", "serviceAccount",
            "cleanPolicy", "priorityClassName", "calcSizeLevel", "additionalVolumes",
            "additionalVolumeMounts", "s3", "gcs", "azblob", "local"});
  if (!spec.contains("calcSizeLevel")) spec["calcSizeLevel"] = "all";
  spec["br"] = MemberBr(tmpl, cluster);
  spec["cleanOption"] = {{"snapshotsDeleteRatio", ClampDeleteRatio(tmpl)}};
  std::string prefix = tmpl["s3"].contains("prefix") && tmpl["s3"]["prefix"].is_string()
                           ? tmpl["s3"]["prefix"].get<std::string>()
                           : "";
  spec["s3"]["prefix"] = prefix + "-" + cluster.value("k8sClusterName", "");
  return {{"apiVersion", "pingcap.com/v1alpha1"},
          {"kind", "Backup"},
          {"metadata", MemberMetadata(vbk, cluster, run_id)},
          {"spec", std::move(spec)}};
}

json BuildRestoreMember(const json& vrt, size_t cluster_index, std::string_view run_id) {
  const json& cluster = vrt["spec"]["clusters"][cluster_index];
  const json& tmpl = vrt["spec"]["template"];
  json spec = {{"restoreMode", "volume-snapshot"},
               {"backupType", "full"},
               {"federalVolumeRestorePhase", "restore-volume"}};
  CopyKeys(cluster["backup"], &spec, {"s3", "gcs", "azblob", "local"});
  if (cluster.contains("azName") && cluster["azName"].is_string()) {
    spec["volumeAZ"] = cluster["azName"];
  }
  spec["br"] = MemberBr(tmpl, cluster);
  CopyKeys(tmpl, &spec,
           {"resources", "env", "tolerations", "toolImage", "imagePullSecrets", "serviceAccount",
            "priorityClassName", "warmup", "warmupImage", "warmupStrategy", "additionalVolumes",
            "additionalVolumeMounts"});
  return {{"apiVersion", "pingcap.com/v1alpha1"},
          {"kind", "Restore"},
          {"metadata", MemberMetadata(vrt, cluster, run_id)},
          {"spec", std::move(spec)}};
}

bool IsOwnedBy(const json& obj, std::string_view run_id) {
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) return false;
  const json& meta = obj["metadata"];
  auto ann = meta.find("annotations");
  if (ann == meta.end() || !ann->is_object()) return false;
  auto it = ann->find(kRunAnnotation);
  return it != ann->end() && it->is_string() && it->get_ref<const std::string&>() == run_id;
}

std::string ForeignMemberMessage(const json& obj, std::string_view cluster) {
  std::string kind = obj.is_object() ? obj.value("kind", "object") : "object";
  std::string ns, name, owner = "absent";
  if (obj.is_object() && obj.contains("metadata") && obj["metadata"].is_object()) {
    const json& meta = obj["metadata"];
    ns = meta.value("namespace", "");
    name = meta.value("name", "");
    if (meta.contains("annotations") && meta["annotations"].is_object() &&
        meta["annotations"].contains(kRunAnnotation) &&
        meta["annotations"][kRunAnnotation].is_string()) {
      owner = "\"" + meta["annotations"][kRunAnnotation].get<std::string>() + "\"";
    }
  }
  return kind + " " + ns + "/" + name + " in data plane " + std::string(cluster) +
         " exists but was not created by this run (annotation " + kRunAnnotation + " is " + owner +
         "); refusing to adopt it";
}

}  // namespace brfed::protocol
