// Invalid federation objects (issue 4 §3, FEDERATION_PROTOCOL §7.3, §9.6): each gets a
// condition whose message names the field; no member is created in any data plane; deleting
// the object is never blocked.

#include <functional>

#include "kube/resource.h"
#include "steps/protocol/conditions.h"
#include "tests/integration/manager/manager_fixture.h"
#include "tests/integration/manager/scenario_util.h"

namespace brfed::manager::testing {
namespace {

using nlohmann::json;

class InvalidSpecTest : public ManagerTest {
 protected:
  void ExpectNoMemberAnywhere() {
    for (const std::string& plane : DataPlaneNames()) {
      EXPECT_TRUE(StoredObjects(*sim(), plane, BackupsKey()).empty()) << plane;
      EXPECT_TRUE(StoredObjects(*sim(), plane, RestoresKey()).empty()) << plane;
    }
  }

  void DeleteAndExpectGone(const kube::Resource& r, const std::string& name) {
    Result<json> deleted = control()->Delete(r, "default", name);
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    EXPECT_TRUE(WaitGone(r, name))
        << "deleting invalid " << name
        << " is blocked: " << control()->Get(r, "default", name)->dump(2);
  }
};

TEST_F(InvalidSpecTest, EveryInvalidSpecGetsAnInvalidConditionNamingTheField) {
  struct Case {
    const char* name;
    bool restore;
    std::function<void(json&)> spoil;
    const char* field;  // the message names it
  };
  const Case cases[] = {
      {"empty-clusters", false, [](json& o) { o["spec"]["clusters"] = json::array(); },
       "spec.clusters"},
      {"no-clusters", false, [](json& o) { o["spec"].erase("clusters"); }, "spec.clusters"},
      {"duplicate", false, [](json& o) { o["spec"]["clusters"][2]["k8sClusterName"] = "k8s-1"; },
       "spec.clusters[2].k8sClusterName"},
      {"unknown-context", false,
       [](json& o) { o["spec"]["clusters"][1]["k8sClusterName"] = "k8s-9"; },
       "spec.clusters[1].k8sClusterName"},
      {"no-br", false, [](json& o) { o["spec"]["template"].erase("br"); }, "spec.template.br"},
      {"no-s3", false, [](json& o) { o["spec"]["template"].erase("s3"); }, "spec.template.s3"},
      {"vr-duplicate", true, [](json& o) { o["spec"]["clusters"][1]["k8sClusterName"] = "k8s-1"; },
       "spec.clusters[1].k8sClusterName"},
      {"vr-unknown-context", true,
       [](json& o) { o["spec"]["clusters"][0]["k8sClusterName"] = "nowhere"; },
       "spec.clusters[0].k8sClusterName"},
      {"vr-no-br", true, [](json& o) { o["spec"]["template"].erase("br"); }, "spec.template.br"},
      {"vr-no-s3", true, [](json& o) { o["spec"]["clusters"][2]["backup"].erase("s3"); },
       "spec.clusters[2].backup.s3"},
  };
  StartManager();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const kube::Resource& r = c.restore ? kube::kVolumeRestores : kube::kVolumeBackups;
    json obj = c.restore ? Restore(c.name, "vb-none") : Backup(c.name);
    c.spoil(obj);
    Create(r, obj);
    json seen =
        WaitFor(r, c.name, [](const json& o) { return protocol::IsConditionTrue(o, "Invalid"); });
    ASSERT_TRUE(protocol::IsConditionTrue(seen, "Invalid")) << seen.dump(2);
    EXPECT_EQ(Phase(seen), "Invalid");
    std::optional<json> cond = protocol::FindCondition(seen, "Invalid");
    EXPECT_EQ(cond->value("reason", ""), "InvalidSpec");
    EXPECT_NE(cond->value("message", "").find(c.field), std::string::npos)
        << "message \"" << cond->value("message", "") << "\" does not name " << c.field;
    // Nothing else happens to it: no run, no other condition.
    EXPECT_EQ(ConditionTypes(seen), std::vector<std::string>{"Invalid"});
    ExpectNoMemberAnywhere();
  }
  // Deleting them is never blocked, and still creates nothing.
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    DeleteAndExpectGone(c.restore ? kube::kVolumeRestores : kube::kVolumeBackups, c.name);
  }
  ExpectNoMemberAnywhere();
}

TEST_F(InvalidSpecTest, DeletingAnInvalidObjectBeforeTheManagerSawItIsNotBlocked) {
  // No finalizer yet: the API server removes it at once; the manager starts to nothing.
  Create(kube::kVolumeBackups, Backup("early", "Delete", {}));
  DeleteAndExpectGone(kube::kVolumeBackups, "early");
  StartManager();
  Create(kube::kVolumeBackups, Backup("late", "Delete", {}));
  json seen = WaitFor(kube::kVolumeBackups, "late",
                      [](const json& o) { return protocol::IsConditionTrue(o, "Invalid"); });
  DeleteAndExpectGone(kube::kVolumeBackups, "late");
  ExpectNoMemberAnywhere();
}

TEST_F(InvalidSpecTest, RestoreTargetNotInRecoveryModeFailsWithInvalidSpec) {
  StartManager();
  // The simulated TidbClusters are acrossK8s but not in recoveryMode.
  Create(kube::kVolumeRestores, Restore("vr-norecovery", "vb-none"));
  json vrt = WaitPhase(kube::kVolumeRestores, "vr-norecovery", "Failed");
  ASSERT_EQ(Phase(vrt), "Failed") << vrt.dump(2);
  std::optional<json> cond = protocol::FindCondition(vrt, "Failed");
  ASSERT_TRUE(cond.has_value());
  EXPECT_EQ(cond->value("reason", ""), "InvalidSpec") << cond->dump();
  std::string message = cond->value("message", "");
  EXPECT_NE(message.find("recoveryMode"), std::string::npos) << message;
  EXPECT_NE(message.find("k8s-"), std::string::npos) << "names no data plane: " << message;
  ExpectNoMemberAnywhere();
  DeleteAndExpectGone(kube::kVolumeRestores, "vr-norecovery");
  ExpectNoMemberAnywhere();
}

}  // namespace
}  // namespace brfed::manager::testing
