// The restore.* actions: one VolumeRestore through its members (FEDERATION_PROTOCOL §9).
// Every action takes `with: {object: <the VolumeRestore>}`; per-member ones run forEach over
// spec.clusters (item index = cluster index). A failure's message starts with the upstream
// reason ("VolumeRestoreMemberFailed: ..."), which the manager writes as the condition reason.

#include <nlohmann/json.hpp>

#include "steps/protocol/conditions.h"
#include "steps/protocol/member_state.h"
#include "steps/protocol/members.h"
#include "steps/protocol/status.h"
#include "steps/protocol/validate.h"
#include "steps/register.h"
#include "steps/step_util.h"

namespace brfed::steps {
namespace {

using nlohmann::json;
using protocol::RestoreMember;

struct Scope {
  json object;
  DataPlanes* dp = nullptr;
  std::string owner;
  std::string warmup;    // spec.template.warmup
  std::string strategy;  // spec.template.warmupStrategy
  bool wal_check_only() const { return strategy == "check-wal-only"; }
};

Result<Scope> Open(const StepContext& ctx) {
  Scope s;
  ASSIGN_OR_RETURN(s.object, InputJson(ctx, "object"));
  ASSIGN_OR_RETURN(s.dp, GetDataPlanes(ctx));
  s.owner = OwnerOf(ctx, s.object);
  s.warmup = protocol::StringAt(s.object, {"spec", "template", "warmup"});
  s.strategy = protocol::StringAt(s.object, {"spec", "template", "warmupStrategy"});
  return s;
}

size_t IndexOf(const StepContext& ctx) {
  return ctx.item_index() < 0 ? 0 : static_cast<size_t>(ctx.item_index());
}

Fail Failed(std::string_view reason, const std::string& message) {
  return Fail{FailedPreconditionError(std::string(reason) + ": " + message), false};
}

Result<std::optional<json>> MemberAt(const Scope& s, const MemberCluster& c) {
  return FindOwnMember(s.dp, c.k8s_cluster_name, kube::kRestores, c.tc_namespace,
                       protocol::MemberName(FederationName(s.object)), s.owner);
}

// The existing member of cluster `index`, parsed; a missing member is a failure.
struct Found {
  MemberCluster cluster;
  json object;
  RestoreMember member;
};
Result<Found> Existing(const Scope& s, size_t index) {
  Found f;
  ASSIGN_OR_RETURN(f.cluster, ClusterAt(s.object, index));
  ASSIGN_OR_RETURN(std::optional<json> obj, MemberAt(s, f.cluster));
  if (!obj) {
    return FailedPreconditionError("VolumeRestoreMemberFailed: restore member of cluster " +
                                   f.cluster.k8s_cluster_name + " disappeared");
  }
  f.object = std::move(*obj);
  ASSIGN_OR_RETURN(f.member, protocol::ParseRestoreMember(f.object, f.cluster.k8s_cluster_name));
  return f;
}

// Done when `flag` is set on the member; a failed or invalid member fails the step. The
// outputs carry the member's status entry as the step saw it (`member`): journaled, a complete
// restore's status does not depend on what a data plane's watch cache holds when written.
StepResult Await(const Found& f, bool RestoreMember::*flag, std::string_view condition,
                 Value outputs = Value::Map{}) {
  if (auto failure = protocol::RestoreMemberFailure(f.member)) {
    return Failed(failure->reason, failure->message);
  }
  if (f.member.*flag) {
    outputs.as_map()["member"] = ToValue(protocol::RestoreEntry(f.member));
    return Done{std::move(outputs)};
  }
  std::string observed = f.cluster.k8s_cluster_name + " " + f.member.ns + "/" + f.member.name +
                         ": phase " + (f.member.phase.empty() ? "(none)" : f.member.phase) +
                         ", waiting for " + std::string(condition);
  return WaitOn(f.cluster.k8s_cluster_name, kube::kRestores, f.object, observed);
}

// forEach: the target TidbCluster exists, spans clusters and is in recovery mode (§9.6).
class CheckTargetStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<Scope> s = Open(ctx);
    if (!s.ok()) return FailFrom(s.status());
    Result<MemberCluster> c = ClusterAt(s->object, IndexOf(ctx));
    if (!c.ok()) return Fail{c.status(), false};
    Result<std::optional<json>> tc =
        s->dp->Get(c->k8s_cluster_name, kube::kTidbClusters, c->tc_namespace, c->tc_name);
    if (!tc.ok()) return FailFrom(tc.status());
    if (!*tc) {
      return Failed(protocol::kInvalidSpecReason, "TidbCluster " + c->tc_namespace + "/" +
                                                      c->tc_name + " not found in data plane " +
                                                      c->k8s_cluster_name);
    }
    if (auto bad = protocol::ValidateRestoreTarget(c->k8s_cluster_name, **tc)) {
      return Failed(bad->reason, bad->message);
    }
    return Done{};
  }
};

// forEach: creates the member in `restore-volume`; done at VolumeComplete with its resolved ts.
class VolumeStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<Scope> s = Open(ctx);
    if (!s.ok()) return FailFrom(s.status());
    size_t index = IndexOf(ctx);
    Result<MemberCluster> c = ClusterAt(s->object, index);
    if (!c.ok()) return Fail{c.status(), false};
    json desired = protocol::BuildRestoreMember(s->object, index, s->owner);
    Result<json> created =
        EnsureMember(s->dp, c->k8s_cluster_name, kube::kRestores, desired, s->owner);
    if (!created.ok()) return FailFrom(created.status());
    Result<Found> f = Existing(*s, index);
    if (!f.ok()) return FailFrom(f.status());
    return Await(*f, &RestoreMember::volume_complete, "VolumeComplete",
                 Value::Map{{"cluster", c->k8s_cluster_name}, {"commitTs", f->member.commit_ts}});
  }
};

// forEach, with `stage`: "before-tikv" waits for what the warm-up mode needs before TiKV starts
// (sync: WarmUpComplete; async: WarmUpStarted); "after-finish" waits for WarmUpComplete in
// async mode. No warm-up: done at once.
class WarmupStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<Scope> s = Open(ctx);
    if (!s.ok()) return FailFrom(s.status());
    Result<std::string> stage = InputString(ctx, "stage");
    if (!stage.ok() || (*stage != "before-tikv" && *stage != "after-finish")) {
      return Fail{InvalidArgumentError("restore.warmup: stage must be before-tikv or after-finish"),
                  false};
    }
    bool before = *stage == "before-tikv";
    if (s->warmup.empty() || (!before && s->warmup != "async")) return Done{};
    Result<Found> f = Existing(*s, IndexOf(ctx));
    if (!f.ok()) return FailFrom(f.status());
    if (before && s->warmup == "async" && !s->wal_check_only()) {
      return Await(*f, &RestoreMember::warmup_started, "WarmUpStarted");
    }
    return Await(*f, &RestoreMember::warmup_complete, "WarmUpComplete");
  }
};

// forEach: waits for TikvComplete (TiKV started on the restored volumes).
class TikvStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<Scope> s = Open(ctx);
    if (!s.ok()) return FailFrom(s.status());
    if (s->wal_check_only()) return Done{};
    Result<Found> f = Existing(*s, IndexOf(ctx));
    if (!f.ok()) return FailFrom(f.status());
    return Await(*f, &RestoreMember::tikv_complete, "TikvComplete");
  }
};

// Chooses the member with the smallest resolved ts (§9.5), moves only it to `restore-data`, and
// waits for DataComplete. Done with {cluster, commitTs}.
class DataStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<Scope> s = Open(ctx);
    if (!s.ok()) return FailFrom(s.status());
    if (s->wal_check_only()) return Done{};
    Result<size_t> n = ClusterCount(s->object);
    if (!n.ok()) return Fail{n.status(), false};
    std::vector<Found> all;
    std::optional<size_t> chosen;
    for (size_t i = 0; i < *n; ++i) {
      Result<Found> f = Existing(*s, i);
      if (!f.ok()) return FailFrom(f.status());
      const std::string& phase = f->member.federal_phase;
      if (!chosen && (phase == "restore-data" || phase == "restore-finish")) chosen = i;
      all.push_back(std::move(*f));
    }
    if (!chosen) {
      std::vector<RestoreMember> members;
      for (const Found& f : all) members.push_back(f.member);
      Result<size_t> pick = protocol::ChooseRestoreDataMember(members);
      if (!pick.ok()) return Failed(protocol::kResolvedTsInvalidReason, pick.status().message());
      chosen = *pick;
    }
    Found& f = all[*chosen];
    Result<json> updated =
        UpdateMember(s->dp, f.cluster.k8s_cluster_name, kube::kRestores, f.object, [](json* m) {
          if (protocol::StringAt(*m, {"spec", "federalVolumeRestorePhase"}) == "restore-volume") {
            (*m)["spec"]["federalVolumeRestorePhase"] = "restore-data";
          }
        });
    if (!updated.ok()) return FailFrom(updated.status());
    Result<RestoreMember> m = protocol::ParseRestoreMember(*updated, f.cluster.k8s_cluster_name);
    if (!m.ok()) return Fail{m.status(), false};
    f.object = std::move(*updated);
    f.member = std::move(*m);
    return Await(
        f, &RestoreMember::data_complete, "DataComplete",
        Value::Map{{"cluster", f.cluster.k8s_cluster_name}, {"commitTs", f.member.commit_ts}});
  }
};

// forEach: moves the member to `restore-finish` (TiKV restarts, recovery mode ends) and waits
// for Complete.
class FinishStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<Scope> s = Open(ctx);
    if (!s.ok()) return FailFrom(s.status());
    if (s->wal_check_only()) return Done{};
    Result<Found> f = Existing(*s, IndexOf(ctx));
    if (!f.ok()) return FailFrom(f.status());
    Result<json> updated =
        UpdateMember(s->dp, f->cluster.k8s_cluster_name, kube::kRestores, f->object,
                     [](json* m) { (*m)["spec"]["federalVolumeRestorePhase"] = "restore-finish"; });
    if (!updated.ok()) return FailFrom(updated.status());
    Result<RestoreMember> m = protocol::ParseRestoreMember(*updated, f->cluster.k8s_cluster_name);
    if (!m.ok()) return Fail{m.status(), false};
    f->object = std::move(*updated);
    f->member = std::move(*m);
    return Await(*f, &RestoreMember::complete, "Complete");
  }
};

// forEach (the delete workflow of a VolumeRestore): deletes our member; done once it is gone.
class RestoreCleanupStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<Scope> s = Open(ctx);
    if (!s.ok()) return FailFrom(s.status());
    Result<MemberCluster> c = ClusterAt(s->object, IndexOf(ctx));
    if (!c.ok()) return Fail{c.status(), false};
    Result<std::optional<json>> found = MemberAt(*s, *c);
    if (!found.ok()) {
      if (found.status().code() == StatusCode::kFailedPrecondition) {
        return Done{Value::Map{{"skipped", found.status().message()}}};
      }
      return FailFrom(found.status());
    }
    if (!*found) return Done{};
    if (protocol::StringAt(**found, {"metadata", "deletionTimestamp"}).empty()) {
      Result<kube::Client*> client = s->dp->Client(c->k8s_cluster_name);
      if (!client.ok()) return Fail{client.status(), false};
      Result<json> deleted = (*client)->Delete(kube::kRestores, c->tc_namespace,
                                               protocol::StringAt(**found, {"metadata", "name"}));
      if (!deleted.ok() && deleted.status().code() == StatusCode::kNotFound) return Done{};
      if (!deleted.ok()) return FailFrom(deleted.status());
    }
    return WaitOn(
        c->k8s_cluster_name, kube::kRestores, **found,
        c->k8s_cluster_name + ": deleting " + protocol::MemberName(FederationName(s->object)));
  }
};

}  // namespace

Status RegisterRestoreSteps(StepRegistry* registry) {
  RETURN_IF_ERROR(registry->Register({"restore.check-target", {"object"}, {"object"}},
                                     std::make_unique<CheckTargetStep>()));
  RETURN_IF_ERROR(registry->Register({"restore.volume", {"object"}, {"object"}},
                                     std::make_unique<VolumeStep>()));
  RETURN_IF_ERROR(registry->Register({"restore.warmup", {"object", "stage"}, {"object", "stage"}},
                                     std::make_unique<WarmupStep>()));
  RETURN_IF_ERROR(
      registry->Register({"restore.tikv", {"object"}, {"object"}}, std::make_unique<TikvStep>()));
  RETURN_IF_ERROR(
      registry->Register({"restore.data", {"object"}, {"object"}}, std::make_unique<DataStep>()));
  RETURN_IF_ERROR(registry->Register({"restore.finish", {"object"}, {"object"}},
                                     std::make_unique<FinishStep>()));
  RETURN_IF_ERROR(registry->Register({"restore.cleanup", {"object"}, {"object"}},
                                     std::make_unique<RestoreCleanupStep>()));
  return Status::OK();
}

Status RegisterFederationSteps(StepRegistry* registry) {
  RETURN_IF_ERROR(RegisterRbacCheck(registry));
  RETURN_IF_ERROR(RegisterBackupSteps(registry));
  RETURN_IF_ERROR(RegisterRestoreSteps(registry));
  return Status::OK();
}

}  // namespace brfed::steps
