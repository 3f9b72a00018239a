#include "kube/exec_plugin.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "kube/util.h"

extern char** environ;

namespace brfed::kube {
namespace {

using json = nlohmann::json;
constexpr size_t kMaxOutput = 1 << 20;

struct ProcessOutput {
  int exit_status = -1;  // exit code, or -1 when killed/crashed
  bool timed_out = false;
  std::string out;
  size_t err_bytes = 0;
};

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

Status MakePipe(Fd& r, Fd& w) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return InternalError(std::string("pipe: ") + strerror(errno));
  r.Reset(p[0]);
  w.Reset(p[1]);
  return Status::OK();
}

// Runs argv with envp, stdin from /dev/null, capturing stdout (up to kMaxOutput) and counting
// stderr bytes. Kills the process after `timeout`.
Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& envp,
                                 std::chrono::milliseconds timeout) {
  Fd out_r, out_w, err_r, err_w;
  RETURN_IF_ERROR(MakePipe(out_r, out_w));
  RETURN_IF_ERROR(MakePipe(err_r, err_w));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envp) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return UnauthenticatedError(std::string("cannot start: ") + strerror(rc));
  out_w.Reset();
  err_w.Reset();

  ProcessOutput result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  char buf[4096];
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out_open ? out_r.get() : -1, POLLIN, 0},
                     {err_open ? err_r.get() : -1, POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      if (i == 0) {
        if (result.out.size() + static_cast<size_t>(got) > kMaxOutput) {
          ::kill(pid, SIGKILL);
          out_open = err_open = false;
          result.out.clear();
          break;
        }
        result.out.append(buf, static_cast<size_t>(got));
      } else {
        result.err_bytes += static_cast<size_t>(got);
      }
    }
  }
  // The pipes are closed; the process may still linger (it could have closed them early).
  int wstatus = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    if (r == 0 && std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    if (r == 0) ::usleep(2000);
  }
  if (WIFEXITED(wstatus)) result.exit_status = WEXITSTATUS(wstatus);
  return result;
}

std::string ExecInfo(const ExecConfig& config, const RestConfig& cluster) {
  json info = {{"kind", "ExecCredential"},
               {"apiVersion", config.api_version},
               {"spec", {{"interactive", false}}}};
  if (config.provide_cluster_info) {
    json c = {{"server", cluster.server}};
    if (!cluster.ca_pem.empty()) {
      c["certificate-authority-data"] = internal::Base64Encode(cluster.ca_pem);
    }
    if (!cluster.tls_server_name.empty()) c["tls-server-name"] = cluster.tls_server_name;
    if (cluster.insecure_skip_tls_verify) c["insecure-skip-tls-verify"] = true;
    info["spec"]["cluster"] = std::move(c);
  }
  return info.dump();
}

}  // namespace

namespace internal {

Result<ExecCredential> ParseExecCredential(std::string_view text,
                                           std::string_view want_api_version) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return UnauthenticatedError("output is not a JSON object (" + std::to_string(text.size()) +
                                " bytes withheld)");
  }
  auto str = [&](const json& obj, const char* key) -> std::string {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (str(doc, "kind") != "ExecCredential") {
    return UnauthenticatedError("output kind is \"" + str(doc, "kind") +
                                "\", want \"ExecCredential\"");
  }
  if (str(doc, "apiVersion") != want_api_version) {
    return UnauthenticatedError("output apiVersion is \"" + str(doc, "apiVersion") + "\", want \"" +
                                std::string(want_api_version) + "\"");
  }
  auto status = doc.find("status");
  if (status == doc.end() || !status->is_object()) {
    return UnauthenticatedError("output has no status");
  }
  ExecCredential cred;
  cred.token = str(*status, "token");
  cred.client_cert_pem = str(*status, "clientCertificateData");
  cred.client_key_pem = str(*status, "clientKeyData");
  if (cred.client_cert_pem.empty() != cred.client_key_pem.empty()) {
    return UnauthenticatedError(
        "output has only one of status.clientCertificateData and status.clientKeyData");
  }
  if (cred.token.empty() && cred.client_cert_pem.empty()) {
    return UnauthenticatedError("output has neither status.token nor a client certificate");
  }
  if (std::string exp = str(*status, "expirationTimestamp"); !exp.empty()) {
    cred.expiration = ParseRfc3339(exp);
    if (!cred.expiration) {
      return UnauthenticatedError("status.expirationTimestamp \"" + exp + "\" is not RFC 3339");
    }
  }
  return cred;
}

}  // namespace internal

struct ExecCredentialProvider::State {
  std::mutex mu;
  std::optional<ExecCredential> cached;  // GUARDED_BY(mu)
  int runs = 0;                          // GUARDED_BY(mu)
};

ExecCredentialProvider::ExecCredentialProvider(ExecConfig config, const RestConfig& cluster,
                                               std::chrono::milliseconds timeout)
    : config_(std::move(config)),
      prefix_(cluster.origin + ": exec plugin \"" + config_.command + "\": "),
      exec_info_(ExecInfo(config_, cluster)),
      timeout_(timeout),
      state_(std::make_unique<State>()) {}

ExecCredentialProvider::~ExecCredentialProvider() = default;

Result<ExecCredential> ExecCredentialProvider::Get() {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->cached && (!state_->cached->expiration ||
                         std::chrono::system_clock::now() < *state_->cached->expiration)) {
    return *state_->cached;
  }
  state_->cached.reset();
  ++state_->runs;
  ASSIGN_OR_RETURN(ExecCredential cred, Run());
  state_->cached = cred;
  return cred;
}

void ExecCredentialProvider::Invalidate() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->cached.reset();
}

int ExecCredentialProvider::runs_for_test() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->runs;
}

Result<ExecCredential> ExecCredentialProvider::Run() {
  std::vector<std::string> argv = {config_.command};
  argv.insert(argv.end(), config_.args.begin(), config_.args.end());
  std::vector<std::string> envp;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, kv.find('='));
    bool overridden = key == "KUBERNETES_EXEC_INFO";
    for (const auto& [name, value] : config_.env) overridden |= key == name;
    if (!overridden) envp.emplace_back(kv);
  }
  for (const auto& [name, value] : config_.env) envp.push_back(name + "=" + value);
  envp.push_back("KUBERNETES_EXEC_INFO=" + exec_info_);

  Result<ProcessOutput> out = RunProcess(argv, envp, timeout_);
  if (!out.ok()) {
    std::string hint = config_.install_hint.empty() ? "" : " (" + config_.install_hint + ")";
    return UnauthenticatedError(prefix_ + out.status().message() + hint);
  }
  if (out->timed_out) {
    return UnauthenticatedError(prefix_ + "timed out after " + std::to_string(timeout_.count()) +
                                " ms");
  }
  if (out->exit_status != 0) {
    // Never quote the output: a plugin may print its token before failing.
    return UnauthenticatedError(prefix_ + "exited with status " + std::to_string(out->exit_status) +
                                " (" + std::to_string(out->out.size() + out->err_bytes) +
                                " bytes of output withheld)");
  }
  Result<ExecCredential> cred = internal::ParseExecCredential(out->out, config_.api_version);
  if (!cred.ok()) return UnauthenticatedError(prefix_ + cred.status().message());
  return cred;
}

}  // namespace brfed::kube
