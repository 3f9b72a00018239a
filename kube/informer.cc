#include "kube/informer.h"

#include <glog/logging.h>

#include <random>

#include "kube/api_error.h"

namespace brfed::kube {

using json = nlohmann::json;

namespace {
std::string CacheKey(std::string_view ns, std::string_view name) {
  return ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
}

int64_t RandomBetween(int64_t lo, int64_t hi) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}
}  // namespace

Informer::Informer(Client* client, InformerOptions options, Handler handler)
    : client_(client), options_(std::move(options)), handler_(std::move(handler)) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  synced_cv_.notify_all();
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
}

bool Informer::HasSynced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return synced_;
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  synced_cv_.wait_for(lock, timeout, [this] { return synced_ || stopping_; });
  return synced_;
}

std::optional<json> Informer::Get(std::string_view ns, std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(CacheKey(ns, name));
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

std::vector<json> Informer::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<json> out;
  out.reserve(cache_.size());
  for (const auto& [key, obj] : cache_) out.push_back(obj);
  return out;
}

std::string Informer::resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

std::chrono::milliseconds Informer::NextBackoff() {
  ++backoff_attempt_;
  auto d = options_.initial_backoff * (1LL << std::min(backoff_attempt_ - 1, 20));
  if (d > options_.max_backoff) d = options_.max_backoff;
  return std::chrono::milliseconds(d.count() / 2 + RandomBetween(0, d.count() / 2));
}

void Informer::Emit(const std::vector<InformerEvent>& events) {
  if (!handler_) return;
  for (const InformerEvent& e : events) handler_(e);
}

Status Informer::ListAndReplace() {
  ListOptions lo;
  lo.label_selector = options_.label_selector;
  lo.field_selector = options_.field_selector;
  lo.limit = options_.page_size;
  ASSIGN_OR_RETURN(ObjectList list, client_->List(options_.resource, options_.ns, lo));
  lists_.fetch_add(1);
  std::vector<InformerEvent> events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, json, std::less<>> fresh;
    for (json& obj : list.items) {
      std::string key = KeyOf(obj);
      auto old = cache_.find(key);
      if (old == cache_.end()) {
        events.push_back({InformerEventType::kAdded, obj, json()});
      } else if (ResourceVersionOf(old->second) != ResourceVersionOf(obj)) {
        events.push_back({InformerEventType::kUpdated, obj, old->second});
      }
      fresh.emplace(std::move(key), std::move(obj));
    }
    for (auto& [key, obj] : cache_) {
      // Gone while we were not watching: its deletion event was missed, so report it now.
      if (!fresh.count(key)) events.push_back({InformerEventType::kDeleted, obj, json()});
    }
    cache_ = std::move(fresh);
    resource_version_ = list.resource_version;
  }
  Emit(events);
  {
    std::lock_guard<std::mutex> lock(mu_);
    synced_ = true;
  }
  synced_cv_.notify_all();
  return Status::OK();
}

bool Informer::OnWatchEvent(const WatchEvent& e) {
  std::string rv = e.ResourceVersion();
  std::vector<InformerEvent> events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!rv.empty()) resource_version_ = rv;
    if (e.type == WatchEventType::kBookmark) return true;
    std::string key = KeyOf(e.object);
    if (key.empty()) return true;  // not an object; nothing to cache
    auto it = cache_.find(key);
    if (e.type == WatchEventType::kDeleted) {
      if (it == cache_.end()) return true;
      cache_.erase(it);
      events.push_back({InformerEventType::kDeleted, e.object, json()});
    } else if (it == cache_.end()) {
      cache_.emplace(key, e.object);
      events.push_back({InformerEventType::kAdded, e.object, json()});
    } else if (ResourceVersionOf(it->second) != rv) {
      events.push_back({InformerEventType::kUpdated, e.object, it->second});
      it->second = e.object;
    }
  }
  Emit(events);
  return !stop_.stopped();
}

void Informer::Run() {
  const std::string what = client_->cluster_name() + ": informer " +
                           options_.resource.GroupResource() +
                           (options_.ns.empty() ? "" : " in " + options_.ns);
  bool need_list = true;
  auto last_list = std::chrono::steady_clock::now();
  while (!stop_.stopped()) {
    if (options_.relist_period.count() > 0 &&
        std::chrono::steady_clock::now() - last_list >= options_.relist_period) {
      need_list = true;
    }
    if (need_list) {
      Status s = ListAndReplace();
      if (!s.ok()) {
        auto delay = NextBackoff();
        LOG(WARNING) << what << ": list failed: " << s.message() << "; retrying in "
                     << delay.count() << " ms";
        stop_.WaitFor(delay);
        continue;
      }
      need_list = false;
      last_list = std::chrono::steady_clock::now();
    }
    WatchOptions wo;
    wo.label_selector = options_.label_selector;
    wo.field_selector = options_.field_selector;
    wo.resource_version = resource_version();
    wo.allow_bookmarks = true;
    int64_t t = options_.watch_timeout.count();
    wo.timeout = std::chrono::seconds(t > 0 ? RandomBetween(t, 2 * t - 1) : 0);
    auto started = std::chrono::steady_clock::now();
    bool got_event = false;
    Status s = client_->Watch(
        options_.resource, options_.ns, wo,
        [&](const WatchEvent& e) {
          got_event = true;
          return OnWatchEvent(e);
        },
        &stop_);
    if (stop_.stopped()) break;
    if (got_event || std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) {
      backoff_attempt_ = 0;  // the connection worked
    }
    if (IsGone(s)) {
      VLOG(1) << what << ": " << s.message() << "; relisting";
      need_list = true;
      continue;
    }
    if (s.ok() && backoff_attempt_ == 0) continue;  // normal end of stream: resume at once
    auto delay = NextBackoff();
    if (!s.ok()) {
      LOG(WARNING) << what << ": watch ended: " << s.message() << "; resuming from "
                   << wo.resource_version << " in " << delay.count() << " ms";
    }
    stop_.WaitFor(delay);
  }
}

}  // namespace brfed::kube
