#include "kube/transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

namespace brfed::kube {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct ParsedUrl {
  std::string scheme, host, port, prefix;
};

// Splits scheme://host[:port][/prefix]. IPv6 hosts keep their brackets.
Result<ParsedUrl> ParseServer(const std::string& server) {
  ParsedUrl u;
  size_t p = server.find("://");
  if (p == std::string::npos) return InvalidArgumentError("bad server URL " + server);
  u.scheme = server.substr(0, p);
  std::string rest = server.substr(p + 3);
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.prefix = rest.substr(slash);
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
    u.port = u.scheme == "https" ? "443" : "80";
  }
  if (u.host.empty()) return InvalidArgumentError("bad server URL " + server);
  return u;
}

size_t CollectBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  auto* resp = static_cast<HttpResponse*>(user);
  if (line.rfind("HTTP/", 0) == 0) resp->retry_after.clear();  // a new response (redirect/100)
  constexpr std::string_view kRetry = "retry-after:";
  if (line.size() > kRetry.size()) {
    bool match = true;
    for (size_t i = 0; i < kRetry.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kRetry[i];
    }
    if (match) resp->retry_after = std::string(line.substr(kRetry.size()));
  }
  return size * n;
}

// State of one streaming transfer, shared with the write callback.
struct StreamState {
  CURL* curl;
  HttpResponse* resp;
  const std::function<bool(std::string_view)>* on_data;
  bool user_stopped = false;
};

size_t StreamBody(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<StreamState*>(user);
  long code = 0;
  curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code > 299) {
    if (s->resp->body.size() < (1 << 20)) s->resp->body.append(data, size * n);
    return size * n;
  }
  if (!(*s->on_data)(std::string_view(data, size * n))) {
    s->user_stopped = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  return size * n;
}

Status CurlError(CURLcode rc, const char* errbuf, const std::string& server, bool* connect_failed) {
  std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      if (connect_failed) *connect_failed = true;
      return UnavailableError("cannot connect to " + server + ": " + detail);
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceededError("timed out talking to " + server + ": " + detail);
    case CURLE_PEER_FAILED_VERIFICATION:
      return UnavailableError("TLS: the certificate of " + server +
                              " failed verification: " + detail);
    case CURLE_SSL_CONNECT_ERROR:
      return UnavailableError("TLS handshake with " + server + " failed: " + detail);
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      return InvalidArgumentError("TLS: unusable certificate or key for " + server + ": " + detail);
    case CURLE_ABORTED_BY_CALLBACK:
      return CancelledError("request to " + server + " cancelled");
    default:
      return UnavailableError("request to " + server + " failed: " + detail);
  }
}

}  // namespace

struct Transport::Handle {
  CURL* curl = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* connect_to = nullptr;
  char errbuf[CURL_ERROR_SIZE];
  Handle() : curl(curl_easy_init()) { errbuf[0] = 0; }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    FreeLists();
    if (curl) curl_easy_cleanup(curl);
  }
  void FreeLists() {
    curl_slist_free_all(headers);
    headers = nullptr;
    curl_slist_free_all(connect_to);
    connect_to = nullptr;
  }
};

Result<std::unique_ptr<Transport>> Transport::Create(const RestConfig& config,
                                                     TransportOptions options) {
  GlobalInit();
  std::unique_ptr<Transport> t(new Transport(config, std::move(options)));
  ASSIGN_OR_RETURN(ParsedUrl u, ParseServer(config.server));
  if (u.scheme != "https" && u.scheme != "http") {
    return InvalidArgumentError(config.origin + ": server " + config.server +
                                ": scheme must be http or https");
  }
  std::string host = u.host;
  if (!config.tls_server_name.empty()) {
    // Connect to the configured address but speak TLS (SNI, certificate check, Host) as
    // tls-server-name: curl's CONNECT_TO maps "name:port" to the real "host:port".
    t->connect_to_ = config.tls_server_name + ":" + u.port + ":" + u.host + ":" + u.port;
    host = config.tls_server_name;
  }
  t->base_url_ = u.scheme + "://" + host + ":" + u.port + u.prefix;
  t->server_url_ = config.server;
  t->ca_pem_ = config.ca_pem;
  t->insecure_ = config.insecure_skip_tls_verify;
  return t;
}

Transport::Transport(const RestConfig& config, TransportOptions options)
    : options_(std::move(options)), cluster_name_(config.cluster_name) {}

Transport::~Transport() = default;

std::unique_ptr<Transport::Handle> Transport::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  return std::make_unique<Handle>();
}

void Transport::Release(std::unique_ptr<Handle> h) {
  h->FreeLists();
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < options_.max_idle_handles) idle_.push_back(std::move(h));
}

Status Transport::Prepare(Handle& h, const HttpRequest& req, const Credential& cred) {
  if (!h.curl) return InternalError("curl_easy_init failed");
  CURL* c = h.curl;
  // Reset keeps the live connections; everything else is set again below.
  curl_easy_reset(c);
  h.errbuf[0] = 0;
  std::string url = base_url_ + req.path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());  // curl copies strings
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h.errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_VERBOSE, 0L);  // verbose output would show Authorization
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  if (!connect_to_.empty()) {
    h.connect_to = curl_slist_append(nullptr, connect_to_.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, h.connect_to);
  }
  // No TLS session resumption across connections (client-go does none either): servers that
  // verify client certificates but set no session id context fail resumed handshakes.
  curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  if (insecure_) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!ca_pem_.empty()) {
      curl_blob ca{const_cast<char*>(ca_pem_.data()), ca_pem_.size(), CURL_BLOB_COPY};
      curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
    }
  }
  if (!cred.client_cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(cred.client_cert_pem.data()), cred.client_cert_pem.size(),
                   CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(cred.client_key_pem.data()), cred.client_key_pem.size(),
                  CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  }
  h.headers = curl_slist_append(h.headers, "Accept: application/json");
  h.headers = curl_slist_append(h.headers, "Expect:");
  if (!cred.token.empty()) {
    std::string auth = "Authorization: Bearer " + cred.token;
    h.headers = curl_slist_append(h.headers, auth.c_str());
    // Overwrite our copy; curl has its own.
    std::fill(auth.begin(), auth.end(), '\0');
  }
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    std::string ct = "Content-Type: " + (req.content_type.empty() ? std::string("application/json")
                                                                  : req.content_type);
    h.headers = curl_slist_append(h.headers, ct.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, req.body.c_str());
    if (req.method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h.headers);
  return Status::OK();
}

Result<HttpResponse> Transport::Perform(const HttpRequest& req, const Credential& cred,
                                        bool* connect_failed) {
  std::unique_ptr<Handle> h = Acquire();
  RETURN_IF_ERROR(Prepare(*h, req, cred));
  HttpResponse resp;
  curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, &resp);
  if (req.timeout.count() > 0) {
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  }
  CURLcode rc = curl_easy_perform(h->curl);
  if (rc != CURLE_OK) {
    Status s = CurlError(rc, h->errbuf, server_url_, connect_failed);
    Release(std::move(h));
    return s;
  }
  long code = 0;
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
  resp.code = static_cast<int>(code);
  if (!req.body.empty() && (code < 200 || code > 299)) {
    // A server that refuses a request early (throttling, an injected fault) may answer before
    // reading the body, leaving it in the connection to be parsed as the next request. Do not
    // reuse such a connection: dropping the handle closes it.
    return resp;
  }
  Release(std::move(h));
  return resp;
}

Result<HttpResponse> Transport::Stream(const HttpRequest& req, const Credential& cred,
                                       const std::function<bool(std::string_view)>& on_data,
                                       StopSignal* stop, bool* connect_failed) {
  std::unique_ptr<Handle> h = Acquire();
  RETURN_IF_ERROR(Prepare(*h, req, cred));
  HttpResponse resp;
  StreamState state{h->curl, &resp, &on_data};
  curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, StreamBody);
  curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, &resp);
  if (req.timeout.count() > 0) {
    // A silent stream for this long is a dead connection.
    curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(std::max<int64_t>(1, req.timeout.count() / 1000)));
  }

  CURLM* multi = curl_multi_init();
  if (!multi) {
    Release(std::move(h));
    return InternalError("curl_multi_init failed");
  }
  curl_multi_add_handle(multi, h->curl);
  CURLcode rc = CURLE_OK;
  bool cancelled = false;
  {
    StopSignal::ScopedWaker waker(stop, [multi] { curl_multi_wakeup(multi); });
    int running = 1;
    while (running) {
      if (stop && stop->stopped()) {
        cancelled = true;
        break;
      }
      CURLMcode mc = curl_multi_perform(multi, &running);
      if (mc != CURLM_OK) {
        rc = CURLE_RECV_ERROR;
        break;
      }
      if (!running) break;
      mc = curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
      if (mc != CURLM_OK) {
        rc = CURLE_RECV_ERROR;
        break;
      }
    }
    if (!cancelled && rc == CURLE_OK) {
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg == CURLMSG_DONE) rc = msg->data.result;
      }
    }
  }
  curl_multi_remove_handle(multi, h->curl);
  curl_multi_cleanup(multi);
  long code = 0;
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
  resp.code = static_cast<int>(code);
  std::string errbuf = h->errbuf;
  Release(std::move(h));
  if (cancelled) return CancelledError("stopped");
  if (rc == CURLE_WRITE_ERROR && state.user_stopped) return resp;
  if (rc != CURLE_OK && resp.code >= 200 && resp.code <= 299) {
    // The stream was flowing: whatever curl calls it, the connection was lost.
    return UnavailableError("stream from " + server_url_ +
                            " broken: " + (errbuf.empty() ? curl_easy_strerror(rc) : errbuf));
  }
  if (rc != CURLE_OK) return CurlError(rc, errbuf.c_str(), server_url_, connect_failed);
  return resp;
}

}  // namespace brfed::kube
