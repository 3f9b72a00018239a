// Two managers against one control plane (FEDERATION_PROTOCOL §12.4): only the holder of the
// Lease acts — the standby opens no journal, runs nothing and is not ready — and when the
// leader stops in the middle of a backup, the standby takes the lease and finishes it from
// the members it finds.

#include <filesystem>
#include <thread>

#include "kube/resource.h"
#include "steps/protocol/conditions.h"
#include "tests/integration/manager/manager_fixture.h"
#include "tests/integration/manager/scenario_util.h"

namespace brfed::manager::testing {
namespace {

using nlohmann::json;

// A second in-process manager; stopped when it goes out of scope.
class Standby {
 public:
  Standby(const ManagerTest& t, const std::string& journal_dir) {
    Result<std::unique_ptr<Manager>> m =
        Manager::Create(t.Options("e2e-standby", journal_dir), Env::Default());
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return;
    manager_ = std::move(*m);
    thread_ = std::thread([this] { result_ = manager_->Run(&stop_); });
  }
  ~Standby() { Stop(); }

  void Stop() {
    if (!thread_.joinable()) return;
    stop_.Stop();
    thread_.join();
    EXPECT_TRUE(result_.ok()) << result_.ToString();
  }
  Manager* manager() { return manager_.get(); }

 private:
  std::unique_ptr<Manager> manager_;
  kube::StopSignal stop_;
  std::thread thread_;
  Status result_;
};

bool WaitUntil(const std::function<bool()>& pred, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

TEST_F(ManagerTest, OnlyTheLeaseHolderActsAndTheStandbyTakesOverAMidRunBackup) {
  StartManager();
  ASSERT_TRUE(WaitUntil([&] { return manager_->ready(); }, std::chrono::seconds(60)));
  std::string standby_journal = dir_ + "/journal-standby";
  Standby standby(*this, standby_journal);
  ASSERT_NE(standby.manager(), nullptr);
  ASSERT_TRUE(
      WaitUntil([&] { return standby.manager()->health_port() != 0; }, std::chrono::seconds(30)));

  Create(kube::kVolumeBackups, Backup("vb-leader"));
  json first = WaitPhase(kube::kVolumeBackups, "vb-leader", "Complete");
  ASSERT_EQ(Phase(first), "Complete") << first.dump(2);

  // The standby stayed out of it.
  EXPECT_TRUE(manager_->ready());
  EXPECT_FALSE(standby.manager()->ready());
  EXPECT_FALSE(std::filesystem::exists(standby_journal)) << "the standby opened a journal";
  std::string standby_metrics = standby.manager()->metrics().Render();
  for (const char* series : {"brfed_kube_requests_total", "brfed_runs_active",
                             "brfed_journal_records_total", "fed_volume_backup_status"}) {
    // A sample line (not only its # HELP / # TYPE).
    EXPECT_EQ(standby_metrics.find("\n" + std::string(series) + "{"), std::string::npos)
        << "the standby reports " << series << ":\n"
        << standby_metrics;
    EXPECT_EQ(standby_metrics.find("\n" + std::string(series) + " "), std::string::npos)
        << "the standby reports " << series << ":\n"
        << standby_metrics;
  }
  // The leader counts the Complete it wrote (just after the write the test saw returned).
  EXPECT_TRUE(WaitUntil(
      [&] {
        return manager_->metrics().Get("fed_volume_backup_status", {{"namespace", "default"},
                                                                    {"tc", "basic,basic,basic"},
                                                                    {"status", "Complete"}}) == 1;
      },
      std::chrono::seconds(30)))
      << manager_->metrics().Render();
  Result<json> lease = control()->Get(kube::kLeases, "br-federation", "br-federation-manager");
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_EQ(protocol::StringAt(*lease, {"spec", "holderIdentity"}), "e2e-manager");

  // A second backup, caught mid-run (members hold at snapshot-copy, GC paused) when the leader
  // stops.
  for (const std::string& p : DataPlaneNames()) {
    ASSERT_TRUE(OperatorConfig(plane(p), {{"delays", {{"snapshot-copy", "2s"}}}}).ok());
  }
  ASSERT_TRUE(OperatorConfig(plane("k8s-1"), {{"delays", {{"resume-gc", "2s"}}}}).ok());
  Create(kube::kVolumeBackups, Backup("vb-takeover"));
  WaitFor(kube::kVolumeBackups, "vb-takeover", [&](const json&) {
    for (const std::string& p : DataPlaneNames()) {
      std::optional<json> m =
          StoredObject(*sim(), p, BackupsKey(), kTcNamespace, "fed-vb-takeover");
      if (!m || !protocol::IsConditionTrue(*m, "VolumeBackupSnapshotsCreated")) return false;
    }
    return true;
  });
  StopManager();
  ASSERT_TRUE(WaitUntil([&] { return standby.manager()->ready(); }, std::chrono::seconds(60)))
      << "the standby never took over";
  lease = control()->Get(kube::kLeases, "br-federation", "br-federation-manager");
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_EQ(protocol::StringAt(*lease, {"spec", "holderIdentity"}), "e2e-standby");

  json second = WaitPhase(kube::kVolumeBackups, "vb-takeover", "Complete");
  ASSERT_EQ(Phase(second), "Complete") << second.dump(2);
  EXPECT_EQ(second["status"]["backups"].size(), 3u);
  EXPECT_TRUE(std::filesystem::exists(standby_journal));
  std::string uid = second["metadata"]["uid"];
  for (const std::string& p : DataPlaneNames()) {
    EXPECT_EQ(OwnedMembers(*sim(), p, BackupsKey(), uid).size(), 1u) << p;
  }
  standby.manager()->metrics().Render();  // runs the collectors
  EXPECT_GT(standby.manager()->metrics().Get("brfed_kube_requests_total", {{"cluster", "k8s-1"}}),
            0);
  standby.Stop();
  EXPECT_FALSE(cloud().pd.AnyPaused());
  EXPECT_EQ(cloud().pd.Get("tidb-cluster/basic").pause_count, 2);
}

}  // namespace
}  // namespace brfed::manager::testing
