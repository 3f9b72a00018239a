#include "tests/integration/kube/fake_apiserver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace brfed::kube::testing {

using json = nlohmann::json;

namespace {

json StatusJson(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

void Reply(httplib::Response& res, int code, const json& body) {
  res.status = code;
  res.set_content(body.dump(), "application/json");
}

void Fail(httplib::Response& res, int code, const std::string& reason, const std::string& msg) {
  Reply(res, code, StatusJson(code, reason, msg));
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool SetUpTls(SSL_CTX& ctx, const TestPki& pki) {
  BIO* cert_bio = BIO_new_mem_buf(pki.server.cert_pem.data(), -1);
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(pki.server.key_pem.data(), -1);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  BIO* ca_bio = BIO_new_mem_buf(pki.ca.cert_pem.data(), -1);
  X509* ca = PEM_read_bio_X509(ca_bio, nullptr, nullptr, nullptr);
  BIO_free(ca_bio);
  bool ok = cert && key && ca && SSL_CTX_use_certificate(&ctx, cert) == 1 &&
            SSL_CTX_use_PrivateKey(&ctx, key) == 1;
  if (ok) {
    X509_STORE_add_cert(SSL_CTX_get_cert_store(&ctx), ca);
    // Ask for a client certificate but let token users in without one.
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
    // Without a session id context, resumed sessions from a verifying server fail with an
    // "internal error" alert.
    static const unsigned char kSid[] = "fake-apiserver";
    SSL_CTX_set_session_id_context(&ctx, kSid, sizeof(kSid) - 1);
  }
  X509_free(cert);
  X509_free(ca);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace

FakeApiServer::FakeApiServer(Options options)
    : options_(std::move(options)),
      server_([this](SSL_CTX& ctx) { return SetUpTls(ctx, options_.pki); }) {
  server_.new_task_queue = [] { return new httplib::ThreadPool(24); };
  server_.set_keep_alive_max_count(100000);
  server_.set_keep_alive_timeout(30);
  for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    auto h = [this, method = std::string(m)](const httplib::Request& req, httplib::Response& res) {
      Handle(method, req, res);
    };
    if (std::string(m) == "GET") server_.Get(".*", h);
    if (std::string(m) == "POST") server_.Post(".*", h);
    if (std::string(m) == "PUT") server_.Put(".*", h);
    if (std::string(m) == "PATCH") server_.Patch(".*", h);
    if (std::string(m) == "DELETE") server_.Delete(".*", h);
  }
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeApiServer::~FakeApiServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

void FakeApiServer::SetTokens(std::set<std::string> tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  options_.tokens = std::move(tokens);
}

void FakeApiServer::FailNext(int n, int code, std::string retry_after) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_remaining_ = n;
  fail_code_ = code;
  fail_retry_after_ = std::move(retry_after);
}

void FakeApiServer::SetLatency(std::chrono::milliseconds latency) {
  std::lock_guard<std::mutex> lock(mu_);
  latency_ = latency;
}

void FakeApiServer::DropWatches() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++drop_generation_;
  }
  cv_.notify_all();
}

void FakeApiServer::PauseWatches(bool paused) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = paused;
  }
  cv_.notify_all();
}

void FakeApiServer::Compact() {
  std::lock_guard<std::mutex> lock(mu_);
  compacted_rv_ = rv_;
}

void FakeApiServer::set_watch_http_410(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  watch_http_410_ = on;
}

size_t FakeApiServer::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return remote_ports_.size();
}

json FakeApiServer::CommitLocked(const std::string& collection, const std::string& type,
                                 json object) {
  object["metadata"]["resourceVersion"] = std::to_string(++rv_);
  const std::string name = object["metadata"]["name"];
  if (type == "DELETED") {
    store_[collection].erase(name);
  } else {
    store_[collection][name] = object;
  }
  events_.push_back({rv_, collection, type, object});
  cv_.notify_all();
  return object;
}

json FakeApiServer::Upsert(const std::string& collection, json object) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string name = object["metadata"]["name"];
  bool exists = store_[collection].count(name) > 0;
  return CommitLocked(collection, exists ? "MODIFIED" : "ADDED", std::move(object));
}

void FakeApiServer::Remove(const std::string& collection, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = store_[collection].find(name);
  if (it != store_[collection].end()) CommitLocked(collection, "DELETED", it->second);
}

bool FakeApiServer::Authenticate(const httplib::Request& req, httplib::Response& res) {
  std::string auth = req.get_header_value("Authorization");
  std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
  std::string cn;
  if (req.ssl) {
    if (X509* peer = SSL_get0_peer_certificate(req.ssl)) {
      char buf[256] = {0};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof(buf));
      cn = buf;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if ((!token.empty() && options_.tokens.count(token)) ||
      (!cn.empty() && options_.client_cns.count(cn))) {
    return true;
  }
  std::string msg = "Unauthorized";
  if (options_.echo_credentials_in_errors) msg += ": bad token \"" + token + "\"";
  Fail(res, 401, "Unauthorized", msg);
  return false;
}

void FakeApiServer::Handle(const std::string& method, const httplib::Request& req,
                           httplib::Response& res) {
  ++requests_;
  std::chrono::milliseconds latency;
  {
    std::lock_guard<std::mutex> lock(mu_);
    remote_ports_.insert(req.remote_port);
    latency = latency_;
  }
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
  if (!Authenticate(req, res)) return;
  bool watch = req.get_param_value("watch") == "true";
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!watch && fail_remaining_ > 0) {
      --fail_remaining_;
      if (!fail_retry_after_.empty()) res.set_header("Retry-After", fail_retry_after_);
      Fail(res, fail_code_, fail_code_ == 429 ? "TooManyRequests" : "InternalError",
           "injected failure");
      return;
    }
  }
  std::vector<std::string> seg = Split(req.path);
  size_t base = !seg.empty() && seg[0] == "apis" ? 3 : 2;
  if (seg.size() < base + 3 || seg[base] != "namespaces") {
    Fail(res, 404, "NotFound", "the server could not find the requested resource");
    return;
  }
  std::string collection;
  for (size_t i = 0; i < base + 3; ++i) collection += "/" + seg[i];
  std::string name = seg.size() > base + 3 ? seg[base + 3] : "";
  if (watch && method == "GET" && name.empty()) {
    ++watch_requests_;
    Watch(collection, req, res);
    return;
  }
  Crud(method, collection, name, req, res);
}

void FakeApiServer::Crud(const std::string& method, const std::string& collection,
                         const std::string& name, const httplib::Request& req,
                         httplib::Response& res) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& objects = store_[collection];
  const std::string plural = collection.substr(collection.rfind('/') + 1);
  auto not_found = [&] { Fail(res, 404, "NotFound", plural + " \"" + name + "\" not found"); };
  json body;
  if (!req.body.empty()) {
    body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return Fail(res, 400, "BadRequest", "undecodable body");
  }
  if (method == "GET" && name.empty()) {
    std::string label = req.get_param_value("labelSelector");
    std::string cont = req.get_param_value("continue");
    size_t limit = req.has_param("limit") ? std::stoul(req.get_param_value("limit")) : 0;
    json list = {{"apiVersion", "v1"},
                 {"kind", "ThingList"},
                 {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
                 {"items", json::array()}};
    for (const auto& [n, obj] : objects) {
      if (!cont.empty() && n <= cont) continue;
      if (!label.empty()) {
        std::string k = label.substr(0, label.find('=')), v = label.substr(label.find('=') + 1);
        const json& labels = obj["metadata"].value("labels", json::object());
        if (!labels.contains(k) || labels[k] != v) continue;
      }
      if (limit > 0 && list["items"].size() == limit) {
        list["metadata"]["continue"] = list["items"].back()["metadata"]["name"];
        break;
      }
      list["items"].push_back(obj);
    }
    return Reply(res, 200, list);
  }
  auto it = objects.find(name);
  if (method == "GET") return it == objects.end() ? not_found() : Reply(res, 200, it->second);
  if (method == "POST") {
    std::string n = body["metadata"].value("name", "");
    if (objects.count(n)) {
      return Fail(res, 409, "AlreadyExists", plural + " \"" + n + "\" already exists");
    }
    body["metadata"]["uid"] = "uid-" + n + "-" + std::to_string(rv_);
    return Reply(res, 201, CommitLocked(collection, "ADDED", body));
  }
  if (it == objects.end()) return not_found();
  const std::string current_rv = it->second["metadata"]["resourceVersion"];
  const std::string conflict = "Operation cannot be fulfilled on " + plural + " \"" + name +
                               "\": the object has been modified; please apply your changes to "
                               "the latest version and try again";
  if (method == "PUT") {
    std::string want = body["metadata"].value("resourceVersion", "");
    if (want.empty())
      return Fail(res, 422, "Invalid", "metadata.resourceVersion: must be specified for an update");
    if (want != current_rv) return Fail(res, 409, "Conflict", conflict);
    return Reply(res, 200, CommitLocked(collection, "MODIFIED", body));
  }
  if (method == "PATCH") {
    if (body.contains("metadata") && body["metadata"].contains("resourceVersion") &&
        body["metadata"]["resourceVersion"] != current_rv) {
      return Fail(res, 409, "Conflict", conflict);
    }
    json patched = it->second;
    patched.merge_patch(body);
    return Reply(res, 200, CommitLocked(collection, "MODIFIED", patched));
  }
  if (method == "DELETE") return Reply(res, 200, CommitLocked(collection, "DELETED", it->second));
  Fail(res, 405, "MethodNotAllowed", "the server does not allow this method");
}

void FakeApiServer::Watch(const std::string& collection, const httplib::Request& req,
                          httplib::Response& res) {
  std::string rv_param = req.get_param_value("resourceVersion");
  std::vector<std::string> initial;  // lines sent first
  size_t next = 0;                   // index into events_ to stream from
  uint64_t drop_gen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (watch_http_410_) return Fail(res, 410, "Gone", "watch from that version is gone");
    drop_gen = drop_generation_;
    int64_t from = rv_param.empty() || rv_param == "0" ? -1 : std::stoll(rv_param);
    if (from >= 0 && from < compacted_rv_) {
      initial.push_back(json({{"type", "ERROR"},
                              {"object", StatusJson(410, "Expired",
                                                    "too old resource version: " + rv_param + " (" +
                                                        std::to_string(compacted_rv_) + ")")}})
                            .dump());
      next = SIZE_MAX;
    } else if (from < 0) {
      for (const auto& [n, obj] : store_[collection]) {
        initial.push_back(json({{"type", "ADDED"}, {"object", obj}}).dump());
      }
      next = events_.size();
    } else {
      next = events_.size();
      while (next > 0 && events_[next - 1].rv > from) --next;
    }
  }
  ++open_watches_;
  res.set_chunked_content_provider(
      "application/json",
      [this, collection, initial, next, drop_gen](size_t, httplib::DataSink& sink) mutable {
        for (const std::string& line : initial) {
          std::string l = line + "\n";
          if (!sink.write(l.data(), l.size())) return false;
        }
        initial.clear();
        if (next == SIZE_MAX) {  // sent the 410: end the stream cleanly
          sink.done();
          return true;
        }
        std::vector<std::string> lines;
        {
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait_for(lock, std::chrono::milliseconds(100), [&] {
            return stopping_ || drop_generation_ != drop_gen || (!paused_ && next < events_.size());
          });
          if (stopping_) {
            sink.done();
            return true;
          }
          if (drop_generation_ != drop_gen) return false;  // abort: no final chunk
          if (paused_) return sink.is_writable();
          for (; next < events_.size(); ++next) {
            if (events_[next].collection != collection) continue;
            lines.push_back(
                json({{"type", events_[next].type}, {"object", events_[next].object}}).dump() +
                "\n");
          }
        }
        for (const std::string& l : lines) {
          if (!sink.write(l.data(), l.size())) return false;
        }
        return sink.is_writable();
      },
      [this](bool) { --open_watches_; });
}

int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace brfed::kube::testing
