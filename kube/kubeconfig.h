// Kubeconfig files: parsing, and merging several files like `KUBECONFIG=a:b` does.
//
//   ASSIGN_OR_RETURN(Kubeconfig kc, LoadKubeconfig(getenv("KUBECONFIG")));
//   ASSIGN_OR_RETURN(RestConfig rc, ResolveContext(kc, "k8s-1"));   // rest_config.h
//
// Only what brfed needs is kept; unknown keys (extensions, preferences) are ignored. Relative
// file paths (certificate-authority, client-certificate, client-key, tokenFile, and an exec
// command containing '/') are made absolute against the directory of the file that named
// them, so a merged Kubeconfig can be used from anywhere. `*-data` fields are stored decoded.
//
// Every error names the file and the entry and field at fault, for example
//   kubeconfig /etc/fed.yaml: users[1] "u": client-key-data: illegal base64 data
// and never includes the value of a secret field.
//
// The types are plain values: copyable, not thread-safe to mutate concurrently.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/status.h"

namespace brfed::kube {

// users[].user.exec: a client-go credential plugin.
struct ExecConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 or /v1beta1
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // name, value; values may be secret
  std::string install_hint;
  std::string interactive_mode;  // Never, IfAvailable, Always; brfed never runs interactively
  bool provide_cluster_info = false;
};

struct KubeconfigCluster {
  std::string name;
  std::string source_file;  // the file that defined it
  std::string server;
  std::string certificate_authority;       // absolute path, or empty
  std::string certificate_authority_data;  // decoded PEM, or empty
  std::string tls_server_name;
  bool insecure_skip_tls_verify = false;
};

// users[].user. Secret fields: token, client_key_data, exec env values.
struct KubeconfigUser {
  std::string name;
  std::string source_file;
  std::string token;
  std::string token_file;               // absolute path, or empty
  std::string client_certificate;       // absolute path, or empty
  std::string client_certificate_data;  // decoded PEM
  std::string client_key;               // absolute path, or empty
  std::string client_key_data;          // decoded PEM
  std::optional<ExecConfig> exec;
  bool has_auth_provider = false;  // auth-provider is not supported; reported on use
  bool has_basic_auth = false;     // username/password is not supported; reported on use
};

struct KubeconfigContext {
  std::string name;
  std::string source_file;
  std::string cluster;
  std::string user;
  std::string namespace_;  // empty means "default"
};

struct Kubeconfig {
  std::map<std::string, KubeconfigCluster, std::less<>> clusters;
  std::map<std::string, KubeconfigUser, std::less<>> users;
  std::map<std::string, KubeconfigContext, std::less<>> contexts;
  std::string current_context;
  std::string current_context_file;  // the file current_context came from
  std::vector<std::string> files;    // the files merged, in order
};

// Parses one kubeconfig document. `path` names the file in errors and is the base for relative
// paths. Errors: kInvalidArgument (YAML syntax with line and column, wrong types, bad base64,
// duplicate names, missing names).
Result<Kubeconfig> ParseKubeconfig(std::string_view text, const std::string& path);

// Reads and parses one file. kNotFound if it cannot be read.
Result<Kubeconfig> LoadKubeconfigFile(const std::string& path);

// Merges `src` into `dst` with client-go's rules: the first file to define a cluster, user or
// context name wins, and the first non-empty current-context wins.
void MergeKubeconfig(Kubeconfig& dst, const Kubeconfig& src);

// Loads a `KUBECONFIG`-style list ("a:b:c"). As in kubectl, a list of several files skips files
// that do not exist; a single file must exist. Errors if no file could be loaded.
Result<Kubeconfig> LoadKubeconfig(std::string_view path_list);

// What kubectl loads by default: $KUBECONFIG if set and non-empty, else $HOME/.kube/config.
std::string DefaultKubeconfigPath();

// The context names, sorted.
std::vector<std::string> ContextNames(const Kubeconfig& kc);

}  // namespace brfed::kube
