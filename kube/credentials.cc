#include "kube/credentials.h"

#include "kube/util.h"

namespace brfed::kube {
namespace {
constexpr std::chrono::minutes kTokenFileReread{1};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t start = s.find_first_not_of(" \t\r\n");
  return start == std::string::npos ? std::string() : s.substr(start);
}
}  // namespace

CredentialSource::CredentialSource(const RestConfig& config)
    : origin_(config.origin),
      static_token_(config.token),
      token_file_(config.token_file),
      static_cert_(config.client_cert_pem),
      static_key_(config.client_key_pem) {
  if (config.exec) exec_ = std::make_unique<ExecCredentialProvider>(*config.exec, config);
}

CredentialSource::~CredentialSource() = default;

Result<Credential> CredentialSource::Get() {
  Credential c;
  c.token = static_token_;
  c.client_cert_pem = static_cert_;
  c.client_key_pem = static_key_;
  if (!token_file_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (!file_read_ || now - file_read_at_ >= kTokenFileReread) {
      Result<std::string> t = internal::ReadFile(token_file_);
      if (!t.ok()) {
        if (!file_read_) {
          return UnauthenticatedError(origin_ + ": tokenFile: " + t.status().message());
        }
        // Keep the last good token; the file may be mid-rotation.
      } else {
        file_token_ = Trim(std::move(*t));
        file_read_ = true;
        file_read_at_ = now;
      }
    }
    c.token = file_token_;
  }
  if (exec_) {
    ASSIGN_OR_RETURN(ExecCredential e, exec_->Get());
    if (!e.token.empty()) c.token = e.token;
    if (!e.client_cert_pem.empty()) {
      c.client_cert_pem = e.client_cert_pem;
      c.client_key_pem = e.client_key_pem;
    }
    std::lock_guard<std::mutex> lock(mu_);
    last_exec_ = {e.token, e.client_cert_pem, e.client_key_pem};
  }
  return c;
}

bool CredentialSource::OnUnauthorized() {
  bool refreshable = false;
  if (!token_file_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    file_read_at_ = {};
    refreshable = true;
  }
  if (exec_) {
    exec_->Invalidate();
    refreshable = true;
  }
  return refreshable;
}

std::vector<std::string> CredentialSource::Secrets() {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    if (s.size() >= 4) out.push_back(s);
  };
  add(static_token_);
  add(static_key_);
  std::lock_guard<std::mutex> lock(mu_);
  add(file_token_);
  add(last_exec_.token);
  add(last_exec_.client_key_pem);
  return out;
}

}  // namespace brfed::kube
