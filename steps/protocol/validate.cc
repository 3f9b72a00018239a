#include "steps/protocol/validate.h"

#include <map>
#include <nlohmann/json.hpp>

namespace brfed::protocol {

using nlohmann::json;

namespace {

Invalid Problem(std::string path, std::string what) { return Invalid{kInvalidSpecReason, path + ": " + what}; }

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// A required non-empty string member `key` of `obj` at `path`.
std::optional<Invalid> RequireString(const json& obj, const std::string& path, const char* key) {
  auto it = obj.find(key);
  std::string p = path + "." + key;
  if (it == obj.end() || it->is_null()) return Problem(p, "required");
  if (!it->is_string()) return Problem(p, "must be a string");
  if (it->get_ref<const std::string&>().empty()) return Problem(p, "must not be empty");
  return std::nullopt;
}

std::optional<Invalid> OptionalOneOf(const json& obj, const std::string& path, const char* key,
                                     std::initializer_list<const char*> allowed) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  std::string p = path + "." + key;
  if (!it->is_string()) return Problem(p, "must be a string");
  const std::string& v = it->get_ref<const std::string&>();
  std::string list;
  for (const char* a : allowed) {
    if (v == a) return std::nullopt;
    list += list.empty() ? "" : ", ";
    list += *a ? a : "\"\"";
  }
  return Problem(p, Quoted(v) + " is not one of " + list);
}

std::optional<Invalid> RequireObject(const json& obj, const std::string& path, const char* key,
                                     const json** out) {
  auto it = obj.find(key);
  std::string p = path.empty() ? key : path + "." + key;
  if (it == obj.end() || it->is_null()) return Problem(p, "required");
  if (!it->is_object()) return Problem(p, "must be an object");
  *out = &*it;
  return std::nullopt;
}

// Checks spec.clusters: a non-empty list of distinct, known data planes.
std::optional<Invalid> ValidateClusters(const json& spec, const std::set<std::string>& contexts) {
  auto it = spec.find("clusters");
  if (it == spec.end() || it->is_null()) return Problem("spec.clusters", "required");
  if (!it->is_array()) return Problem("spec.clusters", "must be a list");
  if (it->empty()) return Problem("spec.clusters", "must name at least one data plane");
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& c = (*it)[i];
    std::string p = "spec.clusters[" + std::to_string(i) + "]";
    if (!c.is_object()) return Problem(p, "must be an object");
    for (const char* key : {"k8sClusterName", "tcName", "tcNamespace"}) {
      if (auto bad = RequireString(c, p, key)) return bad;
    }
    const std::string& name = c["k8sClusterName"].get_ref<const std::string&>();
    auto [prev, inserted] = seen.emplace(name, i);
    if (!inserted) {
      return Problem(p + ".k8sClusterName", "duplicate " + Quoted(name) + " (also spec.clusters[" +
                                                std::to_string(prev->second) + "])");
    }
    if (contexts.count(name) == 0) {
      return Problem(p + ".k8sClusterName",
                     Quoted(name) + " is not a context of the data-plane kubeconfig");
    }
  }
  return std::nullopt;
}

std::optional<Invalid> ValidateBr(const json& tmpl) {
  const json* br = nullptr;
  if (auto bad = RequireObject(tmpl, "spec.template", "br", &br)) return bad;
  if (br->contains("options") && !(*br)["options"].is_null() && !(*br)["options"].is_array()) {
    return Problem("spec.template.br.options", "must be a list of strings");
  }
  if (br->contains("concurrency") && !(*br)["concurrency"].is_null() &&
      !(*br)["concurrency"].is_number_unsigned()) {
    return Problem("spec.template.br.concurrency", "must be a non-negative integer");
  }
  return std::nullopt;
}

std::optional<Invalid> ValidateS3(const json& holder, const std::string& path) {
  const json* s3 = nullptr;
  if (auto bad = RequireObject(holder, path, "s3", &s3)) return bad;
  if (auto bad = RequireString(*s3, path + ".s3", "provider")) return bad;
  for (const char* key : {"bucket", "prefix", "region", "path", "endpoint", "secretName"}) {
    auto it = s3->find(key);
    if (it != s3->end() && !it->is_null() && !it->is_string()) {
      return Problem(path + ".s3." + key, "must be a string");
    }
  }
  return std::nullopt;
}

bool HasOtherProvider(const json& holder) {
  for (const char* key : {"gcs", "azblob", "local"}) {
    auto it = holder.find(key);
    if (it != holder.end() && it->is_object()) return true;
  }
  return false;
}

}  // namespace

std::optional<Invalid> ValidateVolumeBackup(const json& vbk, const std::set<std::string>& contexts) {
  if (!vbk.is_object()) return Problem("object", "must be an object");
  const json* spec = nullptr;
  if (auto bad = RequireObject(vbk, "", "spec", &spec)) return bad;
  if (auto bad = ValidateClusters(*spec, contexts)) return bad;
  const json* tmpl = nullptr;
  if (auto bad = RequireObject(*spec, "spec", "template", &tmpl)) return bad;
  if (auto bad = ValidateBr(*tmpl)) return bad;
  if (auto bad = ValidateS3(*tmpl, "spec.template")) return bad;
  if (auto bad = OptionalOneOf(*tmpl, "spec.template", "cleanPolicy",
                               {"", "Retain", "OnFailure", "Delete"})) {
    return bad;
  }
  if (auto bad = OptionalOneOf(*tmpl, "spec.template", "calcSizeLevel",
                               {"", "all", "full", "incremental"})) {
    return bad;
  }
  auto ratio = tmpl->find("snapshotsDeleteRatio");
  if (ratio != tmpl->end() && !ratio->is_null() && !ratio->is_number()) {
    return Problem("spec.template.snapshotsDeleteRatio", "must be a number");
  }
  auto secs = tmpl->find("volumeBackupInitJobMaxActiveSeconds");
  if (secs != tmpl->end() && !secs->is_null() &&
      (!secs->is_number_integer() || secs->get<int64_t>() <= 0)) {
    return Problem("spec.template.volumeBackupInitJobMaxActiveSeconds",
                   "must be a positive integer");
  }
  return std::nullopt;
}

std::optional<Invalid> ValidateVolumeRestore(const json& vrt, const std::set<std::string>& contexts) {
  if (!vrt.is_object()) return Problem("object", "must be an object");
  const json* spec = nullptr;
  if (auto bad = RequireObject(vrt, "", "spec", &spec)) return bad;
  if (auto bad = ValidateClusters(*spec, contexts)) return bad;
  const json& clusters = (*spec)["clusters"];
  for (size_t i = 0; i < clusters.size(); ++i) {
    std::string p = "spec.clusters[" + std::to_string(i) + "]";
    const json* backup = nullptr;
    if (auto bad = RequireObject(clusters[i], p, "backup", &backup)) return bad;
    if (backup->contains("s3") || !HasOtherProvider(*backup)) {
      if (auto bad = ValidateS3(*backup, p + ".backup")) return bad;
    }
  }
  const json* tmpl = nullptr;
  if (auto bad = RequireObject(*spec, "spec", "template", &tmpl)) return bad;
  if (auto bad = ValidateBr(*tmpl)) return bad;
  if (auto bad = OptionalOneOf(*tmpl, "spec.template", "warmup", {"", "sync", "async"})) return bad;
  if (auto bad = OptionalOneOf(*tmpl, "spec.template", "warmupStrategy",
                               {"", "fio", "hybrid", "fsr", "check-wal-only"})) {
    return bad;
  }
  std::string warmup = tmpl->value("warmup", json()).is_string() ? (*tmpl)["warmup"].get<std::string>() : "";
  std::string strategy = tmpl->value("warmupStrategy", json()).is_string()
                             ? (*tmpl)["warmupStrategy"].get<std::string>()
                             : "";
  if (!warmup.empty()) {
    if (auto bad = RequireString(*tmpl, "spec.template", "warmupImage")) {
      bad->message += " when spec.template.warmup is set";
      return bad;
    }
  }
  if (strategy == "check-wal-only" && warmup != "sync") {
    // §13 item 19: async (or no) warm-up with check-wal-only can never finish on a data plane.
    return Problem("spec.template.warmupStrategy",
                   "check-wal-only needs spec.template.warmup: sync");
  }
  return std::nullopt;
}

std::optional<Invalid> ValidateRestoreTarget(const std::string& k8s_cluster_name, const json& tc) {
  std::string where = "TidbCluster of data plane " + Quoted(k8s_cluster_name);
  const json* spec = tc.is_object() && tc.contains("spec") && tc["spec"].is_object() ? &tc["spec"] : nullptr;
  auto flag = [&](const char* key) {
    if (spec == nullptr) return false;
    auto it = spec->find(key);
    return it != spec->end() && it->is_boolean() && it->get<bool>();
  };
  if (!flag("acrossK8s")) {
    return Invalid{kInvalidSpecReason, where + ": spec.acrossK8s must be true for a federated restore"};
  }
  if (!flag("recoveryMode")) {
    return Invalid{kInvalidSpecReason,
                   where + ": spec.recoveryMode must be true before the restore starts"};
  }
  return std::nullopt;
}

}  // namespace brfed::protocol
