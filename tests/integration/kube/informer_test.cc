// Watch and Informer against FakeApiServer: resume after a dropped connection, 410 relist.
#include "kube/informer.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

#include "kube/api_error.h"
#include "tests/integration/kube/test_env.h"

namespace brfed::kube::testing {
namespace {

using json = nlohmann::json;
constexpr auto kWait = std::chrono::seconds(20);  // generous: only hit when a test fails

// Collects informer events; lets the test wait for a condition on them.
class Recorder {
 public:
  void operator()(const InformerEvent& e) {
    std::lock_guard<std::mutex> lock(mu_);
    const char* t = e.type == InformerEventType::kAdded     ? "added"
                    : e.type == InformerEventType::kUpdated ? "updated"
                                                            : "deleted";
    events_.push_back(std::string(t) + " " + KeyOf(e.object));
    cv_.notify_all();
  }
  // Waits until `want` has been recorded (in addition to what was there); false on timeout.
  bool WaitFor(const std::string& want) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] {
      return std::find(events_.begin(), events_.end(), want) != events_.end();
    });
  }
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

class InformerTest : public ::testing::Test {
 protected:
  InformerTest() : server_(ServerOptions({"good-token"})) {
    client_ = std::move(*ClientFromKubeconfig(
        KubeconfigFor(server_.url(), Pki().ca.cert_pem, TokenUser("good-token")), FastOptions()));
  }

  std::unique_ptr<Informer> Start(Recorder& rec) {
    InformerOptions o;
    o.resource = kThings;
    o.ns = "ns1";
    o.initial_backoff = std::chrono::milliseconds(20);
    o.max_backoff = std::chrono::milliseconds(200);
    auto inf = std::make_unique<Informer>(client_.get(), o, std::ref(rec));
    inf->Start();
    EXPECT_TRUE(inf->WaitForSync(kWait));
    return inf;
  }

  // Waits until the server has received `n` watch requests.
  bool WaitForWatchRequests(int n) {
    auto deadline = std::chrono::steady_clock::now() + kWait;
    while (server_.watch_requests() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  FakeApiServer server_;
  std::unique_ptr<Client> client_;
};

TEST_F(InformerTest, ListsThenDeliversAddUpdateDelete) {
  server_.Upsert(kThingsNs1, Thing("before"));
  Recorder rec;
  auto inf = Start(rec);
  EXPECT_TRUE(rec.WaitFor("added ns1/before"));
  ASSERT_TRUE(inf->Get("ns1", "before"));

  ASSERT_TRUE(client_->Create(kThings, "ns1", Thing("a")).ok());
  ASSERT_TRUE(client_->Patch(kThings, "ns1", "a", {{"spec", {{"size", 5}}}}).ok());
  ASSERT_TRUE(client_->Delete(kThings, "ns1", "before").ok());
  ASSERT_TRUE(rec.WaitFor("deleted ns1/before"));
  EXPECT_EQ(rec.events(), (std::vector<std::string>{"added ns1/before", "added ns1/a",
                                                    "updated ns1/a", "deleted ns1/before"}));
  EXPECT_EQ((*inf->Get("ns1", "a"))["spec"]["size"], 5);
  EXPECT_FALSE(inf->Get("ns1", "before"));
  EXPECT_EQ(inf->List().size(), 1u);
  EXPECT_EQ(inf->lists(), 1);
}

TEST_F(InformerTest, DroppedConnectionResumesWithoutLosingEvents) {
  Recorder rec;
  auto inf = Start(rec);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(WaitForWatchRequests(round + 1));
    // Changes made while the stream is held, then the connection drops: they must all arrive
    // over the resumed watch.
    server_.PauseWatches(true);
    std::string n = "r" + std::to_string(round);
    server_.Upsert(kThingsNs1, Thing(n));
    json modified = Thing(n);
    modified["spec"]["size"] = 2;
    server_.Upsert(kThingsNs1, modified);
    server_.DropWatches();
    server_.PauseWatches(false);
    ASSERT_TRUE(rec.WaitFor("updated ns1/" + n)) << "round " << round;
  }
  EXPECT_EQ(inf->lists(), 1);  // resumed from the last resourceVersion, no relist
  EXPECT_TRUE(WaitForWatchRequests(4));
  std::vector<std::string> want;
  for (int round = 0; round < 3; ++round) {
    want.push_back("added ns1/r" + std::to_string(round));
    want.push_back("updated ns1/r" + std::to_string(round));
  }
  EXPECT_EQ(rec.events(), want);
}

TEST_F(InformerTest, ExpiredResourceVersionRelistsAndReportsTheDifference) {
  server_.Upsert(kThingsNs1, Thing("stays"));
  server_.Upsert(kThingsNs1, Thing("goes"));
  Recorder rec;
  auto inf = Start(rec);
  ASSERT_TRUE(rec.WaitFor("added ns1/goes"));
  ASSERT_TRUE(WaitForWatchRequests(1));

  server_.PauseWatches(true);
  server_.Remove(kThingsNs1, "goes");
  server_.Upsert(kThingsNs1, Thing("new"));
  server_.Compact();  // the informer's resourceVersion is now too old: in-stream 410
  server_.DropWatches();
  server_.PauseWatches(false);

  ASSERT_TRUE(rec.WaitFor("deleted ns1/goes"));
  ASSERT_TRUE(rec.WaitFor("added ns1/new"));
  EXPECT_EQ(inf->lists(), 2);
  EXPECT_TRUE(inf->Get("ns1", "stays"));
  EXPECT_FALSE(inf->Get("ns1", "goes"));
  // "stays" did not change, so it is not reported again.
  std::vector<std::string> events = rec.events();
  EXPECT_EQ(std::count(events.begin(), events.end(), "added ns1/stays"), 1);
}

TEST_F(InformerTest, StopsPromptlyWithAnOpenWatch) {
  Recorder rec;
  auto inf = Start(rec);
  inf->Stop();
  inf.reset();
  SUCCEED();
}

TEST_F(InformerTest, WatchReportsHttp410AsGone) {
  server_.set_watch_http_410(true);
  Status s = client_->Watch(kThings, "ns1", From("1"), [](const WatchEvent&) { return true; });
  EXPECT_TRUE(IsGone(s)) << s.ToString();
}

TEST_F(InformerTest, WatchReportsInStream410AsGone) {
  server_.Upsert(kThingsNs1, Thing("a"));
  server_.Compact();
  Status s = client_->Watch(kThings, "ns1", From("1"), [](const WatchEvent&) { return true; });
  EXPECT_TRUE(IsGone(s)) << s.ToString();
  EXPECT_NE(s.message().find("too old resource version"), std::string::npos);
}

TEST_F(InformerTest, WatchStopSignalEndsTheStream) {
  StopSignal stop;
  std::thread stopper([&] {
    // Stop once the stream is open.
    while (server_.open_watches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop.Stop();
  });
  Status s = client_->Watch(
      kThings, "ns1", {}, [](const WatchEvent&) { return true; }, &stop);
  stopper.join();
  EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.ToString();
}

}  // namespace
}  // namespace brfed::kube::testing
