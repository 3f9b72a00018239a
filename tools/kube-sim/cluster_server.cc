// The HTTP layer of kube-sim: routing, authentication, authorization, faults, discovery,
// CRUD, patch, watch and Table responses over a Store. The only file that serves with httplib.
#include "tools/kube-sim/cluster_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

namespace brfed::kubesim::internal {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

bool AnyMatch(const std::vector<std::string>& list, const std::string& v) {
  if (list.empty()) return true;
  for (const auto& x : list) {
    if (x == "*" || x == v) return true;
  }
  return false;
}

// Go's strconv.ParseBool.
std::optional<bool> ParseBool(const std::string& s) {
  if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False") {
    return false;
  }
  return std::nullopt;
}

// Sorts Kubernetes versions: GA > beta > alpha, then by number (v2 > v1).
int VersionRank(const std::string& v, int* major, int* minor) {
  *major = 0;
  *minor = 0;
  if (v.size() < 2 || v[0] != 'v' || !std::isdigit(static_cast<unsigned char>(v[1]))) return 0;
  size_t i = 1;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) {
    *major = *major * 10 + (v[i++] - '0');
  }
  int kind = 3;
  if (v.compare(i, 4, "beta") == 0) {
    kind = 2;
    i += 4;
  } else if (v.compare(i, 5, "alpha") == 0) {
    kind = 1;
    i += 5;
  } else if (i != v.size()) {
    return 0;
  }
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) {
    *minor = *minor * 10 + (v[i++] - '0');
  }
  return kind;
}
bool VersionLess(const std::string& a, const std::string& b) {  // a is preferred over b
  int am, an, bm, bn;
  int ak = VersionRank(a, &am, &an), bk = VersionRank(b, &bm, &bn);
  if (ak != bk) return ak > bk;
  if (am != bm) return am > bm;
  if (an != bn) return an > bn;
  return a < b;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

std::chrono::milliseconds ParseDurationMs(const json& v, bool* ok) {
  *ok = true;
  if (v.is_number()) return std::chrono::milliseconds(v.get<int64_t>());
  if (!v.is_string()) {
    *ok = false;
    return {};
  }
  std::string s = v.get<std::string>();
  double total = 0;
  size_t i = 0;
  if (s.empty()) *ok = false;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (start == i) {
      *ok = false;
      return {};
    }
    double n = std::strtod(s.substr(start, i - start).c_str(), nullptr);
    size_t us = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string unit = s.substr(us, i - us);
    if (unit == "ms") {
      total += n;
    } else if (unit == "s" || unit.empty()) {
      total += n * 1000;
    } else if (unit == "m") {
      total += n * 60000;
    } else if (unit == "h") {
      total += n * 3600000;
    } else {
      *ok = false;
      return {};
    }
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total));
}

std::string FormatDurationMs(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

// Reads a protobuf varint; false at the end of the buffer.
bool ReadVarint(const std::string& b, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *pos < b.size(); shift += 7) {
    uint8_t c = static_cast<uint8_t>(b[(*pos)++]);
    *v |= static_cast<uint64_t>(c & 0x7f) << shift;
    if (!(c & 0x80)) return true;
  }
  return false;
}
// Length-delimited fields of a protobuf message by field number (the last one wins).
std::map<int, std::string> ProtoFields(const std::string& b) {
  std::map<int, std::string> out;
  size_t pos = 0;
  while (pos < b.size()) {
    uint64_t tag;
    if (!ReadVarint(b, &pos, &tag)) break;
    int field = static_cast<int>(tag >> 3), wire = static_cast<int>(tag & 7);
    if (wire == 2) {
      uint64_t len;
      if (!ReadVarint(b, &pos, &len) || pos + len > b.size()) break;
      out[field] = b.substr(pos, len);
      pos += len;
    } else if (wire == 0) {
      uint64_t ignored;
      if (!ReadVarint(b, &pos, &ignored)) break;
    } else if (wire == 1) {
      pos += 8;
    } else if (wire == 5) {
      pos += 4;
    } else {
      break;
    }
  }
  return out;
}

// Decodes a kubectl 1.32 protobuf SelfSubjectAccessReview into its JSON form.
std::optional<json> DecodeProtobufSsar(const std::string& body) {
  if (body.size() < 4 || body.compare(0, 4, std::string("k8s\0", 4)) != 0) return std::nullopt;
  auto unknown = ProtoFields(body.substr(4));
  auto obj = ProtoFields(unknown[2]);
  auto spec = ProtoFields(obj[2]);
  json out = {{"kind", "SelfSubjectAccessReview"},
              {"apiVersion", "authorization.k8s.io/v1"},
              {"metadata", {{"creationTimestamp", nullptr}}},
              {"spec", json::object()}};
  if (spec.count(1)) {
    auto ra = ProtoFields(spec[1]);
    const char* names[] = {"", "namespace", "verb", "group", "version", "resource", "subresource",
                           "name"};
    json r = json::object();
    for (int i = 1; i <= 7; ++i) {
      if (ra.count(i)) r[names[i]] = ra[i];
    }
    out["spec"]["resourceAttributes"] = r;
  }
  if (spec.count(2)) {
    auto nra = ProtoFields(spec[2]);
    json r = json::object();
    if (nra.count(1)) r["path"] = nra[1];
    if (nra.count(2)) r["verb"] = nra[2];
    out["spec"]["nonResourceAttributes"] = r;
  }
  return out;
}

// Decodes a form-encoded query component: "+" is a space, %XX a byte.
std::string FormDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The value of query parameter `name` of the request ("" if absent). httplib decodes %XX but
// not "+", which Go and Python clients use for spaces, so the raw target is parsed here.
std::string Param(const httplib::Request& req, std::string_view name) {
  size_t q = req.target.find('?');
  if (q == std::string::npos) return "";
  std::string_view query = std::string_view(req.target).substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    if (FormDecode(kv.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? "" : FormDecode(kv.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

// Finds the socket of a plain-HTTP request (httplib does not expose it) by its ports.
int FindSocket(const httplib::Request& req) {
  if (req.ssl != nullptr) return SSL_get_fd(req.ssl);
  for (int fd = 3; fd < 4096; ++fd) {
    sockaddr_storage local{}, peer{};
    socklen_t ll = sizeof local, pl = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) continue;
    if (local.ss_family != AF_INET) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    auto* l4 = reinterpret_cast<sockaddr_in*>(&local);
    auto* p4 = reinterpret_cast<sockaddr_in*>(&peer);
    if (ntohs(l4->sin_port) == req.local_port && ntohs(p4->sin_port) == req.remote_port) {
      return fd;
    }
  }
  return -1;
}

void ResetConnection(const httplib::Request& req) {
  int fd = FindSocket(req);
  if (fd < 0) return;
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  shutdown(fd, SHUT_RDWR);
}

}  // namespace

bool AccessRule::Matches(const std::string& cluster, const std::string& verb,
                         const std::string& group, const std::string& resource,
                         const std::string& ns) const {
  return AnyMatch(clusters, cluster) && AnyMatch(verbs, verb) && AnyMatch(api_groups, group) &&
         AnyMatch(resources, resource) && (ns.empty() || AnyMatch(namespaces, ns));
}

bool SimUser::Allows(const std::string& cluster, const std::string& verb,
                     const std::string& api_group, const std::string& resource,
                     const std::string& ns) const {
  if (rules.empty()) return true;
  for (const auto& r : rules) {
    if (r.Matches(cluster, verb, api_group, resource, ns)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------

struct ClusterServer::Impl {
  ClusterServerOptions opts;
  Store* store = nullptr;

  mutable std::mutex mu;  // guards faults, faults_until, admin_routes, request_log
  std::condition_variable fault_cv;
  FaultSpec faults;
  Clock::time_point faults_until{};
  std::map<std::string, AdminHandler> admin_routes;
  std::deque<json> request_log;

  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> watch_epoch{0};

  // Listener management: the manager thread (re)starts and stops the httplib server.
  std::mutex server_mu;
  std::condition_variable server_cv;
  std::unique_ptr<httplib::Server> server;
  std::thread listen_thread;
  std::thread manager_thread;
  int port = 0;
  bool want_listening = true;

  std::mt19937_64 rng{std::random_device{}()};

  // ---------------------------------------------------------------- helpers

  static void SendJson(httplib::Response& res, int code, const json& body) {
    res.status = code;
    res.set_content(body.dump(), "application/json");
  }

  static json StatusBody(int code, const std::string& reason, const std::string& message,
                         json details = nullptr) {
    json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
              {"status", "Failure"}, {"message", message}, {"reason", reason}, {"code", code}};
    if (!details.is_null()) s["details"] = std::move(details);
    return s;
  }

  static void SendStatus(httplib::Response& res, int code, const std::string& reason,
                         const std::string& message, json details = nullptr) {
    SendJson(res, code, StatusBody(code, reason, message, std::move(details)));
  }

  static void SendNotFoundPath(httplib::Response& res) {
    SendStatus(res, 404, "NotFound", "the server could not find the requested resource",
               json::object());
  }

  // Maps a store Status to a Kubernetes Status answer.
  static void SendError(httplib::Response& res, const Status& st, const ResourceInfo* info,
                        const std::string& name) {
    json details = json::object();
    if (info != nullptr) {
      if (!name.empty()) details["name"] = name;
      details["group"] = info->key.group;
      details["kind"] = info->key.plural;
    }
    const std::string& msg = st.message();
    switch (st.code()) {
      case StatusCode::kNotFound:
        if (msg == "the server could not find the requested resource") details = json::object();
        return SendStatus(res, 404, "NotFound", msg, details);
      case StatusCode::kAlreadyExists:
        return SendStatus(res, 409, "AlreadyExists", msg, details);
      case StatusCode::kAborted:
        return SendStatus(res, 409, "Conflict", msg, details);
      case StatusCode::kOutOfRange:
        return SendStatus(res, 410, "Expired", msg);
      case StatusCode::kFailedPrecondition:
      case StatusCode::kUnimplemented:
        return SendStatus(res, 400, "BadRequest", msg);
      case StatusCode::kInvalidArgument: {
        if (info != nullptr) details["kind"] = info->kind;
        size_t p = msg.find(" is invalid: ");
        if (p != std::string::npos) {
          std::string rest = msg.substr(p + 13);
          size_t colon = rest.find(": ");
          json cause = {{"reason", "FieldValueInvalid"}, {"message", rest}};
          if (colon != std::string::npos) {
            cause["field"] = rest.substr(0, colon);
            std::string detail = rest.substr(colon + 2);
            cause["message"] = detail;
            if (detail.rfind("Forbidden", 0) == 0) cause["reason"] = "FieldValueForbidden";
            if (detail.rfind("Required", 0) == 0) cause["reason"] = "FieldValueRequired";
          }
          details["causes"] = json::array({cause});
        } else {
          details["causes"] = json::array({{{"reason", "FieldValueInvalid"}, {"message", msg}}});
        }
        return SendStatus(res, 422, "Invalid", msg, details);
      }
      case StatusCode::kPermissionDenied:
        return SendStatus(res, 403, "Forbidden", msg, details);
      case StatusCode::kInternal: {
        json s = StatusBody(500, "", msg);
        s.erase("reason");
        return SendJson(res, 500, s);
      }
      default:
        return SendStatus(res, 500, "InternalError", msg);
    }
  }

  const SimUser* UserByToken(const std::string& token) const {
    for (const auto& u : opts.users) {
      if (!u.token.empty() && u.token == token) return &u;
    }
    return nullptr;
  }

  // Authenticates; nullptr with `*anonymous` over plain HTTP without credentials.
  const SimUser* Authenticate(const httplib::Request& req, bool* failed) const {
    *failed = false;
    std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0) {
      const SimUser* u = UserByToken(auth.substr(7));
      if (u != nullptr) return u;
      if (opts.tls) *failed = true;
      return nullptr;
    }
    if (opts.tls && req.ssl != nullptr) {
      SSL* ssl = const_cast<SSL*>(req.ssl);
      X509* peer = SSL_get1_peer_certificate(ssl);
      if (peer != nullptr) {
        std::string cn;
        char buf[256];
        if (SSL_get_verify_result(ssl) == X509_V_OK &&
            X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf,
                                      sizeof buf) > 0) {
          cn = buf;
        }
        X509_free(peer);
        for (const auto& u : opts.users) {
          if (u.client_cert && u.name == cn) return &u;
        }
      }
    }
    if (opts.tls) *failed = true;
    return nullptr;
  }

  void LogRequest(const httplib::Request& req, const httplib::Response& res) {
    json e = {{"method", req.method},
              {"target", req.target},
              {"path", req.path},
              {"authorization", req.has_header("Authorization")},
              {"userAgent", req.get_header_value("User-Agent")},
              {"accept", req.get_header_value("Accept")},
              {"contentType", req.get_header_value("Content-Type")},
              {"code", res.status}};
    if (req.path.find("selfsubjectaccessreviews") != std::string::npos) {
      auto decoded = DecodeProtobufSsar(req.body);
      json body = decoded ? *decoded : json::parse(req.body, nullptr, false);
      if (!body.is_discarded()) e["body"] = body;
    }
    std::lock_guard<std::mutex> l(mu);
    request_log.push_back(std::move(e));
    while (request_log.size() > opts.request_log_limit) request_log.pop_front();
  }

  FaultSpec CurrentFaults() {
    std::lock_guard<std::mutex> l(mu);
    ExpireFaultsLocked();
    return faults;
  }

  void ExpireFaultsLocked() {
    if (faults_until != Clock::time_point{} && Clock::now() >= faults_until) {
      bool was_refused = faults.unreachable == "refuse";
      faults = FaultSpec{};
      faults_until = {};
      if (was_refused) {
        std::lock_guard<std::mutex> sl(server_mu);
        want_listening = true;
        server_cv.notify_all();
      }
      fault_cv.notify_all();
    }
  }

  double Uniform() {
    std::lock_guard<std::mutex> l(mu);
    return std::uniform_real_distribution<double>(0, 1)(rng);
  }

  // Returns Handled when a fault answered (or swallowed) the request.
  httplib::Server::HandlerResponse ApplyFaults(const httplib::Request& req,
                                               httplib::Response& res) {
    FaultSpec f = CurrentFaults();
    if (f.unreachable == "hang") {
      std::unique_lock<std::mutex> l(mu);
      fault_cv.wait(l, [&] {
        ExpireFaultsLocked();
        return stopping.load() || faults.unreachable != "hang";
      });
      if (stopping) {
        ResetConnection(req);
        SendStatus(res, 503, "ServiceUnavailable", "kube-sim is stopping");
        return httplib::Server::HandlerResponse::Handled;
      }
      l.unlock();
      f = CurrentFaults();
    }
    if (f.unreachable == "reset" || f.unreachable == "refuse" ||
        (f.reset_rate > 0 && Uniform() < f.reset_rate)) {
      ResetConnection(req);
      SendStatus(res, 503, "ServiceUnavailable", "connection reset by kube-sim fault");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (f.latency.count() > 0) {
      std::unique_lock<std::mutex> l(mu);
      fault_cv.wait_for(l, f.latency, [&] { return stopping.load(); });
    }
    if (f.throttle_rate > 0 && Uniform() < f.throttle_rate) {
      res.set_header("Retry-After", std::to_string(f.retry_after_seconds));
      json details = {{"retryAfterSeconds", f.retry_after_seconds}};
      SendStatus(res, 429, "TooManyRequests", "the server has received too many requests and "
                 "has asked us to try again later (kube-sim fault)", details);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (f.error_rate > 0 && Uniform() < f.error_rate) {
      int code = f.error_code;
      const char* reason = code == 503 ? "ServiceUnavailable"
                           : code == 504 ? "Timeout"
                                         : "InternalError";
      SendStatus(res, code, reason, "an error on the server (kube-sim fault) has prevented the "
                 "request from succeeding");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  // ---------------------------------------------------------------- admin

  void HandleAdmin(const httplib::Request& req, httplib::Response& res, const SimUser* user) {
    if (opts.tls && (user == nullptr || !user->admin)) {
      SendStatus(res, 403, "Forbidden", "the admin endpoints need a user with admin: true");
      return;
    }
    std::string sub = req.path.substr(std::string("/admin/").size());
    if (sub == "faults") {
      if (req.method == "GET") return SendJson(res, 200, CurrentFaults().ToJson());
      if (req.method == "DELETE") {
        SetFaults(FaultSpec{});
        return SendJson(res, 200, FaultSpec{}.ToJson());
      }
      if (req.method == "POST" || req.method == "PUT") {
        json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
        if (body.is_discarded()) return SendStatus(res, 400, "BadRequest", "body is not JSON");
        auto spec = FaultSpec::FromJson(body);
        if (!spec.ok()) return SendStatus(res, 400, "BadRequest", spec.status().message());
        SetFaults(*spec);
        return SendJson(res, 200, spec->ToJson());
      }
    } else if (sub == "watches/drop" && req.method == "POST") {
      DropWatches();
      return SendJson(res, 200, {{"dropped", true}});
    } else if (sub == "compact" && req.method == "POST") {
      store->CompactHistory();
      return SendJson(res, 200, {{"resourceVersion", std::to_string(store->resource_version())}});
    } else if (sub == "requests") {
      std::lock_guard<std::mutex> l(mu);
      if (req.method == "DELETE") request_log.clear();
      return SendJson(res, 200, json(std::vector<json>(request_log.begin(), request_log.end())));
    } else if (sub == "healthz") {
      res.set_content("ok", "text/plain");
      return;
    }
    AdminHandler handler;
    {
      std::lock_guard<std::mutex> l(mu);
      auto it = admin_routes.find(sub);
      if (it != admin_routes.end()) handler = it->second;
    }
    if (!handler) return SendNotFoundPath(res);
    AdminRequest areq;
    areq.method = req.method;
    areq.path = sub;
    for (const auto& [k, v] : req.params) areq.query.emplace(k, v);
    areq.body = req.body;
    AdminResponse ares = handler(areq);
    res.status = ares.status;
    res.set_content(ares.body, ares.content_type.c_str());
  }

  void SetFaults(const FaultSpec& f) {
    {
      std::lock_guard<std::mutex> l(mu);
      faults = f;
      faults_until = f.duration.count() > 0 ? Clock::now() + f.duration : Clock::time_point{};
      fault_cv.notify_all();
    }
    {
      std::lock_guard<std::mutex> l(server_mu);
      want_listening = f.unreachable != "refuse";
      server_cv.notify_all();
    }
    if (f.unreachable == "refuse" || f.unreachable == "reset") DropWatches();
    store->WakeAllWaiters();
  }

  void DropWatches() {
    watch_epoch.fetch_add(1);
    store->WakeAllWaiters();
  }

  // ---------------------------------------------------------------- discovery

  std::vector<ResourceInfo> Served() const {
    std::vector<ResourceInfo> all = store->Resources();
    return all;
  }

  static json ApiResource(const ResourceInfo& r) {
    json j = {{"name", r.key.plural},       {"singularName", r.singular},
              {"namespaced", r.namespaced}, {"kind", r.kind},
              {"verbs", r.verbs}};
    if (!r.short_names.empty()) j["shortNames"] = r.short_names;
    if (!r.categories.empty()) j["categories"] = r.categories;
    return j;
  }

  bool HandleDiscovery(const std::vector<std::string>& segs, httplib::Response& res) {
    if (segs.size() == 1 && segs[0] == "version") {
      SendJson(res, 200,
               {{"major", "1"}, {"minor", "20"}, {"gitVersion", "v1.20.2-sim"},
                {"gitCommit", "0000000"}, {"gitTreeState", "clean"},
                {"buildDate", "2024-01-01T00:00:00Z"}, {"goVersion", "go1.15"},
                {"compiler", "gc"}, {"platform", "linux/amd64"}});
      return true;
    }
    if (segs.size() == 1 && (segs[0] == "healthz" || segs[0] == "livez" || segs[0] == "readyz")) {
      res.set_content("ok", "text/plain");
      return true;
    }
    if (segs.size() == 2 && segs[0] == "openapi" && segs[1] == "v2") {
      res.status = 200;
      res.set_content("", "application/octet-stream");
      return true;
    }
    std::vector<ResourceInfo> all = Served();
    if (segs.size() == 1 && segs[0] == "api") {
      SendJson(res, 200,
               {{"kind", "APIVersions"},
                {"versions", {"v1"}},
                {"serverAddressByClientCIDRs",
                 {{{"clientCIDR", "0.0.0.0/0"},
                   {"serverAddress", "127.0.0.1:" + std::to_string(port)}}}}});
      return true;
    }
    auto resource_list = [&](const std::string& group, const std::string& version) {
      json resources = json::array();
      bool any = false;
      for (const auto& r : all) {
        if (r.key.group != group || r.key.version != version) continue;
        any = true;
        resources.push_back(ApiResource(r));
        if (r.status_subresource) {
          resources.push_back({{"name", r.key.plural + "/status"},
                               {"singularName", ""},
                               {"namespaced", r.namespaced},
                               {"kind", r.kind},
                               {"verbs", {"get", "patch", "update"}}});
        }
      }
      if (!any) {
        SendNotFoundPath(res);
        return;
      }
      SendJson(res, 200,
               {{"kind", "APIResourceList"},
                {"apiVersion", "v1"},
                {"groupVersion", group.empty() ? version : group + "/" + version},
                {"resources", resources}});
    };
    if (segs.size() == 2 && segs[0] == "api") {
      resource_list("", segs[1]);
      return true;
    }
    if (segs[0] != "apis" || segs.size() > 3) return false;
    std::map<std::string, std::vector<std::string>> groups;
    std::vector<std::string> order;
    for (const auto& r : all) {
      if (r.key.group.empty()) continue;
      auto& vs = groups[r.key.group];
      if (vs.empty()) order.push_back(r.key.group);
      if (std::find(vs.begin(), vs.end(), r.key.version) == vs.end()) vs.push_back(r.key.version);
    }
    auto group_json = [&](const std::string& g) {
      auto vs = groups[g];
      std::sort(vs.begin(), vs.end(), VersionLess);
      json versions = json::array();
      for (const auto& v : vs) versions.push_back({{"groupVersion", g + "/" + v}, {"version", v}});
      return json{{"name", g},
                  {"versions", versions},
                  {"preferredVersion", {{"groupVersion", g + "/" + vs[0]}, {"version", vs[0]}}}};
    };
    if (segs.size() == 1) {
      json list = json::array();
      for (const auto& g : order) list.push_back(group_json(g));
      SendJson(res, 200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}});
      return true;
    }
    if (segs.size() == 2) {
      if (!groups.count(segs[1])) {
        SendNotFoundPath(res);
        return true;
      }
      json g = group_json(segs[1]);
      g["kind"] = "APIGroup";
      g["apiVersion"] = "v1";
      SendJson(res, 200, g);
      return true;
    }
    resource_list(segs[1], segs[2]);
    return true;
  }

  // ---------------------------------------------------------------- resources

  struct Target {
    const ResourceInfo* info = nullptr;
    ResourceInfo info_storage;
    std::string ns;
    std::string name;
    std::string subresource;
  };

  // Parses /api/v1/... and /apis/g/v/...; false when not a resource path.
  bool ParseTarget(const std::vector<std::string>& segs, Target* t, bool* unknown) {
    *unknown = false;
    std::string group, version;
    size_t i;
    if (segs.size() >= 3 && segs[0] == "api") {
      version = segs[1];
      i = 2;
    } else if (segs.size() >= 4 && segs[0] == "apis") {
      group = segs[1];
      version = segs[2];
      i = 3;
    } else {
      return false;
    }
    std::vector<std::string> rest(segs.begin() + static_cast<long>(i), segs.end());
    std::string plural;
    if (rest.size() >= 3 && rest[0] == "namespaces") {
      t->ns = rest[1];
      plural = rest[2];
      if (rest.size() >= 4) t->name = rest[3];
      if (rest.size() >= 5) t->subresource = rest[4];
      if (rest.size() > 5) {
        *unknown = true;
        return true;
      }
      // /api/v1/namespaces/NAME/status or /finalize address the namespace itself.
      if (group.empty() && (plural == "status" || plural == "finalize") && rest.size() == 3) {
        auto ns_info = store->FindResource(ResourceKey{"", version, "namespaces"});
        if (ns_info) {
          t->info_storage = *ns_info;
          t->info = &t->info_storage;
          t->name = t->ns;
          t->ns.clear();
          t->subresource = plural;
          return true;
        }
      }
    } else {
      plural = rest[0];
      if (rest.size() >= 2) t->name = rest[1];
      if (rest.size() >= 3) t->subresource = rest[2];
      if (rest.size() > 3) {
        *unknown = true;
        return true;
      }
    }
    auto info = store->FindResource(ResourceKey{group, version, plural});
    if (!info) {
      *unknown = true;
      return true;
    }
    t->info_storage = *info;
    t->info = &t->info_storage;
    if (!info->namespaced) {
      // Cluster-scoped resources under /namespaces/ are not served.
      if (!t->ns.empty()) {
        *unknown = true;
        return true;
      }
    }
    return true;
  }

  static std::string Verb(const httplib::Request& req, const Target& t) {
    const std::string& m = req.method;
    if (m == "GET" || m == "HEAD") {
      if (!t.name.empty()) return "get";
      auto w = ParseBool(Param(req, "watch"));
      return (w && *w) ? "watch" : "list";
    }
    if (m == "POST") return "create";
    if (m == "PUT") return "update";
    if (m == "PATCH") return "patch";
    if (m == "DELETE") return t.name.empty() ? "deletecollection" : "delete";
    return "";
  }

  static bool WantsTable(const httplib::Request& req) {
    return req.get_header_value("Accept").find("as=Table") != std::string::npos;
  }

  static IncludeObject IncludeMode(const httplib::Request& req) {
    std::string v = Param(req, "includeObject");
    if (v == "Object") return IncludeObject::kObject;
    if (v == "None") return IncludeObject::kNone;
    return IncludeObject::kMetadata;
  }

  void HandleResource(const httplib::Request& req, httplib::Response& res, const SimUser* user,
                      Target& t) {
    const ResourceInfo& info = *t.info;
    std::string verb = Verb(req, t);
    if (verb.empty()) {
      return SendStatus(res, 405, "MethodNotAllowed",
                        "the server does not allow this method on the requested resource");
    }
    if (!t.subresource.empty() && !(t.subresource == "status" && info.status_subresource)) {
      return SendNotFoundPath(res);
    }
    if (std::find(info.verbs.begin(), info.verbs.end(), verb) == info.verbs.end()) {
      return SendStatus(res, 405, "MethodNotAllowed",
                        "the server does not allow this method on the requested resource");
    }
    bool is_ssar = info.key.group == "authorization.k8s.io" &&
                   info.key.plural == "selfsubjectaccessreviews";
    if (user != nullptr && !is_ssar) {
      std::string res_name = info.key.plural + (t.subresource.empty() ? "" : "/" + t.subresource);
      if (!user->Allows(opts.name, verb, info.key.group, res_name, t.ns)) {
        std::string msg = (t.name.empty() ? info.key.GroupResource()
                                          : info.key.GroupResource() + " \"" + t.name + "\"") +
                          " is forbidden: User \"" + user->name + "\" cannot " + verb +
                          " resource \"" + res_name + "\" in API group \"" + info.key.group +
                          "\"" + (t.ns.empty() ? " at the cluster scope"
                                               : " in the namespace \"" + t.ns + "\"");
        json details = {{"group", info.key.group}, {"kind", info.key.plural}};
        if (!t.name.empty()) details["name"] = t.name;
        return SendStatus(res, 403, "Forbidden", msg, details);
      }
    }
    if (!Param(req, "dryRun").empty()) {
      return SendStatus(res, 400, "BadRequest", "dry-run is not supported by kube-sim");
    }
    if (is_ssar) return HandleSsar(req, res, user);
    if (verb == "get") return HandleGet(req, res, t);
    if (verb == "list") return HandleList(req, res, t);
    if (verb == "watch") return HandleWatch(req, res, t);
    if (verb == "create") return HandleCreate(req, res, t);
    if (verb == "update") return HandleUpdate(req, res, t);
    if (verb == "patch") return HandlePatch(req, res, t);
    if (verb == "delete") return HandleDelete(req, res, t);
    if (verb == "deletecollection") return HandleDeleteCollection(req, res, t);
  }

  void HandleSsar(const httplib::Request& req, httplib::Response& res, const SimUser* user) {
    std::optional<json> body = DecodeProtobufSsar(req.body);
    if (!body) {
      json j = json::parse(req.body, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        return SendStatus(res, 400, "BadRequest", "the request body is not a JSON object");
      }
      body = j;
    }
    json& ssar = *body;
    ssar["kind"] = "SelfSubjectAccessReview";
    ssar["apiVersion"] = "authorization.k8s.io/v1";
    if (!ssar.contains("metadata")) ssar["metadata"] = {{"creationTimestamp", nullptr}};
    json spec = ssar.value("spec", json::object());
    bool allowed = true;
    if (spec.contains("resourceAttributes") && spec["resourceAttributes"].is_object()) {
      const json& ra = spec["resourceAttributes"];
      std::string resource = ra.value("resource", "");
      std::string sub = ra.value("subresource", "");
      if (!sub.empty()) resource += "/" + sub;
      allowed = user == nullptr || user->Allows(opts.name, ra.value("verb", ""),
                                                ra.value("group", ""), resource,
                                                ra.value("namespace", ""));
    }
    ssar["status"] = {{"allowed", allowed},
                      {"reason", allowed ? "allowed by simulator policy"
                                         : "denied by simulator policy"}};
    if (!allowed) ssar["status"]["denied"] = true;
    SendJson(res, 201, ssar);
  }

  void HandleGet(const httplib::Request& req, httplib::Response& res, Target& t) {
    Result<json> o = store->Get(t.info->key, t.ns, t.name);
    if (!o.ok() && t.info->key.plural == "namespaces" && t.info->key.group.empty() &&
        o.status().code() == StatusCode::kNotFound && store->NamespaceExists(t.name)) {
      // Implicit namespace (non-strict mode).
      o = json{{"apiVersion", "v1"},
               {"kind", "Namespace"},
               {"metadata",
                {{"name", t.name}, {"uid", "00000000-0000-4000-8000-000000000000"},
                 {"resourceVersion", "1"}, {"creationTimestamp", "2024-01-01T00:00:00Z"}}},
               {"spec", {{"finalizers", {"kubernetes"}}}},
               {"status", {{"phase", "Active"}}}};
    }
    if (!o.ok()) return SendError(res, o.status(), t.info, t.name);
    if (WantsTable(req)) {
      json table = BuildTable(*t.info, {*o}, IncludeMode(req), std::chrono::system_clock::now());
      table["metadata"]["resourceVersion"] = (*o)["metadata"].value("resourceVersion", "");
      return SendJson(res, 200, table);
    }
    SendJson(res, 200, *o);
  }

  Result<Store::ListOptions> ListOpts(const httplib::Request& req) {
    Store::ListOptions lo;
    lo.label_selector = Param(req, "labelSelector");
    lo.field_selector = Param(req, "fieldSelector");
    lo.continue_token = Param(req, "continue");
    std::string limit = Param(req, "limit");
    if (!limit.empty()) {
      char* end = nullptr;
      long long v = std::strtoll(limit.c_str(), &end, 10);
      if (*end != '\0' || v < 0) return FailedPreconditionError("invalid limit: " + limit);
      lo.limit = v;
    }
    return lo;
  }

  void HandleList(const httplib::Request& req, httplib::Response& res, Target& t) {
    auto lo = ListOpts(req);
    if (!lo.ok()) return SendError(res, lo.status(), nullptr, "");
    auto lr = store->List(t.info->key, t.ns, *lo);
    if (!lr.ok()) return SendError(res, lr.status(), t.info, "");
    json md = {{"resourceVersion", std::to_string(lr->resource_version)}};
    if (!lr->continue_token.empty()) {
      md["continue"] = lr->continue_token;
      md["remainingItemCount"] = lr->remaining_item_count;
    }
    if (WantsTable(req)) {
      json table = BuildTable(*t.info, lr->items, IncludeMode(req), std::chrono::system_clock::now());
      table["metadata"] = md;
      return SendJson(res, 200, table);
    }
    SendJson(res, 200,
             {{"apiVersion", t.info->key.GroupVersion()}, {"kind", t.info->list_kind},
              {"metadata", md}, {"items", lr->items}});
  }

  Result<json> ParseBody(const httplib::Request& req) {
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded()) {
      std::string ct = req.get_header_value("Content-Type");
      if (ct.find("protobuf") != std::string::npos) {
        return UnimplementedError("the body of the request was in an unknown format - accepted "
                                  "media types include: application/json, application/yaml");
      }
      return FailedPreconditionError("the request body is not valid JSON");
    }
    return j;
  }

  void AfterCrdWrite(const json& crd, bool removed) {
    auto infos = ResourceInfosFromCrd(crd);
    if (!infos.ok()) return;
    for (const auto& i : *infos) {
      if (removed) {
        store->UnregisterResource(i.key);
      } else {
        store->RegisterResource(i);
      }
    }
  }

  static bool IsCrd(const ResourceInfo& info) {
    return info.key.group == "apiextensions.k8s.io" &&
           info.key.plural == "customresourcedefinitions";
  }

  void HandleCreate(const httplib::Request& req, httplib::Response& res, Target& t) {
    auto body = ParseBody(req);
    if (!body.ok()) return SendMediaOrBad(res, body.status());
    if (IsCrd(*t.info)) {
      auto infos = ResourceInfosFromCrd(*body);
      if (!infos.ok()) return SendError(res, infos.status(), t.info, "");
    }
    std::string name = body->is_object() && body->contains("metadata") &&
                               (*body)["metadata"].is_object()
                           ? (*body)["metadata"].value("name", "")
                           : "";
    auto created = store->Create(t.info->key, t.ns, std::move(*body));
    if (!created.ok()) return SendError(res, created.status(), t.info, name);
    if (IsCrd(*t.info)) {
      AfterCrdWrite(*created, false);
      std::string crd_name = (*created)["metadata"].value("name", "");
      MarkCrdEstablished(store, crd_name);
      auto established = store->Get(t.info->key, "", crd_name);
      if (established.ok()) created = std::move(established);
    }
    SendJson(res, 201, *created);
  }

  static void SendMediaOrBad(httplib::Response& res, const Status& st) {
    if (st.code() == StatusCode::kUnimplemented) {
      return SendStatus(res, 415, "UnsupportedMediaType", st.message());
    }
    SendStatus(res, 400, "BadRequest", st.message());
  }

  void HandleUpdate(const httplib::Request& req, httplib::Response& res, Target& t) {
    auto body = ParseBody(req);
    if (!body.ok()) return SendMediaOrBad(res, body.status());
    Store::UpdateOptions uo;
    uo.status_subresource = t.subresource == "status";
    uo.require_resource_version = true;
    auto updated = store->Update(t.info->key, t.ns, t.name, std::move(*body), uo);
    if (!updated.ok()) return SendError(res, updated.status(), t.info, t.name);
    if (IsCrd(*t.info)) AfterCrdWrite(*updated, false);
    SendJson(res, 200, *updated);
  }

  void HandlePatch(const httplib::Request& req, httplib::Response& res, Target& t) {
    std::string ct = req.get_header_value("Content-Type");
    size_t semi = ct.find(';');
    if (semi != std::string::npos) ct = ct.substr(0, semi);
    bool merge = ct == "application/merge-patch+json";
    bool jsonpatch = ct == "application/json-patch+json";
    bool strategic = ct == "application/strategic-merge-patch+json";
    const std::string k415 =
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
    if (strategic && t.info->custom) return SendStatus(res, 415, "UnsupportedMediaType", k415);
    if (!merge && !jsonpatch && !strategic) {
      return SendStatus(res, 415, "UnsupportedMediaType", k415);
    }
    json patch = json::parse(req.body, nullptr, false);
    if (patch.is_discarded()) {
      return SendStatus(res, 400, "BadRequest", "the patch body is not valid JSON");
    }
    if ((merge || strategic) && !patch.is_object()) {
      return SendStatus(res, 422, "Invalid",
                        "the merge patch must be a JSON object, got " +
                            std::string(patch.type_name()));
    }
    auto patched = store->Mutate(
        t.info->key, t.ns, t.name,
        [&](json& o) -> Status {
          if (jsonpatch) return ApplyJsonPatch(o, patch);
          ApplyMergePatch(o, patch);
          return Status::OK();
        },
        t.subresource == "status");
    if (!patched.ok()) return SendError(res, patched.status(), t.info, t.name);
    if (IsCrd(*t.info)) AfterCrdWrite(*patched, false);
    SendJson(res, 200, *patched);
  }

  Store::DeleteOptions DeleteOpts(const httplib::Request& req) {
    Store::DeleteOptions d;
    json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
    if (body.is_object() && body.contains("preconditions") && body["preconditions"].is_object()) {
      const json& p = body["preconditions"];
      if (p.contains("uid") && p["uid"].is_string()) d.precondition_uid = p["uid"];
      if (p.contains("resourceVersion") && p["resourceVersion"].is_string()) {
        d.precondition_resource_version = p["resourceVersion"];
      }
    }
    return d;
  }

  void HandleDelete(const httplib::Request& req, httplib::Response& res, Target& t) {
    auto dr = store->Delete(t.info->key, t.ns, t.name, DeleteOpts(req));
    if (!dr.ok()) return SendError(res, dr.status(), t.info, t.name);
    if (IsCrd(*t.info) && dr->removed) AfterCrdWrite(dr->object, true);
    if (t.info->custom || !dr->removed) return SendJson(res, 200, dr->object);
    SendJson(res, 200,
             {{"kind", "Status"},
              {"apiVersion", "v1"},
              {"metadata", json::object()},
              {"status", "Success"},
              {"details",
               {{"name", t.name}, {"group", t.info->key.group}, {"kind", t.info->key.plural},
                {"uid", dr->object["metadata"].value("uid", "")}}}});
  }

  void HandleDeleteCollection(const httplib::Request& req, httplib::Response& res, Target& t) {
    auto lo = ListOpts(req);
    if (!lo.ok()) return SendError(res, lo.status(), nullptr, "");
    lo->limit = 0;
    lo->continue_token.clear();
    auto lr = store->List(t.info->key, t.ns, *lo);
    if (!lr.ok()) return SendError(res, lr.status(), t.info, "");
    json items = json::array();
    for (const auto& o : lr->items) {
      auto dr = store->Delete(t.info->key, o["metadata"].value("namespace", ""),
                              o["metadata"].value("name", ""), {});
      if (dr.ok()) items.push_back(dr->object);
    }
    SendJson(res, 200,
             {{"apiVersion", t.info->key.GroupVersion()}, {"kind", t.info->list_kind},
              {"metadata", {{"resourceVersion", std::to_string(store->resource_version())}}},
              {"items", items}});
  }

  // ---------------------------------------------------------------- watch

  struct WatchState {
    ResourceInfo info;
    std::string ns;
    LabelSelector labels;
    FieldSelector fields;
    bool table = false;
    IncludeObject include = IncludeObject::kMetadata;
    bool bookmarks = false;
    bool send_initial_end = false;
    uint64_t last_rv = 0;
    std::vector<json> initial;  // synthetic ADDED objects
    std::optional<Status> expired;
    Clock::time_point deadline;
    Clock::time_point started;
    Clock::time_point last_bookmark;
    uint64_t epoch = 0;
    bool columns_sent = false;
    bool done = false;
  };

  bool Matches(const WatchState& w, const json& o) const {
    if (!o.is_object()) return false;
    if (!w.ns.empty() && o["metadata"].value("namespace", "") != w.ns) return false;
    return w.labels.Matches(o["metadata"].value("labels", json())) && w.fields.Matches(o);
  }

  json EventObject(WatchState& w, const json& o) {
    if (!w.table) return o;
    json t = BuildTable(w.info, {o}, w.include, std::chrono::system_clock::now(),
                        !w.columns_sent);
    w.columns_sent = true;
    t["metadata"]["resourceVersion"] = o["metadata"].value("resourceVersion", "");
    return t;
  }

  static bool WriteLine(httplib::DataSink& sink, const json& ev) {
    std::string line = ev.dump() + "\n";
    return sink.write(line.data(), line.size());
  }

  void HandleWatch(const httplib::Request& req, httplib::Response& res, Target& t) {
    auto w = std::make_shared<WatchState>();  // shared with the content provider (httplib copies it)
    w->info = *t.info;
    w->ns = t.ns;
    auto lo = ListOpts(req);
    if (!lo.ok()) return SendError(res, lo.status(), nullptr, "");
    auto ls = LabelSelector::Parse(lo->label_selector);
    if (!ls.ok()) return SendError(res, ls.status(), nullptr, "");
    auto fs = FieldSelector::Parse(lo->field_selector,
                                   t.info->key.plural == "events");
    if (!fs.ok()) return SendError(res, fs.status(), nullptr, "");
    w->labels = *ls;
    w->fields = *fs;
    w->table = WantsTable(req);
    w->include = IncludeMode(req);
    auto b = ParseBool(Param(req, "allowWatchBookmarks"));
    w->bookmarks = b && *b;
    auto sie = ParseBool(Param(req, "sendInitialEvents"));
    std::string rv = Param(req, "resourceVersion");
    bool initial = rv.empty() || rv == "0" || (sie && *sie);
    w->send_initial_end = sie && *sie && w->bookmarks;
    if (initial) {
      Store::ListOptions all = *lo;
      all.limit = 0;
      all.continue_token.clear();
      auto lr = store->List(t.info->key, t.ns, all);
      if (!lr.ok()) return SendError(res, lr.status(), t.info, "");
      w->initial = std::move(lr->items);
      w->last_rv = lr->resource_version;
    } else {
      char* end = nullptr;
      unsigned long long v = std::strtoull(rv.c_str(), &end, 10);
      if (*end != '\0') {
        return SendStatus(res, 400, "BadRequest", "invalid resourceVersion: " + rv);
      }
      w->last_rv = v;
    }
    w->started = Clock::now();
    w->deadline = Clock::now() + std::chrono::hours(24 * 365);
    std::string ts = Param(req, "timeoutSeconds");
    if (!ts.empty()) {
      long long secs = std::strtoll(ts.c_str(), nullptr, 10);
      if (secs > 0) w->deadline = Clock::now() + std::chrono::seconds(secs);
    }
    w->last_bookmark = Clock::now();
    w->epoch = watch_epoch.load();
    res.status = 200;
    res.set_chunked_content_provider(
        // Not exactly "application/json": httplib would gzip the stream for clients that accept
        // gzip, and its compressor holds events back until the stream ends.
        "application/json; charset=utf-8", [this, w](size_t, httplib::DataSink& sink) {
          return PumpWatch(*w, sink);
        });
  }

  // Called repeatedly by httplib; writes what is ready, waits a little, returns.
  bool PumpWatch(WatchState& w, httplib::DataSink& sink) {
    if (w.done) {
      sink.done();
      return true;
    }
    auto finish = [&] {
      w.done = true;
      sink.done();
      return true;
    };
    if (!w.initial.empty() || w.send_initial_end) {
      for (const json& o : w.initial) {
        if (!WriteLine(sink, {{"type", "ADDED"}, {"object", EventObject(w, o)}})) return false;
      }
      w.initial.clear();
      if (w.send_initial_end) {
        w.send_initial_end = false;
        json bm = {{"type", "BOOKMARK"},
                   {"object",
                    {{"kind", w.info.kind},
                     {"apiVersion", w.info.key.GroupVersion()},
                     {"metadata",
                      {{"resourceVersion", std::to_string(w.last_rv)},
                       {"annotations", {{"k8s.io/initial-events-end", "true"}}}}}}}};
        if (!WriteLine(sink, bm)) return false;
      }
    }
    FaultSpec f = CurrentFaults();
    auto now = Clock::now();
    if (stopping || w.epoch != watch_epoch.load() || now >= w.deadline ||
        (f.drop_watches_every.count() > 0 && now - w.started >= f.drop_watches_every)) {
      return finish();
    }
    uint64_t observed = 0;
    auto evs = store->EventsSince(w.info.key, w.last_rv, &observed);
    if (!evs.ok()) {
      json err = StatusBody(410, "Expired", evs.status().message());
      WriteLine(sink, {{"type", "ERROR"}, {"object", err}});
      return finish();
    }
    for (const WatchEvent& ev : *evs) {
      bool now_match = Matches(w, ev.object);
      bool old_match = ev.old_object && Matches(w, *ev.old_object);
      std::string type;
      json obj;
      if (ev.type == EventType::kAdded) {
        if (!now_match) continue;
        type = "ADDED";
        obj = ev.object;
      } else if (ev.type == EventType::kDeleted) {
        if (!now_match && !old_match) continue;
        type = "DELETED";
        obj = ev.object;
      } else if (now_match && old_match) {
        type = "MODIFIED";
        obj = ev.object;
      } else if (now_match) {
        type = "ADDED";
        obj = ev.object;
      } else if (old_match) {
        type = "DELETED";
        obj = *ev.old_object;
        obj["metadata"]["resourceVersion"] = std::to_string(ev.resource_version);
      } else {
        continue;
      }
      obj["apiVersion"] = w.info.key.GroupVersion();
      if (!WriteLine(sink, {{"type", type}, {"object", EventObject(w, obj)}})) return false;
    }
    w.last_rv = std::max(w.last_rv, observed);
    if (w.bookmarks && now - w.last_bookmark >= opts.bookmark_interval) {
      w.last_bookmark = now;
      json bm = {{"type", "BOOKMARK"},
                 {"object",
                  {{"kind", w.info.kind},
                   {"apiVersion", w.info.key.GroupVersion()},
                   {"metadata", {{"resourceVersion", std::to_string(w.last_rv)}}}}}};
      if (!WriteLine(sink, bm)) return false;
    }
    if (!sink.is_writable()) return false;
    auto wake = std::min(w.deadline, Clock::now() + std::chrono::milliseconds(500));
    if (w.bookmarks) wake = std::min(wake, w.last_bookmark + opts.bookmark_interval);
    uint64_t epoch = w.epoch;
    store->WaitForChange(w.last_rv, wake,
                         [&] { return stopping.load() || watch_epoch.load() != epoch; });
    return true;
  }

  // ---------------------------------------------------------------- dispatch

  void Route(const httplib::Request& req, httplib::Response& res) {
    bool failed = false;
    const SimUser* user = Authenticate(req, &failed);
    if (failed) return SendStatus(res, 401, "Unauthorized", "Unauthorized");
    if (req.path.rfind("/admin/", 0) == 0) return HandleAdmin(req, res, user);
    std::vector<std::string> segs = SplitPath(req.path);
    if (segs.empty()) {
      return SendJson(res, 200, {{"paths", {"/api", "/api/v1", "/apis", "/version"}}});
    }
    Target t;
    bool unknown = false;
    if (ParseTarget(segs, &t, &unknown)) {
      if (unknown) return SendNotFoundPath(res);
      return HandleResource(req, res, user, t);
    }
    if (req.method == "GET" && HandleDiscovery(segs, res)) return;
    SendNotFoundPath(res);
  }

  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/admin/", 0) == 0) return httplib::Server::HandlerResponse::Unhandled;
    return ApplyFaults(req, res);
  }

  // ---------------------------------------------------------------- listener

  Result<std::unique_ptr<httplib::Server>> MakeServer() {
    std::unique_ptr<httplib::Server> s;
    if (opts.tls) {
      std::string cert_pem = opts.server_cert.cert_pem, key_pem = opts.server_cert.key_pem;
      std::string ca_pem = opts.ca.cert_pem;
      s = std::make_unique<httplib::SSLServer>([cert_pem, key_pem, ca_pem](SSL_CTX& ctx) {
        BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
        X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
        BIO_free(cb);
        BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
        EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
        BIO_free(kb);
        bool ok = cert && key && SSL_CTX_use_certificate(&ctx, cert) == 1 &&
                  SSL_CTX_use_PrivateKey(&ctx, key) == 1;
        X509_free(cert);
        EVP_PKEY_free(key);
        if (!ok) return false;
        SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
        // Client certificates are requested and verified against our CA, but optional, so
        // token users get through; a bad certificate simply authenticates nobody.
        X509_STORE* cert_store = SSL_CTX_get_cert_store(&ctx);
        BIO* ab = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
        X509* ca = PEM_read_bio_X509(ab, nullptr, nullptr, nullptr);
        BIO_free(ab);
        if (ca) {
          X509_STORE_add_cert(cert_store, ca);
          STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
          sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca)));
          SSL_CTX_set_client_CA_list(&ctx, names);
          X509_free(ca);
        }
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
        return true;
      });
    } else {
      s = std::make_unique<httplib::Server>();
    }
    if (!s->is_valid()) return InternalError("kube-sim: cannot create the TLS server context");
    size_t threads = opts.threads;
    s->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // Answers go out at once: without TCP_NODELAY a response written in two pieces waits for
    // the client's delayed ACK (~40 ms a request).
    s->set_tcp_nodelay(true);
    s->set_keep_alive_timeout(30);
    s->set_keep_alive_max_count(1000);
    s->set_read_timeout(30);
    s->set_write_timeout(10);
    s->set_payload_max_length(64 << 20);
    s->set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { return PreRoute(req, res); });
    auto route = [this](const httplib::Request& req, httplib::Response& res) { Route(req, res); };
    s->Get(".*", route);
    s->Post(".*", route);
    s->Put(".*", route);
    s->Patch(".*", route);
    s->Delete(".*", route);
    s->Options(".*", route);
    s->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      LogRequest(req, res);
    });
    s->set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown error";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          SendStatus(res, 500, "InternalError", "kube-sim: " + what);
        });
    return s;
  }

  // REQUIRES: server_mu held.
  Status StartListeningLocked() {
    ASSIGN_OR_RETURN(server, MakeServer());
    if (port == 0) {
      port = server->bind_to_any_port("127.0.0.1");
      if (port <= 0) return UnavailableError("kube-sim: cannot bind 127.0.0.1");
    } else {
      bool bound = false;
      for (int attempt = 0; attempt < 50 && !bound; ++attempt) {
        bound = server->bind_to_port("127.0.0.1", port);
        if (!bound) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!bound) {
        return UnavailableError("kube-sim: cannot bind 127.0.0.1:" + std::to_string(port));
      }
    }
    httplib::Server* s = server.get();
    listen_thread = std::thread([s] { s->listen_after_bind(); });
    while (!s->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return Status::OK();
  }

  // REQUIRES: server_mu held (released while joining).
  void StopListeningLocked(std::unique_lock<std::mutex>& l) {
    if (!server) return;
    std::unique_ptr<httplib::Server> s = std::move(server);
    std::thread t = std::move(listen_thread);
    l.unlock();
    watch_epoch.fetch_add(1);
    store->WakeAllWaiters();
    {
      std::lock_guard<std::mutex> fl(mu);
      fault_cv.notify_all();
    }
    s->stop();
    if (t.joinable()) t.join();
    s.reset();
    l.lock();
  }

  void ManagerLoop() {
    std::unique_lock<std::mutex> l(server_mu);
    while (!stopping) {
      server_cv.wait_for(l, std::chrono::milliseconds(200));
      if (stopping) break;
      l.unlock();
      {
        std::lock_guard<std::mutex> fl(mu);
        ExpireFaultsLocked();
      }
      l.lock();
      if (!want_listening && server) {
        StopListeningLocked(l);
      } else if (want_listening && !server && !stopping) {
        Status st = StartListeningLocked();
        if (!st.ok()) server.reset();
      }
    }
  }

  void Stop() {
    if (stopping.exchange(true)) return;
    {
      std::lock_guard<std::mutex> l(mu);
      fault_cv.notify_all();
    }
    store->WakeAllWaiters();
    {
      std::lock_guard<std::mutex> l(server_mu);
      server_cv.notify_all();
    }
    if (manager_thread.joinable()) manager_thread.join();
    std::unique_lock<std::mutex> l(server_mu);
    StopListeningLocked(l);
  }
};

// ---------------------------------------------------------------------------------------------

ClusterServer::ClusterServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClusterServer::~ClusterServer() { Stop(); }

Result<std::unique_ptr<ClusterServer>> ClusterServer::Start(ClusterServerOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->store = options.store;
  impl->port = options.port;
  impl->opts = std::move(options);
  {
    std::lock_guard<std::mutex> l(impl->server_mu);
    RETURN_IF_ERROR(impl->StartListeningLocked());
  }
  Impl* raw = impl.get();
  impl->manager_thread = std::thread([raw] { raw->ManagerLoop(); });
  return std::unique_ptr<ClusterServer>(new ClusterServer(std::move(impl)));
}

int ClusterServer::port() const { return impl_->port; }
std::string ClusterServer::url() const {
  return std::string(impl_->opts.tls ? "https" : "http") + "://127.0.0.1:" +
         std::to_string(impl_->port);
}
void ClusterServer::SetFaults(const FaultSpec& faults) { impl_->SetFaults(faults); }
FaultSpec ClusterServer::faults() const { return impl_->CurrentFaults(); }
void ClusterServer::DropWatches() { impl_->DropWatches(); }
void ClusterServer::AddAdminRoute(const std::string& path, AdminHandler handler) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->admin_routes[path] = std::move(handler);
}
void ClusterServer::Stop() { impl_->Stop(); }

}  // namespace brfed::kubesim::internal

namespace brfed::kubesim {

using internal::FormatDurationMs;
using internal::ParseDurationMs;
using json = nlohmann::json;

json FaultSpec::ToJson() const {
  return {{"latency", FormatDurationMs(latency)},
          {"errorRate", error_rate},
          {"errorCode", error_code},
          {"throttleRate", throttle_rate},
          {"retryAfterSeconds", retry_after_seconds},
          {"resetRate", reset_rate},
          {"dropWatchesEvery", FormatDurationMs(drop_watches_every)},
          {"unreachable", unreachable},
          {"duration", FormatDurationMs(duration)}};
}

Result<FaultSpec> FaultSpec::FromJson(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("faults: expected a JSON object");
  FaultSpec f;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = *it;
    bool ok = true;
    auto rate = [&](double* out) {
      if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
        ok = false;
      } else {
        *out = v.get<double>();
      }
    };
    if (k == "latency") {
      f.latency = ParseDurationMs(v, &ok);
    } else if (k == "errorRate") {
      rate(&f.error_rate);
    } else if (k == "errorCode") {
      ok = v.is_number_integer() && v.get<int>() >= 500 && v.get<int>() <= 599;
      if (ok) f.error_code = v.get<int>();
    } else if (k == "throttleRate") {
      rate(&f.throttle_rate);
    } else if (k == "retryAfterSeconds") {
      ok = v.is_number_integer() && v.get<int>() >= 0;
      if (ok) f.retry_after_seconds = v.get<int>();
    } else if (k == "resetRate") {
      rate(&f.reset_rate);
    } else if (k == "dropWatchesEvery") {
      f.drop_watches_every = ParseDurationMs(v, &ok);
    } else if (k == "unreachable") {
      ok = v.is_string() || v.is_boolean();
      if (v.is_boolean()) {
        f.unreachable = v.get<bool>() ? "reset" : "";
      } else if (ok) {
        f.unreachable = v.get<std::string>();
        ok = f.unreachable.empty() || f.unreachable == "reset" || f.unreachable == "hang" ||
             f.unreachable == "refuse";
      }
    } else if (k == "duration") {
      f.duration = ParseDurationMs(v, &ok);
    } else {
      return InvalidArgumentError("faults: unknown key \"" + k + "\"");
    }
    if (!ok) return InvalidArgumentError("faults: bad value for \"" + k + "\": " + v.dump());
  }
  return f;
}

}  // namespace brfed::kubesim

namespace brfed::kubesim::internal {

Result<HttpAnswer> KubeconfigRequest(const std::string& kubeconfig_path,
                                     const std::string& context, const std::string& method,
                                     const std::string& path, const std::string& body) {
  std::ifstream in(kubeconfig_path);
  if (!in) return NotFoundError("cannot read kubeconfig " + kubeconfig_path);
  std::stringstream ss;
  ss << in.rdbuf();
  ASSIGN_OR_RETURN(auto docs, YamlToJson(ss.str(), kubeconfig_path));
  if (docs.empty()) return InvalidArgumentError(kubeconfig_path + ": empty kubeconfig");
  const json& kc = docs[0];
  std::string ctx_name = context.empty() ? kc.value("current-context", "") : context;
  auto find = [&](const char* list, const std::string& name) -> json {
    if (!kc.contains(list) || !kc[list].is_array()) return json();
    for (const auto& e : kc[list]) {
      if (e.value("name", "") == name) return e;
    }
    return json();
  };
  json ctx = find("contexts", ctx_name);
  if (ctx.is_null()) return NotFoundError(kubeconfig_path + ": no context \"" + ctx_name + "\"");
  json cluster = find("clusters", ctx["context"].value("cluster", ""));
  json user = find("users", ctx["context"].value("user", ""));
  if (cluster.is_null()) return NotFoundError(kubeconfig_path + ": context's cluster is missing");
  std::string server = cluster["cluster"].value("server", "");
  bool https = server.rfind("https://", 0) == 0;
  std::string hostport = server.substr(server.find("://") + 3);
  size_t colon = hostport.rfind(':');
  std::string host = hostport.substr(0, colon);
  int port = std::atoi(hostport.substr(colon + 1).c_str());
  auto b64dec = [](const std::string& s) {
    std::string out;
    int val = 0, bits = -8;
    for (char c : s) {
      const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const char* p = std::strchr(t, c);
      if (c == '=' || p == nullptr || c == '\0') continue;
      val = (val << 6) + static_cast<int>(p - t);
      bits += 6;
      if (bits >= 0) {
        out.push_back(static_cast<char>((val >> bits) & 0xFF));
        bits -= 8;
      }
    }
    return out;
  };
  json u = user.is_null() ? json::object() : user.value("user", json::object());
  httplib::Headers headers;
  if (u.contains("token")) headers.emplace("Authorization", "Bearer " + u["token"].get<std::string>());
  std::unique_ptr<httplib::ClientImpl> cli;
  if (https) {
    X509* cert = nullptr;
    EVP_PKEY* key = nullptr;
    if (u.contains("client-certificate-data") && u.contains("client-key-data")) {
      std::string c = b64dec(u["client-certificate-data"]), k = b64dec(u["client-key-data"]);
      BIO* cb = BIO_new_mem_buf(c.data(), static_cast<int>(c.size()));
      cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
      BIO_free(cb);
      BIO* kb = BIO_new_mem_buf(k.data(), static_cast<int>(k.size()));
      key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
      BIO_free(kb);
    }
    auto ssl = cert && key ? std::make_unique<httplib::SSLClient>(host, port, cert, key)
                           : std::make_unique<httplib::SSLClient>(host, port);
    X509_free(cert);
    EVP_PKEY_free(key);
    std::string ca = b64dec(cluster["cluster"].value("certificate-authority-data", ""));
    if (!ca.empty()) {
      X509_STORE* st = X509_STORE_new();
      BIO* ab = BIO_new_mem_buf(ca.data(), static_cast<int>(ca.size()));
      X509* cax = PEM_read_bio_X509(ab, nullptr, nullptr, nullptr);
      BIO_free(ab);
      if (cax) {
        X509_STORE_add_cert(st, cax);
        X509_free(cax);
      }
      ssl->set_ca_cert_store(st);
    }
    if (cluster["cluster"].value("insecure-skip-tls-verify", false)) {
      ssl->enable_server_certificate_verification(false);
    }
    cli = std::move(ssl);
  } else {
    cli = std::make_unique<httplib::ClientImpl>(host, port);
  }
  cli->set_connection_timeout(5);
  cli->set_read_timeout(30);
  httplib::Result r = method == "GET"      ? cli->Get(path, headers)
                      : method == "DELETE" ? cli->Delete(path, headers)
                      : method == "PUT"    ? cli->Put(path, headers, body, "application/json")
                                           : cli->Post(path, headers, body, "application/json");
  if (!r) {
    return UnavailableError("request to " + server + path + " failed: " +
                            httplib::to_string(r.error()));
  }
  return HttpAnswer{r->status, r->body};
}

}  // namespace brfed::kubesim::internal
