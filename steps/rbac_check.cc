// kube.rbac-check: before any side effect, asks each data plane (SelfSubjectAccessReview)
// whether the manager may do every verb the run will use on a resource in a namespace.
//   with: {cluster, namespace, resource: "backups.pingcap.com", verbs: [get, create, ...]}
// A denial fails the run at once, naming cluster, verb, resource and namespace.

#include <nlohmann/json.hpp>

#include "steps/register.h"
#include "steps/step_util.h"

namespace brfed::steps {
namespace {

using nlohmann::json;

class RbacCheckStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<std::string> cluster = InputString(ctx, "cluster");
    Result<std::string> ns = InputString(ctx, "namespace");
    Result<std::string> resource = InputString(ctx, "resource");
    Result<json> verbs = InputJson(ctx, "verbs");
    for (const Status& s : {cluster.status(), ns.status(), resource.status(), verbs.status()}) {
      if (!s.ok()) return Fail{s.WithContext("kube.rbac-check"), false};
    }
    if (!verbs->is_array()) {
      return Fail{InvalidArgumentError("kube.rbac-check: verbs must be a list"), false};
    }
    Result<DataPlanes*> dp = GetDataPlanes(ctx);
    if (!dp.ok()) return Fail{dp.status(), false};
    Result<kube::Client*> client = (*dp)->Client(*cluster);
    if (!client.ok()) return Fail{client.status(), false};

    // "backups.pingcap.com" → group pingcap.com, resource backups; a core plural has no dot.
    size_t dot = resource->find('.');
    std::string plural = resource->substr(0, dot);
    std::string group = dot == std::string::npos ? "" : resource->substr(dot + 1);
    for (const json& verb : *verbs) {
      if (!verb.is_string()) {
        return Fail{InvalidArgumentError("kube.rbac-check: verbs must be strings"), false};
      }
      json review = {
          {"apiVersion", "authorization.k8s.io/v1"},
          {"kind", "SelfSubjectAccessReview"},
          {"spec",
           {{"resourceAttributes",
             {{"namespace", *ns}, {"verb", verb}, {"group", group}, {"resource", plural}}}}}};
      Result<json> answer = (*client)->Create(kube::kSelfSubjectAccessReviews, "", review);
      if (!answer.ok()) return FailFrom(answer.status().WithContext("kube.rbac-check"));
      const json& status = answer->value("status", json::object());
      bool allowed = status.is_object() && status.value("allowed", false);
      if (!allowed) {
        std::string why = status.is_object() && status.contains("reason") &&
                                  status["reason"].is_string()
                              ? ": " + status["reason"].get<std::string>()
                              : "";
        return Fail{PermissionDeniedError("data plane " + *cluster + ": not allowed to " +
                                          verb.get<std::string>() + " " + *resource +
                                          " in namespace " + *ns + why),
                    false};
      }
    }
    return Done{};
  }
};

}  // namespace

Status RegisterRbacCheck(StepRegistry* registry) {
  return registry->Register({"kube.rbac-check", {"cluster", "namespace", "resource", "verbs"},
                             {"cluster", "namespace", "resource", "verbs"}},
                            std::make_unique<RbacCheckStep>());
}

}  // namespace brfed::steps
