#include "kube/client.h"

#include <glog/logging.h>

#include <random>
#include <thread>

#include "kube/api_error.h"
#include "kube/credentials.h"
#include "kube/transport.h"
#include "kube/util.h"

namespace brfed::kube {

using json = nlohmann::json;

namespace {

std::string_view PathOnly(std::string_view path) { return path.substr(0, path.find('?')); }

void AddQuery(std::string& path, std::string_view key, std::string_view value) {
  path += path.find('?') == std::string::npos ? '?' : '&';
  path += key;
  path += '=';
  path += internal::QueryEscape(value);
}

Result<json> ParseBody(const RawResponse& r) { return r.body; }

}  // namespace

Result<std::unique_ptr<Client>> Client::Create(const RestConfig& config, ClientOptions options) {
  std::unique_ptr<Client> c(new Client(config, std::move(options)));
  TransportOptions t;
  t.connect_timeout = c->options_.connect_timeout;
  t.user_agent = c->options_.user_agent;
  ASSIGN_OR_RETURN(c->transport_, Transport::Create(config, t));
  c->credentials_ = std::make_unique<CredentialSource>(config);
  return c;
}

Client::Client(RestConfig config, ClientOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      bucket_(options_.qps, options_.burst) {}

Client::~Client() = default;

int64_t Client::requests_sent() const { return requests_sent_.load(); }

std::string Client::Context(std::string_view method, std::string_view path) const {
  return config_.cluster_name + ": " + std::string(method) + " " + std::string(PathOnly(path));
}

Status Client::Scrubbed(const Status& s) {
  if (s.ok()) return s;
  return Status(s.code(), Scrub(s.message(), credentials_->Secrets()));
}

void Client::WaitForToken() {
  auto wait = bucket_.Reserve(std::chrono::steady_clock::now());
  if (wait > std::chrono::steady_clock::duration::zero()) std::this_thread::sleep_for(wait);
}

std::chrono::milliseconds Client::Backoff(int attempt) const {
  // Exponential with "equal jitter": half fixed, half random.
  auto d = options_.initial_backoff * (1LL << std::min(attempt - 1, 20));
  if (d > options_.max_backoff) d = options_.max_backoff;
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int64_t> dist(0, d.count() / 2);
  return std::chrono::milliseconds(d.count() / 2 + dist(rng));
}

Result<RawResponse> Client::Do(std::string_view method, const std::string& path, std::string body,
                               std::string_view content_type) {
  HttpRequest req;
  req.method = std::string(method);
  req.path = path;
  req.body = std::move(body);
  req.content_type = std::string(content_type);
  req.timeout = options_.request_timeout;
  const std::string context = Context(method, path);
  bool refreshed = false;
  for (int attempt = 1;; ++attempt) {
    WaitForToken();
    Result<Credential> cred = credentials_->Get();
    if (!cred.ok()) return Scrubbed(cred.status().WithContext(context));
    bool connect_failed = false;
    requests_sent_.fetch_add(1);
    Result<HttpResponse> resp = transport_->Perform(req, *cred, &connect_failed);
    if (!resp.ok()) {
      Status s = Scrubbed(resp.status().WithContext(context));
      if (connect_failed && attempt < options_.max_attempts) {
        auto delay = Backoff(attempt);
        LOG(WARNING) << s.message() << "; retrying in " << delay.count() << " ms (attempt "
                     << attempt << "/" << options_.max_attempts << ")";
        std::this_thread::sleep_for(delay);
        continue;
      }
      return s;
    }
    VLOG(2) << context << ": " << resp->code;
    if (resp->code == 401 && !refreshed && credentials_->OnUnauthorized()) {
      refreshed = true;
      VLOG(1) << context << ": 401, refreshing credentials and retrying";
      continue;
    }
    if (resp->code >= 200 && resp->code <= 299) {
      RawResponse out;
      out.code = resp->code;
      if (!resp->body.empty()) {
        out.body = json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
        if (out.body.is_discarded()) {
          return InternalError(context + ": " + std::to_string(resp->code) +
                               ": response body is not JSON");
        }
      }
      return out;
    }
    Status s = Scrubbed(StatusFromResponse(resp->code, resp->body, context));
    if (IsRetryableHttpCode(resp->code) && attempt < options_.max_attempts) {
      std::chrono::milliseconds delay = Backoff(attempt);
      if (auto ra = ParseRetryAfter(resp->retry_after)) {
        delay = std::min<std::chrono::milliseconds>(*ra, options_.max_retry_after);
      }
      LOG(WARNING) << s.message() << "; retrying in " << delay.count() << " ms (attempt " << attempt
                   << "/" << options_.max_attempts << ")";
      std::this_thread::sleep_for(delay);
      continue;
    }
    return s;
  }
}

Result<RawResponse> Client::Request(std::string_view method, std::string_view path,
                                    const json* body, std::string_view content_type) {
  if (path.empty() || path[0] != '/') {
    return InvalidArgumentError(config_.cluster_name + ": request path must start with /");
  }
  return Do(method, std::string(path), body ? body->dump() : std::string(), content_type);
}

Result<json> Client::Get(const Resource& r, std::string_view ns, std::string_view name) {
  ASSIGN_OR_RETURN(RawResponse resp, Do("GET", r.ItemPath(ns, name), "", ""));
  return ParseBody(resp);
}

Result<ObjectList> Client::List(const Resource& r, std::string_view ns,
                                const ListOptions& options) {
  ObjectList out;
  std::string cont;
  bool restarted = false;
  for (;;) {
    std::string path = r.CollectionPath(ns);
    if (!options.label_selector.empty()) AddQuery(path, "labelSelector", options.label_selector);
    if (!options.field_selector.empty()) AddQuery(path, "fieldSelector", options.field_selector);
    if (options.limit > 0) AddQuery(path, "limit", std::to_string(options.limit));
    if (!cont.empty()) {
      AddQuery(path, "continue", cont);
    } else if (!options.resource_version.empty()) {
      AddQuery(path, "resourceVersion", options.resource_version);
    }
    Result<RawResponse> resp = Do("GET", path, "", "");
    if (!resp.ok() && IsGone(resp.status()) && !cont.empty() && !restarted) {
      // The continue token expired between pages: start over, once.
      VLOG(1) << Context("GET", path) << ": continue token expired, listing again";
      out = ObjectList();
      cont.clear();
      restarted = true;
      continue;
    }
    if (!resp.ok()) return resp.status();
    const json& body = resp->body;
    if (!body.is_object() ||
        (body.contains("items") && !body["items"].is_array() && !body["items"].is_null())) {
      return InternalError(Context("GET", path) + ": response is not a list");
    }
    const json& md = body.contains("metadata") ? body["metadata"] : json::object();
    if (cont.empty()) out.resource_version = internal::StringField(md, "resourceVersion");
    std::string api_version = internal::StringField(body, "apiVersion");
    std::string kind = internal::StringField(body, "kind");
    if (kind.size() > 4 && kind.compare(kind.size() - 4, 4, "List") == 0) {
      kind.resize(kind.size() - 4);
    }
    if (body.contains("items") && body["items"].is_array()) {
      for (const json& item : body["items"]) {
        json obj = item;
        if (obj.is_object()) {
          if (!obj.contains("apiVersion") && !api_version.empty()) obj["apiVersion"] = api_version;
          if (!obj.contains("kind") && !kind.empty()) obj["kind"] = kind;
        }
        out.items.push_back(std::move(obj));
      }
    }
    cont = internal::StringField(md, "continue");
    if (cont.empty()) return out;
  }
}

Result<json> Client::Create(const Resource& r, std::string_view ns, const json& object) {
  ASSIGN_OR_RETURN(RawResponse resp,
                   Do("POST", r.CollectionPath(ns), object.dump(), "application/json"));
  return ParseBody(resp);
}

Result<json> Client::Update(const Resource& r, std::string_view ns, const json& object) {
  std::string name;
  if (object.is_object() && object.contains("metadata")) {
    name = internal::StringField(object["metadata"], "name");
  }
  if (name.empty()) {
    return InvalidArgumentError(config_.cluster_name + ": update " + r.GroupResource() +
                                ": object has no metadata.name");
  }
  ASSIGN_OR_RETURN(RawResponse resp,
                   Do("PUT", r.ItemPath(ns, name), object.dump(), "application/json"));
  return ParseBody(resp);
}

Result<json> Client::Patch(const Resource& r, std::string_view ns, std::string_view name,
                           const json& patch, PatchType type) {
  std::string_view ct = type == PatchType::kMerge  ? "application/merge-patch+json"
                        : type == PatchType::kJson ? "application/json-patch+json"
                                                   : "application/strategic-merge-patch+json";
  ASSIGN_OR_RETURN(RawResponse resp, Do("PATCH", r.ItemPath(ns, name), patch.dump(), ct));
  return ParseBody(resp);
}

Result<json> Client::Delete(const Resource& r, std::string_view ns, std::string_view name,
                            const DeleteOptions& options) {
  json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (options.precondition_uid) body["preconditions"]["uid"] = *options.precondition_uid;
  if (options.precondition_resource_version) {
    body["preconditions"]["resourceVersion"] = *options.precondition_resource_version;
  }
  ASSIGN_OR_RETURN(RawResponse resp,
                   Do("DELETE", r.ItemPath(ns, name), body.dump(), "application/json"));
  return ParseBody(resp);
}

Status Client::Watch(const Resource& r, std::string_view ns, const WatchOptions& options,
                     const std::function<bool(const WatchEvent&)>& on_event, StopSignal* stop) {
  std::string path = r.CollectionPath(ns) + "?watch=true";
  if (!options.label_selector.empty()) AddQuery(path, "labelSelector", options.label_selector);
  if (!options.field_selector.empty()) AddQuery(path, "fieldSelector", options.field_selector);
  if (!options.resource_version.empty()) {
    AddQuery(path, "resourceVersion", options.resource_version);
  }
  if (options.allow_bookmarks) AddQuery(path, "allowWatchBookmarks", "true");
  if (options.timeout.count() > 0) {
    AddQuery(path, "timeoutSeconds", std::to_string(options.timeout.count()));
  }
  const std::string context = Context("WATCH", path);
  HttpRequest req;
  req.path = path;
  // A stream silent for longer than the server's own timeout plus a margin is dead.
  req.timeout = options.timeout.count() > 0
                    ? std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout) +
                          std::chrono::seconds(60)
                    : std::chrono::milliseconds(0);

  bool refreshed = false;
  for (;;) {
    WaitForToken();
    Result<Credential> cred = credentials_->Get();
    if (!cred.ok()) return Scrubbed(cred.status().WithContext(context));
    internal::WatchDecoder decoder;
    Status event_status;  // set by an ERROR event
    auto sink = [&](WatchEvent&& e) {
      if (e.type == WatchEventType::kError) {
        int code = e.object.is_object() && e.object.contains("code") &&
                           e.object["code"].is_number_integer()
                       ? e.object["code"].get<int>()
                       : 500;
        event_status = StatusFromResponse(code, e.object.dump(), context);
        return false;
      }
      return on_event(e);
    };
    auto on_data = [&](std::string_view bytes) { return decoder.Feed(bytes, sink); };
    requests_sent_.fetch_add(1);
    bool connect_failed = false;
    Result<HttpResponse> resp = transport_->Stream(req, *cred, on_data, stop, &connect_failed);
    if (!resp.ok()) return Scrubbed(resp.status().WithContext(context));
    if (resp->code == 401 && !refreshed && credentials_->OnUnauthorized()) {
      refreshed = true;
      continue;
    }
    if (resp->code < 200 || resp->code > 299) {
      return Scrubbed(StatusFromResponse(resp->code, resp->body, context));
    }
    if (!event_status.ok()) return Scrubbed(event_status);
    if (!decoder.status().ok()) return Scrubbed(decoder.status().WithContext(context));
    return Status::OK();
  }
}

}  // namespace brfed::kube
