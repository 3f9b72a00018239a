// brfedctl plan as a process: the step graph of the upstream guide's VolumeBackup and
// VolumeRestore, invalid CRs (exit 1 with the manager's reason and message), the context check
// against --kubeconfig, --dot, --workflows-dir, and `validate` of the manager's workflows.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/brfedctl/cli_runner.h"

namespace brfed {
namespace {

using testing::CliResult;
using testing::CliRunner;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string Source(const std::string& path) { return std::string(BRFED_SOURCE_DIR) + "/" + path; }

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = testing::MakeTempDir("brfedctl-plan"); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = root_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // The guide's VolumeBackup with `edit` applied to its text (find -> replace).
  std::string BackupWith(const std::string& find, const std::string& replace) {
    std::string text = testing::ReadFileOrEmpty(Source("examples/federation/volume-backup.yaml"));
    size_t at = text.find(find);
    EXPECT_NE(at, std::string::npos) << find;
    if (at != std::string::npos) text.replace(at, find.size(), replace);
    return Write("edited.yaml", text);
  }

  CliRunner ctl_{BRFEDCTL_PATH};
  std::string root_;
};

// The position of `needle` in `hay`, failing the test when absent.
size_t At(const std::string& hay, const std::string& needle) {
  size_t at = hay.find(needle);
  EXPECT_NE(at, std::string::npos) << "missing \"" << needle << "\" in:\n" << hay;
  return at;
}

// The line of `out` that starts with `prefix` followed by a space ("" when none).
std::string Line(const std::string& out, const std::string& prefix) {
  size_t at = out.rfind("\n" + prefix + " ");
  if (at == std::string::npos) return "";
  size_t end = out.find('\n', at + 1);
  return out.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

TEST_F(PlanTest, GuideBackupListsEveryInstanceInDependencyOrder) {
  CliResult r = ctl_.Run({"plan", Source("examples/federation/volume-backup.yaml")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::string& out = r.out;
  EXPECT_THAT(out, StartsWith("VolumeBackup default/demo-backup: valid\n"));
  std::vector<std::string> order = {
      "rbac[0]",          "rbac[2]",          "initialize", "execute[0]", "execute[2]", "resume-gc",
      "wait-complete[0]", "wait-complete[2]", "finally",    "teardown",   "finalize"};
  for (size_t i = 1; i < order.size(); ++i) {
    EXPECT_LT(At(out, order[i - 1]), At(out, order[i])) << order[i - 1] << " before " << order[i];
  }
  EXPECT_THAT(Line(out, "execute[2]"), HasSubstr("k8s-3"));
  EXPECT_THAT(out, HasSubstr("started(initialize)"));
  EXPECT_THAT(out, HasSubstr("rbac[*] (3)"));
  // The initialize member is spec.clusters[0].
  EXPECT_THAT(Line(out, "initialize"), HasSubstr("k8s-1"));
}

TEST_F(PlanTest, GuideRestoreNamesTheDataStep) {
  CliResult r = ctl_.Run({"plan", Source("examples/federation/volume-restore.yaml")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, StartsWith("VolumeRestore default/demo-restore: valid\n"));
  EXPECT_LT(At(r.out, "check-target[2]"), At(r.out, "volume[0]"));
  EXPECT_LT(At(r.out, "tikv[2]"), At(r.out, "restore.data"));
  EXPECT_THAT(r.out, HasSubstr("smallest resolved ts"));
  EXPECT_THAT(r.out, Not(HasSubstr("finally")));
}

TEST_F(PlanTest, InvalidSpecPrintsTheReasonAndExitsOne) {
  std::string file = BackupWith("    s3:\n", "    notS3:\n");
  CliResult r = ctl_.Run({"plan", file});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("VolumeBackup default/demo-backup: invalid"));
  EXPECT_THAT(r.out, HasSubstr("reason:  InvalidSpec"));
  EXPECT_THAT(r.out, HasSubstr("message: spec.template.s3: required"));
}

TEST_F(PlanTest, DuplicateClusterIsInvalid) {
  std::string file = BackupWith("k8sClusterName: k8s-2", "k8sClusterName: k8s-1");
  CliResult r = ctl_.Run({"plan", file});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("spec.clusters[1].k8sClusterName: duplicate \"k8s-1\""));
}

TEST_F(PlanTest, ClusterMissingFromTheKubeconfigIsInvalid) {
  std::string kubeconfig = Write("kubeconfig", R"(apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: k8s-1
  context: {cluster: c, user: u}
- name: k8s-2
  context: {cluster: c, user: u}
current-context: k8s-1
)");
  CliResult r = ctl_.Run(
      {"plan", "--kubeconfig", kubeconfig, Source("examples/federation/volume-backup.yaml")});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("spec.clusters[2].k8sClusterName: \"k8s-3\" is not a context of "
                               "the data-plane kubeconfig"));
}

TEST_F(PlanTest, DotHasAnEdgePerDependency) {
  CliResult r = ctl_.Run({"plan", "--dot", Source("examples/federation/volume-backup.yaml")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, StartsWith("digraph "));
  EXPECT_THAT(r.out, HasSubstr("\"rbac[1]\" -> \"initialize\";"));
  EXPECT_THAT(r.out, HasSubstr("\"initialize\" -> \"execute[2]\";"));
  EXPECT_THAT(r.out, HasSubstr("\"teardown\" -> \"finalize\";"));
  EXPECT_THAT(r.out, HasSubstr("subgraph cluster_finally"));
}

TEST_F(PlanTest, WorkflowsDirReplacesTheBuiltIns) {
  CliResult r = ctl_.Run({"plan", "--workflows-dir", Source("workflows"),
                          Source("examples/federation/volume-backup.yaml")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr(Source("workflows") + "/volume-backup.yaml"));
  CliResult missing = ctl_.Run(
      {"plan", "--workflows-dir", root_, Source("examples/federation/volume-backup.yaml")});
  EXPECT_EQ(missing.exit_code, 2) << missing.Describe();
  EXPECT_THAT(missing.err, HasSubstr("volume-backup.yaml"));
}

TEST_F(PlanTest, FileWithoutAFederationObjectCannotBeAnswered) {
  std::string file = Write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
  CliResult r = ctl_.Run({"plan", file});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.err, HasSubstr("no VolumeBackup or VolumeRestore"));
  CliResult bad = ctl_.Run({"plan", Write("bad.yaml", "kind: [unclosed\n")});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
  EXPECT_THAT(bad.err, HasSubstr("bad.yaml:"));
}

TEST_F(PlanTest, TheManagersWorkflowsValidate) {
  std::vector<std::string> args = {"validate"};
  for (const char* f : {"volume-backup.yaml", "volume-backup-delete.yaml", "volume-restore.yaml",
                        "volume-restore-delete.yaml"}) {
    args.push_back(Source(std::string("workflows/") + f));
  }
  CliResult r = ctl_.Run(args);
  EXPECT_EQ(r.exit_code, 0) << r.Describe() << r.out;
}

}  // namespace
}  // namespace brfed
