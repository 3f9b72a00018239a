#include "kube/kubeconfig.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>

#include "kube/util.h"

namespace brfed::kube {
namespace {

// Where in the file a value sits, for errors: "line 7, column 5".
std::string At(const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  if (m.line < 0) return "";
  return " (line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1) + ")";
}

// Reads parsing state shared by one file: the path and its directory.
class Parser {
 public:
  explicit Parser(const std::string& path) : path_(path), dir_(internal::DirName(path)) {}

  Result<Kubeconfig> Parse(std::string_view text);

 private:
  Status Error(const std::string& where, const std::string& what) const {
    return InvalidArgumentError("kubeconfig " + path_ + ": " + where + what);
  }
  Result<std::string> String(const YAML::Node& map, const char* key, const std::string& where);
  Result<bool> Bool(const YAML::Node& map, const char* key, const std::string& where);
  Result<std::string> Data(const YAML::Node& map, const char* key, const std::string& where);
  Result<std::string> Path(const YAML::Node& map, const char* key, const std::string& where);
  // Checks that `node` is a sequence of {name, <body_key>: map}; calls fn(where, name, body).
  template <typename Fn>
  Status ForEachNamed(const YAML::Node& root, const char* list_key, const char* body_key, Fn fn);

  Status ParseCluster(const std::string& where, const std::string& name, const YAML::Node& body,
                      Kubeconfig& kc);
  Status ParseUser(const std::string& where, const std::string& name, const YAML::Node& body,
                   Kubeconfig& kc);
  Result<ExecConfig> ParseExec(const std::string& where, const YAML::Node& exec);
  Status ParseContext(const std::string& where, const std::string& name, const YAML::Node& body,
                      Kubeconfig& kc);

  std::string path_;
  std::string dir_;
};

Result<std::string> Parser::String(const YAML::Node& map, const char* key,
                                   const std::string& where) {
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return std::string();
  if (!v.IsScalar()) return Error(where, std::string(key) + ": expected a string" + At(v));
  return v.Scalar();
}

Result<bool> Parser::Bool(const YAML::Node& map, const char* key, const std::string& where) {
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return false;
  bool b = false;
  if (!v.IsScalar() || !YAML::convert<bool>::decode(v, b)) {
    return Error(where, std::string(key) + ": expected true or false" + At(v));
  }
  return b;
}

Result<std::string> Parser::Data(const YAML::Node& map, const char* key, const std::string& where) {
  ASSIGN_OR_RETURN(std::string text, String(map, key, where));
  if (text.empty()) return text;
  Result<std::string> decoded = internal::Base64Decode(text);
  // Never quote the value: it may be a private key.
  if (!decoded.ok()) return Error(where, std::string(key) + ": illegal base64 data" + At(map[key]));
  return decoded;
}

Result<std::string> Parser::Path(const YAML::Node& map, const char* key, const std::string& where) {
  ASSIGN_OR_RETURN(std::string p, String(map, key, where));
  return internal::ResolvePath(dir_, p);
}

template <typename Fn>
Status Parser::ForEachNamed(const YAML::Node& root, const char* list_key, const char* body_key,
                            Fn fn) {
  YAML::Node list = root[list_key];
  if (!list || list.IsNull()) return Status::OK();
  if (!list.IsSequence()) return Error("", std::string(list_key) + ": expected a list" + At(list));
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    std::string where = std::string(list_key) + "[" + std::to_string(i) + "]";
    if (!item.IsMap()) return Error(where, ": expected a mapping" + At(item));
    ASSIGN_OR_RETURN(std::string name, String(item, "name", where + ": "));
    if (name.empty()) return Error(where, ": name: missing" + At(item));
    where += " \"" + name + "\": ";
    YAML::Node body = item[body_key];
    if (body && !body.IsNull() && !body.IsMap()) {
      return Error(where, std::string(body_key) + ": expected a mapping" + At(body));
    }
    RETURN_IF_ERROR(fn(where, name, body ? body : YAML::Node(YAML::NodeType::Map)));
  }
  return Status::OK();
}

Status Parser::ParseCluster(const std::string& where, const std::string& name,
                            const YAML::Node& body, Kubeconfig& kc) {
  KubeconfigCluster c;
  c.name = name;
  c.source_file = path_;
  ASSIGN_OR_RETURN(c.server, String(body, "server", where));
  ASSIGN_OR_RETURN(c.certificate_authority, Path(body, "certificate-authority", where));
  ASSIGN_OR_RETURN(c.certificate_authority_data, Data(body, "certificate-authority-data", where));
  ASSIGN_OR_RETURN(c.tls_server_name, String(body, "tls-server-name", where));
  ASSIGN_OR_RETURN(c.insecure_skip_tls_verify, Bool(body, "insecure-skip-tls-verify", where));
  if (!kc.clusters.emplace(name, std::move(c)).second) {
    return Error(where, "duplicate cluster name");
  }
  return Status::OK();
}

Result<ExecConfig> Parser::ParseExec(const std::string& where, const YAML::Node& exec) {
  if (!exec.IsMap()) return Error(where, "exec: expected a mapping" + At(exec));
  std::string w = where + "exec: ";
  ExecConfig e;
  ASSIGN_OR_RETURN(e.api_version, String(exec, "apiVersion", w));
  ASSIGN_OR_RETURN(e.command, String(exec, "command", w));
  ASSIGN_OR_RETURN(e.install_hint, String(exec, "installHint", w));
  ASSIGN_OR_RETURN(e.interactive_mode, String(exec, "interactiveMode", w));
  ASSIGN_OR_RETURN(e.provide_cluster_info, Bool(exec, "provideClusterInfo", w));
  if (e.command.empty()) return Error(w, "command: missing" + At(exec));
  if (e.api_version != "client.authentication.k8s.io/v1" &&
      e.api_version != "client.authentication.k8s.io/v1beta1") {
    return Error(w, "apiVersion: \"" + e.api_version +
                        "\" is not supported (want client.authentication.k8s.io/v1 or v1beta1)" +
                        At(exec));
  }
  // Like client-go, a command with a path separator is relative to the kubeconfig; a bare name
  // is looked up on PATH.
  if (e.command.find('/') != std::string::npos) {
    e.command = internal::ResolvePath(dir_, e.command);
  }
  if (YAML::Node args = exec["args"]; args && !args.IsNull()) {
    if (!args.IsSequence()) return Error(w, "args: expected a list" + At(args));
    for (const YAML::Node& a : args) {
      if (!a.IsScalar()) return Error(w, "args: expected strings" + At(a));
      e.args.push_back(a.Scalar());
    }
  }
  if (YAML::Node env = exec["env"]; env && !env.IsNull()) {
    if (!env.IsSequence()) return Error(w, "env: expected a list" + At(env));
    for (size_t i = 0; i < env.size(); ++i) {
      std::string ew = w + "env[" + std::to_string(i) + "]: ";
      if (!env[i].IsMap()) return Error(ew, "expected {name, value}" + At(env[i]));
      ASSIGN_OR_RETURN(std::string n, String(env[i], "name", ew));
      ASSIGN_OR_RETURN(std::string v, String(env[i], "value", ew));
      if (n.empty()) return Error(ew, "name: missing" + At(env[i]));
      e.env.emplace_back(std::move(n), std::move(v));
    }
  }
  return e;
}

Status Parser::ParseUser(const std::string& where, const std::string& name, const YAML::Node& body,
                         Kubeconfig& kc) {
  KubeconfigUser u;
  u.name = name;
  u.source_file = path_;
  ASSIGN_OR_RETURN(u.token, String(body, "token", where));
  ASSIGN_OR_RETURN(u.token_file, Path(body, "tokenFile", where));
  ASSIGN_OR_RETURN(u.client_certificate, Path(body, "client-certificate", where));
  ASSIGN_OR_RETURN(u.client_certificate_data, Data(body, "client-certificate-data", where));
  ASSIGN_OR_RETURN(u.client_key, Path(body, "client-key", where));
  ASSIGN_OR_RETURN(u.client_key_data, Data(body, "client-key-data", where));
  if (YAML::Node exec = body["exec"]; exec && !exec.IsNull()) {
    ASSIGN_OR_RETURN(u.exec, ParseExec(where, exec));
  }
  u.has_auth_provider = body["auth-provider"] && !body["auth-provider"].IsNull();
  u.has_basic_auth = (body["username"] && !body["username"].IsNull()) ||
                     (body["password"] && !body["password"].IsNull());
  if (!kc.users.emplace(name, std::move(u)).second) return Error(where, "duplicate user name");
  return Status::OK();
}

Status Parser::ParseContext(const std::string& where, const std::string& name,
                            const YAML::Node& body, Kubeconfig& kc) {
  KubeconfigContext c;
  c.name = name;
  c.source_file = path_;
  ASSIGN_OR_RETURN(c.cluster, String(body, "cluster", where));
  ASSIGN_OR_RETURN(c.user, String(body, "user", where));
  ASSIGN_OR_RETURN(c.namespace_, String(body, "namespace", where));
  if (!kc.contexts.emplace(name, std::move(c)).second) {
    return Error(where, "duplicate context name");
  }
  return Status::OK();
}

Result<Kubeconfig> Parser::Parse(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("kubeconfig " + path_ + ": line " +
                                std::to_string(e.mark.line + 1) + ", column " +
                                std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  Kubeconfig kc;
  kc.files.push_back(path_);
  if (!root || root.IsNull()) return kc;  // an empty file is an empty config, as in kubectl
  if (!root.IsMap()) return Error("", "expected a mapping at the top" + At(root));
  try {
    RETURN_IF_ERROR(ForEachNamed(root, "clusters", "cluster",
                                 [&](const std::string& w, const std::string& n,
                                     const YAML::Node& b) { return ParseCluster(w, n, b, kc); }));
    RETURN_IF_ERROR(ForEachNamed(root, "users", "user",
                                 [&](const std::string& w, const std::string& n,
                                     const YAML::Node& b) { return ParseUser(w, n, b, kc); }));
    RETURN_IF_ERROR(ForEachNamed(root, "contexts", "context",
                                 [&](const std::string& w, const std::string& n,
                                     const YAML::Node& b) { return ParseContext(w, n, b, kc); }));
    ASSIGN_OR_RETURN(kc.current_context, String(root, "current-context", ""));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("kubeconfig " + path_ + ": line " +
                                std::to_string(e.mark.line + 1) + ", column " +
                                std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!kc.current_context.empty()) kc.current_context_file = path_;
  return kc;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<Kubeconfig> ParseKubeconfig(std::string_view text, const std::string& path) {
  return Parser(path).Parse(text);
}

Result<Kubeconfig> LoadKubeconfigFile(const std::string& path) {
  Result<std::string> text = internal::ReadFile(path);
  if (!text.ok()) return text.status().WithContext("kubeconfig");
  return ParseKubeconfig(*text, path);
}

void MergeKubeconfig(Kubeconfig& dst, const Kubeconfig& src) {
  for (const auto& [name, c] : src.clusters) dst.clusters.emplace(name, c);
  for (const auto& [name, u] : src.users) dst.users.emplace(name, u);
  for (const auto& [name, c] : src.contexts) dst.contexts.emplace(name, c);
  if (dst.current_context.empty() && !src.current_context.empty()) {
    dst.current_context = src.current_context;
    dst.current_context_file = src.current_context_file;
  }
  dst.files.insert(dst.files.end(), src.files.begin(), src.files.end());
}

Result<Kubeconfig> LoadKubeconfig(std::string_view path_list) {
  std::vector<std::string> paths;
  size_t start = 0;
  while (start <= path_list.size()) {
    size_t colon = path_list.find(':', start);
    if (colon == std::string_view::npos) colon = path_list.size();
    std::string p(path_list.substr(start, colon - start));
    if (!p.empty() && std::find(paths.begin(), paths.end(), p) == paths.end()) {
      paths.push_back(std::move(p));
    }
    start = colon + 1;
  }
  if (paths.empty()) return InvalidArgumentError("kubeconfig: no file given");
  if (paths.size() == 1) return LoadKubeconfigFile(paths[0]);
  Kubeconfig merged;
  bool any = false;
  for (const std::string& p : paths) {
    if (!FileExists(p)) continue;  // kubectl skips missing entries of a KUBECONFIG list
    ASSIGN_OR_RETURN(Kubeconfig kc, LoadKubeconfigFile(p));
    MergeKubeconfig(merged, kc);
    any = true;
  }
  if (!any) return NotFoundError("kubeconfig: none of the files exist: " + std::string(path_list));
  return merged;
}

std::string DefaultKubeconfigPath() {
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.kube/config";
}

std::vector<std::string> ContextNames(const Kubeconfig& kc) {
  std::vector<std::string> names;
  for (const auto& [name, c] : kc.contexts) names.push_back(name);
  return names;
}

}  // namespace brfed::kube
