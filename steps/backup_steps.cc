// The backup.* actions: one VolumeBackup through its members (FEDERATION_PROTOCOL §8), with
// brfed's improvements (§13): members are ours or an error, any member's failure is seen at
// once (each member is its own step instance), and unparsable values fail with a message.
// Every action takes `with: {object: <the VolumeBackup>}`; the per-member ones run forEach over
// spec.clusters, so the item index is the cluster index (0 = the initialize member).

#include <nlohmann/json.hpp>

#include "steps/protocol/conditions.h"
#include "steps/protocol/member_state.h"
#include "steps/protocol/members.h"
#include "steps/protocol/status.h"
#include "steps/register.h"
#include "steps/step_util.h"

namespace brfed::steps {
namespace {

using nlohmann::json;
using protocol::BackupMember;

// What every backup step starts from.
struct Scope {
  json object;
  DataPlanes* dp = nullptr;
  std::string owner;  // the run that owns the members: the VolumeBackup's uid
};

Result<Scope> Open(const StepContext& ctx) {
  Scope s;
  ASSIGN_OR_RETURN(s.object, InputJson(ctx, "object"));
  ASSIGN_OR_RETURN(s.dp, GetDataPlanes(ctx));
  s.owner = OwnerOf(ctx, s.object);
  return s;
}

// The member of cluster `index`, if it exists (ours, or an error).
Result<std::optional<json>> MemberAt(const Scope& s, size_t index) {
  ASSIGN_OR_RETURN(MemberCluster c, ClusterAt(s.object, index));
  return FindOwnMember(s.dp, c.k8s_cluster_name, kube::kBackups, c.tc_namespace,
                       protocol::MemberName(FederationName(s.object)), s.owner);
}

// What a step that works on one member starts from: the scope and spec.clusters[index], the
// step's item, or the initialize member (0) for the steps that only talk to it.
struct MemberScope {
  Scope s;
  size_t index = 0;
  MemberCluster cluster;
};

Result<MemberScope> OpenMember(const StepContext& ctx, bool initialize_member) {
  MemberScope m;
  ASSIGN_OR_RETURN(m.s, Open(ctx));
  m.index = initialize_member || ctx.item_index() < 0 ? 0 : static_cast<size_t>(ctx.item_index());
  ASSIGN_OR_RETURN(m.cluster, ClusterAt(m.s.object, m.index));
  return m;
}

// The member that must exist by now. One that is gone fails the step (§13 item 5: upstream
// waits forever), so the finally steps tear the rest down.
Result<json> ExistingMember(const MemberScope& m, const std::string& what) {
  ASSIGN_OR_RETURN(std::optional<json> found, MemberAt(m.s, m.index));
  if (!found) {
    return FailedPreconditionError(what + " of cluster " + m.cluster.k8s_cluster_name +
                                   " disappeared");
  }
  return std::move(*found);
}

Fail NotParsable(const Status& s) { return Fail{s, false}; }

Fail MemberFailed(const std::string& why) { return Fail{FailedPreconditionError(why), false}; }

std::string Observed(const BackupMember& m, std::string_view waiting_for) {
  return m.k8s_cluster_name + " " + m.ns + "/" + m.name + ": phase " +
         (m.phase.empty() ? "(none)" : m.phase) + ", waiting for " + std::string(waiting_for);
}

// Reconciles a member that exists, against one awaited condition.
StepResult AwaitCondition(const Scope& s, std::string_view cluster, const json& obj,
                          bool BackupMember::*flag, std::string_view condition, Value outputs) {
  Result<BackupMember> m = protocol::ParseBackupMember(obj, cluster);
  if (!m.ok()) return NotParsable(m.status());
  if (auto why = protocol::BackupMemberFailure(*m)) return MemberFailed(*why);
  if ((*m).*flag) return Done{std::move(outputs)};
  (void)s;
  return WaitOn(cluster, kube::kBackups, obj, Observed(*m, condition));
}

Value MemberOutputs(const MemberCluster& c, const json& obj) {
  return Value::Map{{"cluster", c.k8s_cluster_name},
                    {"namespace", protocol::StringAt(obj, {"metadata", "namespace"})},
                    {"name", protocol::StringAt(obj, {"metadata", "name"})}};
}

// Creates the initialize member in spec.clusters[0] and waits for VolumeBackupInitialized:
// from here on GC and PD scheduling are paused for the whole TiDB cluster.
class InitializeStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<MemberScope> m = OpenMember(ctx, /*initialize_member=*/true);
    if (!m.ok()) return FailFrom(m.status());
    const std::string& cluster = m->cluster.k8s_cluster_name;
    json desired = protocol::BuildBackupMember(m->s.object, 0, m->s.owner, /*initialize=*/true);
    Result<json> member = EnsureMember(m->s.dp, cluster, kube::kBackups, desired, m->s.owner);
    if (!member.ok()) return FailFrom(member.status());
    return AwaitCondition(m->s, cluster, *member, &BackupMember::initialized,
                          "VolumeBackupInitialized", MemberOutputs(m->cluster, *member));
  }
};

// forEach spec.clusters: the initialize member is switched to `execute`, the others are
// created as `execute`; done when the member reports VolumeBackupSnapshotsCreated.
class ExecuteStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<MemberScope> m = OpenMember(ctx, /*initialize_member=*/false);
    if (!m.ok()) return FailFrom(m.status());
    const std::string& cluster = m->cluster.k8s_cluster_name;
    Result<json> member = InternalError("backup.execute: member not reconciled");
    if (m->index == 0) {
      Result<json> found = ExistingMember(
          *m, "initialize member " + protocol::MemberName(FederationName(m->s.object)));
      if (!found.ok()) return FailFrom(found.status());
      member = UpdateMember(m->s.dp, cluster, kube::kBackups, *found, [](json* obj) {
        if (protocol::StringAt(*obj, {"spec", "federalVolumeBackupPhase"}) == "initialize") {
          (*obj)["spec"]["federalVolumeBackupPhase"] = "execute";
        }
      });
    } else {
      json desired =
          protocol::BuildBackupMember(m->s.object, m->index, m->s.owner, /*initialize=*/false);
      member = EnsureMember(m->s.dp, cluster, kube::kBackups, desired, m->s.owner);
    }
    if (!member.ok()) return FailFrom(member.status());
    return AwaitCondition(m->s, cluster, *member, &BackupMember::snapshots_created,
                          "VolumeBackupSnapshotsCreated", MemberOutputs(m->cluster, *member));
  }
};

// Asks the initialize member to resume GC and PD scheduling (resumeGcSchedule: true) and waits
// for VolumeBackupInitializeComplete: the end of the pause.
class ResumeGcStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<MemberScope> m = OpenMember(ctx, /*initialize_member=*/true);
    if (!m.ok()) return FailFrom(m.status());
    Result<json> found = ExistingMember(*m, "initialize member");
    if (!found.ok()) return FailFrom(found.status());
    Result<json> member =
        UpdateMember(m->s.dp, m->cluster.k8s_cluster_name, kube::kBackups, *found,
                     [](json* obj) { (*obj)["spec"]["resumeGcSchedule"] = true; });
    if (!member.ok()) return FailFrom(member.status());
    return AwaitCondition(m->s, m->cluster.k8s_cluster_name, *member,
                          &BackupMember::initialize_complete, "VolumeBackupInitializeComplete",
                          MemberOutputs(m->cluster, *member));
  }
};

// forEach spec.clusters: waits for VolumeBackupComplete.
class WaitCompleteStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<MemberScope> m = OpenMember(ctx, /*initialize_member=*/false);
    if (!m.ok()) return FailFrom(m.status());
    Result<json> found = ExistingMember(*m, "backup member");
    if (!found.ok()) return FailFrom(found.status());
    return AwaitCondition(m->s, m->cluster.k8s_cluster_name, *found, &BackupMember::volume_complete,
                          "VolumeBackupComplete", MemberOutputs(m->cluster, *found));
  }
};

// finally: every existing member of ours goes to `teardown` (with resumeGcSchedule: true when
// it was initialized), then waits until every one is terminal. This is what ends the GC/PD
// pause on every path: success, member failure, cancellation, deletion, crash.
class TeardownStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<Scope> s = Open(ctx);
    if (!s.ok()) return FailFrom(s.status());
    Result<size_t> n = ClusterCount(s->object);
    if (!n.ok()) return Fail{n.status(), false};
    Wait wait;
    std::string pending;
    for (size_t i = 0; i < *n; ++i) {
      Result<MemberCluster> c = ClusterAt(s->object, i);
      if (!c.ok()) return Fail{c.status(), false};
      Result<std::optional<json>> found = MemberAt(*s, i);
      if (!found.ok()) {
        // A foreign object is not ours to tear down; anything else is worth retrying.
        if (found.status().code() == StatusCode::kFailedPrecondition) continue;
        return FailFrom(found.status());
      }
      if (!*found) continue;  // never created: nothing to tear down
      Result<json> member =
          UpdateMember(s->dp, c->k8s_cluster_name, kube::kBackups, **found, [](json* m) {
            if (protocol::IsConditionTrue(*m, "VolumeBackupInitialized")) {
              (*m)["spec"]["resumeGcSchedule"] = true;
            }
            (*m)["spec"]["federalVolumeBackupPhase"] = "teardown";
          });
      if (!member.ok()) return FailFrom(member.status());
      bool terminal = protocol::IsConditionTrue(*member, "Complete") ||
                      protocol::IsConditionTrue(*member, "Failed") ||
                      protocol::IsConditionTrue(*member, "Invalid");
      if (!terminal) {
        wait.wake_on.push_back(RefOf(c->k8s_cluster_name, kube::kBackups, *member));
        pending += pending.empty() ? "" : ", ";
        pending += c->k8s_cluster_name;
      }
    }
    if (wait.wake_on.empty()) return Done{};
    wait.recheck_after = kSafetyRecheck;
    wait.observed = "teardown: waiting for " + pending;
    return wait;
  }
};

// finally, after teardown: the final decision (§8.7). Done with {commitTs, backupSize} when
// every member is Complete; fails naming the failed members otherwise.
class FinalizeStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<Scope> s = Open(ctx);
    if (!s.ok()) return FailFrom(s.status());
    Result<size_t> n = ClusterCount(s->object);
    if (!n.ok()) return Fail{n.status(), false};
    std::vector<BackupMember> members;
    std::string failed_names, failed_clusters, missing;
    for (size_t i = 0; i < *n; ++i) {
      Result<MemberCluster> c = ClusterAt(s->object, i);
      if (!c.ok()) return Fail{c.status(), false};
      Result<std::optional<json>> found = MemberAt(*s, i);
      if (!found.ok()) return FailFrom(found.status());
      if (!*found) {
        missing += (missing.empty() ? "" : ", ") + c->k8s_cluster_name;
        continue;
      }
      Result<BackupMember> m = protocol::ParseBackupMember(**found, c->k8s_cluster_name);
      if (!m.ok()) return NotParsable(m.status());
      if (m->initialize_failed || m->failed || m->invalid) {
        failed_names += (failed_names.empty() ? "" : ",") + m->name;
        failed_clusters += (failed_clusters.empty() ? "" : ",") + m->k8s_cluster_name;
      } else if (!m->complete) {
        return WaitOn(c->k8s_cluster_name, kube::kBackups, **found, Observed(*m, "Complete"));
      }
      members.push_back(std::move(*m));
    }
    if (!failed_names.empty()) {
      return MemberFailed("backup members " + failed_names + " of clusters " + failed_clusters +
                          " failed");
    }
    if (!missing.empty()) return MemberFailed("no backup member in clusters " + missing);
    Result<std::string> commit_ts = protocol::MinCommitTs(members);
    if (!commit_ts.ok()) return NotParsable(commit_ts.status());
    int64_t size = 0;
    json entries = json::array();
    for (const BackupMember& m : members) {
      size += m.backup_size;
      entries.push_back(protocol::BackupEntry(m));
    }
    // The entries are what the status shows of a complete backup: journaled here, they do not
    // depend on what a data plane's watch cache holds when the status is written.
    return Done{
        Value::Map{{"commitTs", *commit_ts}, {"backupSize", size}, {"backups", ToValue(entries)}}};
  }
};

// forEach spec.clusters (the delete workflow): deletes our member and waits until it is gone;
// the data plane deletes snapshots per the member's cleanPolicy. A member whose clean failed
// keeps the step waiting (visible in `brfedctl inspect why`) until its timeout.
class CleanupStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Result<MemberScope> m = OpenMember(ctx, /*initialize_member=*/false);
    if (!m.ok()) return FailFrom(m.status());
    const Scope* s = &m->s;
    const MemberCluster* c = &m->cluster;
    Result<std::optional<json>> found = MemberAt(*s, m->index);
    if (!found.ok()) {
      if (found.status().code() == StatusCode::kFailedPrecondition) {
        return Done{Value::Map{{"skipped", found.status().message()}}};  // not ours to delete
      }
      return FailFrom(found.status());
    }
    if (!*found) return Done{};
    const json& obj = **found;
    if (protocol::StringAt(obj, {"metadata", "deletionTimestamp"}).empty()) {
      Result<kube::Client*> client = s->dp->Client(c->k8s_cluster_name);
      if (!client.ok()) return Fail{client.status(), false};
      DeleteOptions opts;
      opts.precondition_uid = protocol::StringAt(obj, {"metadata", "uid"});
      if (opts.precondition_uid->empty()) opts.precondition_uid.reset();
      Result<json> deleted = (*client)->Delete(kube::kBackups, c->tc_namespace,
                                               protocol::StringAt(obj, {"metadata", "name"}), opts);
      if (!deleted.ok() && deleted.status().code() == StatusCode::kNotFound) return Done{};
      if (!deleted.ok()) return FailFrom(deleted.status());
    }
    std::string observed =
        c->k8s_cluster_name + ": deleting " + protocol::MemberName(FederationName(s->object));
    if (protocol::IsConditionTrue(obj, "CleanFailed")) {
      auto cond = protocol::FindCondition(obj, "CleanFailed");
      observed += ": CleanFailed" + (cond ? ": " + protocol::StringAt(*cond, {"message"}) : "");
    }
    return WaitOn(c->k8s_cluster_name, kube::kBackups, obj, observed);
  }

 private:
  using DeleteOptions = kube::DeleteOptions;
};

}  // namespace

Status RegisterBackupSteps(StepRegistry* registry) {
  struct Entry {
    const char* name;
    std::unique_ptr<Step> step;
  };
  Entry entries[] = {{"backup.initialize", std::make_unique<InitializeStep>()},
                     {"backup.execute", std::make_unique<ExecuteStep>()},
                     {"backup.resume-gc", std::make_unique<ResumeGcStep>()},
                     {"backup.wait-complete", std::make_unique<WaitCompleteStep>()},
                     {"backup.teardown", std::make_unique<TeardownStep>()},
                     {"backup.finalize", std::make_unique<FinalizeStep>()},
                     {"backup.cleanup", std::make_unique<CleanupStep>()}};
  for (Entry& e : entries) {
    RETURN_IF_ERROR(registry->Register({e.name, {"object"}, {"object"}}, std::move(e.step)));
  }
  return Status::OK();
}

}  // namespace brfed::steps
