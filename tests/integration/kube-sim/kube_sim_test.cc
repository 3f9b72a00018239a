// kube-sim over real HTTP: an in-process Simulator on port 0, driven with httplib.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tools/kube-sim/simulator.h"
#include "tools/kube-sim/store.h"

namespace brfed::kubesim {
namespace {

using json = nlohmann::json;

constexpr char kConfig[] = R"(
tls: false
bookmarkIntervalSeconds: 0.2
historyLimit: 50
users:
  - {name: admin, token: t-admin, admin: true}
clusters:
  - name: c1
    role: control-plane
    namespace: ns1
    namespaces: [ns1]
    objects:
      - apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.test.io}
        spec:
          group: test.io
          scope: Namespaced
          names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wd]}
          versions:
            - name: v1
              served: true
              storage: true
              additionalPrinterColumns:
                - {name: Phase, type: string, jsonPath: .status.phase}
                - {name: Size, type: integer, jsonPath: .spec.size, priority: 1}
                - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
                - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
)";

const char kWidgets[] = "/apis/test.io/v1/namespaces/ns1/widgets";

json Widget(const std::string& name, json labels = json::object()) {
  return {{"apiVersion", "test.io/v1"},
          {"kind", "Widget"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"spec", {{"size", 1}}}};
}

class KubeSimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SimulatorOptions o;
    o.config_yaml = kConfig;
    auto sim = Simulator::Start(std::move(o));
    ASSERT_TRUE(sim.ok()) << sim.status().ToString();
    sim_ = std::move(*sim);
    port_ = sim_->endpoints()[0].port;
    cli_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    cli_->set_read_timeout(10);
    cli_->set_url_encode(false);  // send "+" for spaces as Go and Python clients do
  }
  void TearDown() override {
    cli_.reset();
    if (sim_) sim_->Stop();
  }

  std::pair<int, json> Call(const std::string& method, const std::string& path,
                            const json& body = nullptr,
                            const std::string& content_type = "application/json",
                            httplib::Headers headers = {}) {
    std::string b = body.is_null() ? "" : body.dump();
    httplib::Result r = method == "GET"     ? cli_->Get(path, headers)
                        : method == "POST"  ? cli_->Post(path, headers, b, content_type)
                        : method == "PUT"   ? cli_->Put(path, headers, b, content_type)
                        : method == "PATCH" ? cli_->Patch(path, headers, b, content_type)
                                            : cli_->Delete(path, headers, b, content_type);
    if (!r) return {0, json()};
    return {r->status, json::parse(r->body, nullptr, false)};
  }

  json MustCreate(const json& obj) {
    auto [code, body] = Call("POST", kWidgets, obj);
    EXPECT_EQ(code, 201) << body.dump();
    return body;
  }

  // Reads watch events until `n` arrived or the stream ended.
  std::vector<json> Watch(const std::string& query, size_t n) {
    std::vector<json> events;
    std::string buf;
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10);
    c.Get(std::string(kWidgets) + "?watch=true&" + query, [&](const char* data, size_t len) {
      buf.append(data, len);
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        events.push_back(json::parse(buf.substr(0, nl)));
        buf.erase(0, nl + 1);
      }
      return events.size() < n;
    });
    return events;
  }

  std::unique_ptr<Simulator> sim_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> cli_;
};

TEST_F(KubeSimTest, CreateSetsServerMetadataAndSecondCreateIsAlreadyExists) {
  json w = MustCreate(Widget("w1"));
  EXPECT_EQ(w["metadata"]["generation"], 1);
  EXPECT_EQ(w["metadata"]["uid"].get<std::string>().size(), 36u);
  EXPECT_EQ(w["metadata"]["creationTimestamp"].get<std::string>().back(), 'Z');
  auto [code, body] = Call("POST", kWidgets, Widget("w1"));
  EXPECT_EQ(code, 409);
  EXPECT_EQ(body["reason"], "AlreadyExists");
  EXPECT_EQ(body["message"], "widgets.test.io \"w1\" already exists");
}

TEST_F(KubeSimTest, StaleUpdateIsConflictAndMissingResourceVersionIsInvalid) {
  json w = MustCreate(Widget("w1"));
  json changed = w;
  changed["spec"]["size"] = 2;
  auto [ok_code, updated] = Call("PUT", std::string(kWidgets) + "/w1", changed);
  ASSERT_EQ(ok_code, 200);
  EXPECT_NE(updated["metadata"]["resourceVersion"], w["metadata"]["resourceVersion"]);
  auto [code, body] = Call("PUT", std::string(kWidgets) + "/w1", changed);  // stale RV
  EXPECT_EQ(code, 409);
  EXPECT_EQ(body["reason"], "Conflict");
  changed["metadata"].erase("resourceVersion");
  auto [code2, body2] = Call("PUT", std::string(kWidgets) + "/w1", changed);
  EXPECT_EQ(code2, 422);
  EXPECT_NE(body2["message"].get<std::string>().find("must be specified for an update"),
            std::string::npos);
}

TEST_F(KubeSimTest, GenerationBumpsOnSpecChangesOnlyAndNoOpKeepsResourceVersion) {
  MustCreate(Widget("w1"));
  auto [c1, a] = Call("PATCH", std::string(kWidgets) + "/w1", {{"spec", {{"size", 5}}}},
                      "application/merge-patch+json");
  EXPECT_EQ(a["metadata"]["generation"], 2);
  auto [c2, b] = Call("PATCH", std::string(kWidgets) + "/w1",
                      {{"metadata", {{"labels", {{"x", "y"}}}}}}, "application/merge-patch+json");
  EXPECT_EQ(b["metadata"]["generation"], 2);
  auto [c3, c] = Call("PATCH", std::string(kWidgets) + "/w1",
                      {{"metadata", {{"labels", {{"x", "y"}}}}}}, "application/merge-patch+json");
  EXPECT_EQ(c["metadata"]["resourceVersion"], b["metadata"]["resourceVersion"]);
  auto [c4, d] = Call("PATCH", std::string(kWidgets) + "/w1",
                      json::array({{{"op", "replace"}, {"path", "/spec/size"}, {"value", 7}}}),
                      "application/json-patch+json");
  EXPECT_EQ(c4, 200);
  EXPECT_EQ(d["spec"]["size"], 7);
  EXPECT_EQ(d["metadata"]["generation"], 3);
  auto [c5, e] = Call("PATCH", std::string(kWidgets) + "/w1", {{"spec", {{"size", 1}}}},
                      "application/strategic-merge-patch+json");
  EXPECT_EQ(c5, 415);
}

TEST_F(KubeSimTest, FinalizersKeepTheObjectUntilTheLastOneIsRemoved) {
  json w = Widget("w1");
  w["metadata"]["finalizers"] = {"test.io/keep"};
  MustCreate(w);
  auto [c1, deleting] = Call("DELETE", std::string(kWidgets) + "/w1");
  EXPECT_EQ(c1, 200);
  EXPECT_TRUE(deleting["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ(deleting["metadata"]["generation"], 2);
  auto [c2, add] = Call("PATCH", std::string(kWidgets) + "/w1",
                        {{"metadata", {{"finalizers", {"test.io/keep", "other"}}}}},
                        "application/merge-patch+json");
  EXPECT_EQ(c2, 422);
  auto [c3, gone] = Call("PATCH", std::string(kWidgets) + "/w1",
                         {{"metadata", {{"finalizers", nullptr}}}}, "application/merge-patch+json");
  EXPECT_EQ(c3, 200);
  auto [c4, nf] = Call("GET", std::string(kWidgets) + "/w1");
  EXPECT_EQ(c4, 404);
  EXPECT_EQ(nf["reason"], "NotFound");
}

TEST_F(KubeSimTest, LabelAndFieldSelectors) {
  MustCreate(Widget("a", {{"app", "br"}, {"tier", "x"}}));
  MustCreate(Widget("b", {{"app", "other"}}));
  MustCreate(Widget("c", json::object()));
  struct Case {
    std::string query;
    std::vector<std::string> names;
  } cases[] = {
      {"labelSelector=app%3Dbr", {"a"}},
      {"labelSelector=app%3D%3Dbr", {"a"}},
      {"labelSelector=app!%3Dbr", {"b", "c"}},
      {"labelSelector=app+in+(br,other)", {"a", "b"}},
      {"labelSelector=app+notin+(br)", {"b", "c"}},
      {"labelSelector=tier", {"a"}},
      {"labelSelector=!tier", {"b", "c"}},
      {"labelSelector=app,!tier", {"b"}},
      {"fieldSelector=metadata.name%3Db", {"b"}},
      {"fieldSelector=metadata.name!%3Db", {"a", "c"}},
      {"fieldSelector=metadata.namespace%3Dns1", {"a", "b", "c"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.query);
    auto [code, list] = Call("GET", std::string(kWidgets) + "?" + c.query);
    ASSERT_EQ(code, 200) << list.dump();
    std::vector<std::string> names;
    for (const auto& i : list["items"]) names.push_back(i["metadata"]["name"]);
    EXPECT_EQ(names, c.names);
  }
  auto [bad, status] = Call("GET", std::string(kWidgets) + "?fieldSelector=spec.size%3D1");
  EXPECT_EQ(bad, 400);
  EXPECT_EQ(status["message"], "field label not supported: spec.size");
}

TEST_F(KubeSimTest, PagingFollowsContinueTokens) {
  for (const char* n : {"p1", "p2", "p3", "p4", "p5"}) MustCreate(Widget(n));
  std::vector<std::string> names;
  std::string cont;
  int pages = 0;
  do {
    auto [code, list] =
        Call("GET", std::string(kWidgets) + "?limit=2" + (cont.empty() ? "" : "&continue=" + cont));
    ASSERT_EQ(code, 200);
    ++pages;
    for (const auto& i : list["items"]) names.push_back(i["metadata"]["name"]);
    cont = list["metadata"].value("continue", "");
    if (!cont.empty()) {
      EXPECT_GT(list["metadata"]["remainingItemCount"], 0);
    }
  } while (!cont.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names, (std::vector<std::string>{"p1", "p2", "p3", "p4", "p5"}));
}

TEST_F(KubeSimTest, WatchWithoutResourceVersionStartsWithSyntheticAdded) {
  MustCreate(Widget("w1"));
  auto events = Watch("timeoutSeconds=1", 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[0]["object"]["metadata"]["name"], "w1");
}

TEST_F(KubeSimTest, WatchResumesFromAResourceVersion) {
  json w = MustCreate(Widget("w1"));
  std::string rv = w["metadata"]["resourceVersion"];
  Call("PATCH", std::string(kWidgets) + "/w1", {{"spec", {{"size", 9}}}},
       "application/merge-patch+json");
  Call("DELETE", std::string(kWidgets) + "/w1");
  auto events = Watch("resourceVersion=" + rv, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "MODIFIED");
  EXPECT_EQ(events[1]["type"], "DELETED");
}

TEST_F(KubeSimTest, WatchFromCompactedResourceVersionGetsAnInStream410) {
  json w = MustCreate(Widget("w1"));
  std::string rv = w["metadata"]["resourceVersion"];
  Call("PATCH", std::string(kWidgets) + "/w1", {{"spec", {{"size", 9}}}},
       "application/merge-patch+json");
  sim_->cluster("c1")->store()->CompactHistory();
  auto events = Watch("resourceVersion=" + rv, 5);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "ERROR");
  EXPECT_EQ(events[0]["object"]["code"], 410);
  EXPECT_EQ(events[0]["object"]["reason"], "Expired");
}

TEST_F(KubeSimTest, WatchSendsBookmarksWhenAllowed) {
  auto [code, list] = Call("GET", kWidgets);
  std::string rv = list["metadata"]["resourceVersion"];
  auto events = Watch("allowWatchBookmarks=true&resourceVersion=" + rv, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "BOOKMARK");
  EXPECT_EQ(events[0]["object"]["metadata"]["resourceVersion"], rv);
}

TEST_F(KubeSimTest, WatchEndsWhenTheSimulatorDropsWatches) {
  std::atomic<bool> done{false};
  std::thread t([&] {
    Watch("resourceVersion=1", 100);
    done = true;
  });
  // Drop repeatedly until the watch has ended (it may not have started at the first drop).
  while (!done) {
    ASSERT_TRUE(sim_->DropWatches("c1").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  t.join();
}

TEST_F(KubeSimTest, TableUsesPrinterColumns) {
  json w = Widget("w1");
  w["status"] = {
      {"phase", "Running"},
      {"conditions",
       {{{"type", "Other"}, {"status", "False"}}, {{"type", "Ready"}, {"status", "True"}}}}};
  MustCreate(w);
  auto [code, table] = Call("GET", kWidgets, nullptr, "application/json",
                            {{"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io"}});
  ASSERT_EQ(code, 200);
  EXPECT_EQ(table["kind"], "Table");
  std::vector<std::string> cols;
  for (const auto& c : table["columnDefinitions"]) cols.push_back(c["name"]);
  EXPECT_EQ(cols, (std::vector<std::string>{"Name", "Phase", "Size", "Ready", "Age"}));
  EXPECT_EQ(table["columnDefinitions"][2]["priority"], 1);
  const json& cells = table["rows"][0]["cells"];
  EXPECT_EQ(cells[0], "w1");
  EXPECT_EQ(cells[1], "Running");
  EXPECT_EQ(cells[2], 1);
  EXPECT_EQ(cells[3], "True");
  EXPECT_EQ(cells[4].get<std::string>().back(), 's');
  EXPECT_EQ(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  EXPECT_FALSE(table["metadata"]["resourceVersion"].get<std::string>().empty());
}

TEST_F(KubeSimTest, HumanDurationMatchesKubectl) {
  using std::chrono::hours;
  using std::chrono::minutes;
  using std::chrono::seconds;
  struct Case {
    std::chrono::system_clock::duration d;
    const char* want;
  } cases[] = {{seconds(5), "5s"},          {seconds(119), "119s"}, {seconds(303), "5m3s"},
               {minutes(5), "5m"},          {minutes(90), "90m"},   {minutes(200), "3h20m"},
               {hours(20), "20h"},          {hours(50), "2d2h"},    {hours(24 * 30), "30d"},
               {hours(24 * 365 * 3), "3y"}, {seconds(-1), "0s"},    {seconds(-5), "<invalid>"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(HumanDuration(c.d), c.want);
  }
}

TEST_F(KubeSimTest, CrdCreatedThroughTheApiBecomesServable) {
  json crd = {{"apiVersion", "apiextensions.k8s.io/v1"},
              {"kind", "CustomResourceDefinition"},
              {"metadata", {{"name", "gadgets.test.io"}}},
              {"spec",
               {{"group", "test.io"},
                {"scope", "Namespaced"},
                {"names", {{"kind", "Gadget"}, {"plural", "gadgets"}}},
                {"versions", {{{"name", "v1"}, {"served", true}, {"storage", true}}}}}}};
  auto [code, created] =
      Call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
  ASSERT_EQ(code, 201) << created.dump();
  EXPECT_EQ(created["status"]["conditions"][1]["type"], "Established");
  auto [c2, g] =
      Call("POST", "/apis/test.io/v1/namespaces/ns1/gadgets", {{"metadata", {{"name", "g1"}}}});
  EXPECT_EQ(c2, 201) << g.dump();
  EXPECT_EQ(g["kind"], "Gadget");
  auto [c3, disc] = Call("GET", "/apis/test.io/v1");
  bool found = false;
  for (const auto& r : disc["resources"]) found = found || r["name"] == "gadgets";
  EXPECT_TRUE(found) << disc.dump();
}

TEST_F(KubeSimTest, FaultsAnswer5xxAnd429AndClearAgain) {
  FaultSpec f;
  f.error_rate = 1;
  f.error_code = 503;
  ASSERT_TRUE(sim_->SetFaults("c1", f).ok());
  auto [c1, b1] = Call("GET", kWidgets);
  EXPECT_EQ(c1, 503);
  f = FaultSpec{};
  f.throttle_rate = 1;
  f.retry_after_seconds = 3;
  ASSERT_TRUE(sim_->SetFaults("c1", f).ok());
  auto r = cli_->Get(kWidgets);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->get_header_value("Retry-After"), "3");
  // Admin endpoints are exempt from faults.
  auto [c3, faults] = Call("GET", "/admin/faults");
  EXPECT_EQ(c3, 200);
  EXPECT_EQ(faults["throttleRate"], 1);
  auto [c4, cleared] = Call("DELETE", "/admin/faults");
  EXPECT_EQ(c4, 200);
  auto [c5, list] = Call("GET", kWidgets);
  EXPECT_EQ(c5, 200);
}

TEST_F(KubeSimTest, UnreachableResetFailsRequestsUntilCleared) {
  auto [c0, b0] = Call("POST", "/admin/faults", {{"unreachable", "reset"}});
  ASSERT_EQ(c0, 200) << b0.dump();
  httplib::Client fresh("127.0.0.1", port_);
  auto r = fresh.Get(kWidgets);
  EXPECT_TRUE(!r || r->status >= 500);
  ASSERT_TRUE(sim_->ClearFaults("c1").ok());
  httplib::Client again("127.0.0.1", port_);
  auto ok = again.Get(kWidgets);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(KubeSimTest, UnreachableRefuseClosesThePortAndReopensIt) {
  FaultSpec f;
  f.unreachable = "refuse";
  ASSERT_TRUE(sim_->SetFaults("c1", f).ok());
  bool refused = false;
  for (int i = 0; i < 500 && !refused; ++i) {  // the listener closes asynchronously
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(1);
    auto r = c.Get("/version");
    refused = !r && r.error() == httplib::Error::Connection;
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused);
  ASSERT_TRUE(sim_->ClearFaults("c1").ok());
  bool back = false;
  for (int i = 0; i < 500 && !back; ++i) {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get("/version");
    back = r && r->status == 200;
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(back);
}

TEST_F(KubeSimTest, InProcessSubscribersSeeEveryWrite) {
  Store* store = sim_->cluster("c1")->store();
  std::vector<std::string> seen;
  std::mutex mu;
  auto sub = store->Subscribe({"test.io", "v1", "widgets"}, [&](const WatchEvent& e) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back(std::string(EventTypeName(e.type)) + " " +
                   e.object["metadata"]["name"].get<std::string>());
  });
  MustCreate(Widget("w1"));
  Call("PATCH", std::string(kWidgets) + "/w1", {{"spec", {{"size", 3}}}},
       "application/merge-patch+json");
  Call("DELETE", std::string(kWidgets) + "/w1");
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED w1", "MODIFIED w1", "DELETED w1"}));
}

TEST(KubeSimHttpsTest, TokensAndClientCertificates) {
  SimulatorOptions o;
  o.config_yaml = R"(
users:
  - {name: admin, token: good-token, admin: true}
  - {name: reader, token: reader-token, rules: [{verbs: [get, list]}]}
  - {name: certy, clientCertificate: true}
clusters:
  - {name: secure, namespaces: [default]}
)";
  auto sim = Simulator::Start(std::move(o));
  ASSERT_TRUE(sim.ok()) << sim.status().ToString();
  int port = (*sim)->endpoints()[0].port;
  std::string ca = (*sim)->ca_pem();
  auto client = [&]() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
    X509_STORE* st = X509_STORE_new();
    BIO* b = BIO_new_mem_buf(ca.data(), static_cast<int>(ca.size()));
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    X509_STORE_add_cert(st, x);
    X509_free(x);
    BIO_free(b);
    c->set_ca_cert_store(st);
    c->enable_server_certificate_verification(true);
    return c;
  };
  const char* path = "/api/v1/namespaces/default/configmaps";
  auto good = client()->Get(path, {{"Authorization", "Bearer good-token"}});
  ASSERT_TRUE(good) << httplib::to_string(good.error());
  EXPECT_EQ(good->status, 200);
  auto bad = client()->Get(path, {{"Authorization", "Bearer nope"}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 401);
  auto none = client()->Get(path);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  auto denied = client()->Post(path, {{"Authorization", "Bearer reader-token"}},
                               R"({"metadata":{"name":"cm1"}})", "application/json");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  auto kc = (*sim)->KubeconfigForUser("certy");
  ASSERT_TRUE(kc.ok());
  EXPECT_NE(kc->find("client-certificate-data"), std::string::npos);
  (*sim)->Stop();
}

}  // namespace
}  // namespace brfed::kubesim

namespace brfed::kubesim {
namespace {

TEST(KubeconfigWithoutTest, DropsTheContextAndMovesTheCurrentOne) {
  const std::string kubeconfig = R"(apiVersion: v1
kind: Config
current-context: control-plane
clusters:
  - {name: control-plane, cluster: {server: "https://127.0.0.1:1"}}
  - {name: k8s-1, cluster: {server: "https://127.0.0.1:2"}}
contexts:
  - {name: control-plane, context: {cluster: control-plane, user: admin}}
  - {name: k8s-1, context: {cluster: k8s-1, user: admin, namespace: tidb-cluster}}
users:
  - {name: admin, user: {token: t}}
)";
  Result<std::string> out = KubeconfigWithout(kubeconfig, "control-plane");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // The control plane's context (the only one naming its cluster) is gone; its cluster stays.
  EXPECT_EQ(out->find("cluster: control-plane"), std::string::npos) << *out;
  EXPECT_NE(kubeconfig.find("cluster: control-plane"), std::string::npos);
  EXPECT_NE(out->find("current-context: k8s-1"), std::string::npos) << *out;
  EXPECT_NE(out->find("namespace: tidb-cluster"), std::string::npos) << *out;

  Result<std::string> none = KubeconfigWithout(*out, "k8s-1");
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(KubeconfigWithout("contexts: [", "x").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace brfed::kubesim
