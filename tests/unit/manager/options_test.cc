#include "manager/options.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace brfed::manager {
namespace {

Result<ManagerOptions> Parse(std::vector<const char*> args, std::map<std::string, std::string> env) {
  args.insert(args.begin(), "br-federation-manager");
  return ParseManagerFlags(static_cast<int>(args.size()), args.data(), [&env](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(ManagerFlags, GoFlagSyntaxAndUpstreamDefaults) {
  auto o = Parse({"-workers=7", "--cluster-scoped=false", "-v", "2", "-leader-lease-duration", "20s",
                  "-kube-client-qps=12.5", "-journal-dir=/j", "-health-addr", "127.0.0.1:0"},
                 {{"NAMESPACE", "br"}, {"HELM_RELEASE", "r1"}, {"KUBECONFIG", "/k"}});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->workers, 7);
  EXPECT_FALSE(o->cluster_scoped);
  EXPECT_EQ(o->verbosity, 2);
  EXPECT_EQ(o->leader_lease, std::chrono::seconds(20));
  EXPECT_EQ(o->leader_renew_deadline, std::chrono::seconds(10));
  EXPECT_DOUBLE_EQ(o->kube_client_qps, 12.5);
  EXPECT_EQ(o->journal_dir, "/j");
  EXPECT_EQ(o->health_addr, "127.0.0.1:0");
  EXPECT_EQ(o->federation_kubeconfig_path, "/etc/br-federation/federation-kubeconfig/kubeconfig");
  EXPECT_EQ(o->LockName(), "br-federation-manager-r1");
  EXPECT_EQ(o->kubeconfig, "/k");
}

TEST(ManagerFlags, ErrorsNameTheFlag) {
  struct Case {
    std::vector<const char*> args;
    std::map<std::string, std::string> env;
    const char* want;
  } cases[] = {
      {{"-nope"}, {{"NAMESPACE", "n"}}, "flag provided but not defined: -nope"},
      {{"-workers=x"}, {{"NAMESPACE", "n"}}, "flag -workers: invalid number \"x\""},
      {{"-workers=0"}, {{"NAMESPACE", "n"}}, "flag -workers: must be at least 1"},
      {{"-leader-retry-period=soon"}, {{"NAMESPACE", "n"}}, "flag -leader-retry-period: "},
      {{"-cluster-scoped=maybe"}, {{"NAMESPACE", "n"}}, "flag -cluster-scoped: invalid boolean \"maybe\""},
      {{"-leader-resource-lock=configmaps"}, {{"NAMESPACE", "n"}}, "only \"leases\""},
      {{"-journal-dir"}, {{"NAMESPACE", "n"}}, "flag needs an argument: -journal-dir"},
      {{}, {}, "the NAMESPACE environment variable is required"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    auto o = Parse(c.args, c.env);
    ASSERT_FALSE(o.ok());
    EXPECT_NE(o.status().message().find(c.want), std::string::npos) << o.status().message();
  }
}

TEST(ManagerFlags, VersionNeedsNoNamespace) {
  auto o = Parse({"-V"}, {});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->print_version);
  EXPECT_EQ(o->LockName(), "br-federation-manager");
}

}  // namespace
}  // namespace brfed::manager
