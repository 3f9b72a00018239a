#include "kube/rest_config.h"

#include <cstdlib>

#include "kube/util.h"

namespace brfed::kube {
namespace {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Reads a file named by a kubeconfig field. Errors name the field and path.
Result<std::string> ReadField(const std::string& prefix, const char* field,
                              const std::string& path) {
  Result<std::string> data = internal::ReadFile(path);
  if (!data.ok()) return NotFoundError(prefix + field + ": " + data.status().message());
  return data;
}

Status CheckServer(const std::string& prefix, const std::string& server) {
  if (server.empty()) return InvalidArgumentError(prefix + "server: missing");
  if (server.rfind("https://", 0) != 0 && server.rfind("http://", 0) != 0) {
    return InvalidArgumentError(prefix + "server: " + Quote(server) +
                                " is not an http:// or https:// URL");
  }
  size_t host_start = server.find("://") + 3;
  if (host_start >= server.size() || server[host_start] == '/') {
    return InvalidArgumentError(prefix + "server: " + Quote(server) + " has no host");
  }
  return Status::OK();
}

}  // namespace

Result<RestConfig> ResolveContext(const Kubeconfig& kc, std::string_view context) {
  std::string name(context);
  if (name.empty()) {
    if (kc.current_context.empty()) {
      std::string files;
      for (const auto& f : kc.files) files += (files.empty() ? "" : ":") + f;
      return InvalidArgumentError("kubeconfig " + files +
                                  ": no context given and current-context is not set");
    }
    name = kc.current_context;
  }
  auto ctx_it = kc.contexts.find(name);
  if (ctx_it == kc.contexts.end()) {
    std::string files;
    if (context.empty() && !kc.current_context_file.empty()) {
      files = kc.current_context_file;
    } else {
      for (const auto& f : kc.files) files += (files.empty() ? "" : ":") + f;
    }
    return NotFoundError("kubeconfig " + files + ": context " + Quote(name) + " not found");
  }
  const KubeconfigContext& ctx = ctx_it->second;
  const std::string ctx_prefix =
      "kubeconfig " + ctx.source_file + ": context " + Quote(name) + ": ";

  RestConfig rc;
  rc.cluster_name = name;
  rc.origin = "kubeconfig " + ctx.source_file + ": context " + Quote(name);
  if (!ctx.namespace_.empty()) rc.default_namespace = ctx.namespace_;

  if (ctx.cluster.empty()) return InvalidArgumentError(ctx_prefix + "cluster: missing");
  auto cl_it = kc.clusters.find(ctx.cluster);
  if (cl_it == kc.clusters.end()) {
    return NotFoundError(ctx_prefix + "cluster " + Quote(ctx.cluster) + " not found");
  }
  const KubeconfigCluster& cl = cl_it->second;
  const std::string cl_prefix = "kubeconfig " + cl.source_file + ": context " + Quote(name) +
                                ": cluster " + Quote(cl.name) + ": ";
  RETURN_IF_ERROR(CheckServer(cl_prefix, cl.server));
  rc.server = cl.server;
  while (rc.server.size() > 8 && rc.server.back() == '/') rc.server.pop_back();
  rc.tls_server_name = cl.tls_server_name;
  rc.insecure_skip_tls_verify = cl.insecure_skip_tls_verify;
  if (!cl.certificate_authority_data.empty()) {
    rc.ca_pem = cl.certificate_authority_data;
  } else if (!cl.certificate_authority.empty()) {
    ASSIGN_OR_RETURN(rc.ca_pem,
                     ReadField(cl_prefix, "certificate-authority", cl.certificate_authority));
  }

  if (ctx.user.empty()) return rc;  // anonymous
  auto u_it = kc.users.find(ctx.user);
  if (u_it == kc.users.end()) {
    return NotFoundError(ctx_prefix + "user " + Quote(ctx.user) + " not found");
  }
  const KubeconfigUser& u = u_it->second;
  const std::string u_prefix =
      "kubeconfig " + u.source_file + ": context " + Quote(name) + ": user " + Quote(u.name) + ": ";
  if (u.has_auth_provider && u.token.empty() && u.token_file.empty() && !u.exec) {
    return InvalidArgumentError(u_prefix + "auth-provider: not supported; use exec or a token");
  }
  if (u.has_basic_auth && u.token.empty() && u.token_file.empty() && !u.exec &&
      u.client_certificate.empty() && u.client_certificate_data.empty()) {
    return InvalidArgumentError(u_prefix + "username/password: not supported; use a token");
  }
  rc.token = u.token;
  if (rc.token.empty()) rc.token_file = u.token_file;  // client-go: token wins over tokenFile
  if (!u.client_certificate_data.empty()) {
    rc.client_cert_pem = u.client_certificate_data;
  } else if (!u.client_certificate.empty()) {
    ASSIGN_OR_RETURN(rc.client_cert_pem,
                     ReadField(u_prefix, "client-certificate", u.client_certificate));
  }
  if (!u.client_key_data.empty()) {
    rc.client_key_pem = u.client_key_data;
  } else if (!u.client_key.empty()) {
    ASSIGN_OR_RETURN(rc.client_key_pem, ReadField(u_prefix, "client-key", u.client_key));
  }
  if (rc.client_cert_pem.empty() != rc.client_key_pem.empty()) {
    return InvalidArgumentError(u_prefix + (rc.client_cert_pem.empty()
                                                ? "client-key given without client-certificate"
                                                : "client-certificate given without client-key"));
  }
  if (!rc.token_file.empty()) {
    // Check now so a typo is reported at startup; the client re-reads it later.
    Result<std::string> t = ReadField(u_prefix, "tokenFile", rc.token_file);
    if (!t.ok()) return t.status();
  }
  rc.exec = u.exec;
  return rc;
}

InClusterOptions InClusterOptions::FromEnvironment() {
  InClusterOptions o;
  if (const char* h = std::getenv("KUBERNETES_SERVICE_HOST")) o.host = h;
  if (const char* p = std::getenv("KUBERNETES_SERVICE_PORT")) o.port = p;
  return o;
}

Result<RestConfig> InClusterConfig(const InClusterOptions& options, std::string cluster_name) {
  const std::string prefix = "in-cluster config: ";
  if (options.host.empty() || options.port.empty()) {
    return FailedPreconditionError(
        prefix + "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  RestConfig rc;
  rc.cluster_name = std::move(cluster_name);
  rc.origin = "in-cluster " + options.root;
  std::string host = options.host;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  rc.server = "https://" + host + ":" + options.port;
  rc.token_file = options.root + "/token";
  ASSIGN_OR_RETURN(std::string token, ReadField(prefix, "token", rc.token_file));
  if (token.empty()) return InvalidArgumentError(prefix + "token: " + rc.token_file + " is empty");
  ASSIGN_OR_RETURN(rc.ca_pem, ReadField(prefix, "ca.crt", options.root + "/ca.crt"));
  Result<std::string> ns = internal::ReadFile(options.root + "/namespace");
  if (ns.ok()) {
    std::string n = *ns;
    while (!n.empty() && (n.back() == '\n' || n.back() == ' ')) n.pop_back();
    if (!n.empty()) rc.default_namespace = n;
  }
  return rc;
}

}  // namespace brfed::kube
