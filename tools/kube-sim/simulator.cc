#include "tools/kube-sim/simulator.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "tools/kube-sim/cluster_server.h"
#include "tools/kube-sim/internal.h"

namespace brfed::kubesim {

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::mutex& GlobalHooksMu() {
  static std::mutex mu;
  return mu;
}
std::vector<ClusterHook>& GlobalHooks() {
  static std::vector<ClusterHook> hooks;
  return hooks;
}

Result<std::string> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return NotFoundError("cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFile(const fs::path& p, const std::string& data, fs::perms perms) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out) return UnavailableError("cannot write " + p.string());
  out << data;
  out.close();
  std::error_code ec;
  fs::permissions(p, perms, ec);
  return out ? Status::OK() : UnavailableError("cannot write " + p.string());
}

std::vector<std::string> StringList(const json& v) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& e : v) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  } else if (v.is_string()) {
    out.push_back(v.get<std::string>());
  }
  return out;
}

// Role defaults merged with the cluster entry: lists concatenate, the cluster wins otherwise.
json MergeClusterConfig(const json& role, const json& cluster) {
  json out = role.is_object() ? role : json::object();
  for (auto it = cluster.begin(); it != cluster.end(); ++it) {
    const std::string& k = it.key();
    if ((k == "crds" || k == "namespaces" || k == "objects") && it->is_array() && out.contains(k) &&
        out[k].is_array()) {
      for (const auto& e : *it) out[k].push_back(e);
    } else {
      out[k] = *it;
    }
  }
  return out;
}

std::string YamlQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class ClusterContextImpl;

// One virtual cluster: store, server, controllers.
struct Cluster {
  std::string name;
  std::string role;
  std::string context_namespace = "default";
  int port = 0;
  bool tls = true;
  bool server_cert_san = true;
  json config;
  std::unique_ptr<Store> store;
  std::unique_ptr<internal::ClusterServer> server;
  std::unique_ptr<ClusterContextImpl> context;
  std::vector<std::unique_ptr<Controller>> controllers;
  std::map<std::string, AdminHandler> pending_routes;
};

class ClusterContextImpl final : public ClusterContext {
 public:
  ClusterContextImpl(Cluster* c, const json* global) : c_(c), global_(global) {}
  const std::string& name() const override { return c_->name; }
  const std::string& role() const override { return c_->role; }
  Store* store() override { return c_->store.get(); }
  const json& config() const override { return c_->config; }
  const json& global_config() const override { return *global_; }
  void AddAdminRoute(const std::string& path, AdminHandler handler) override {
    if (c_->server) {
      c_->server->AddAdminRoute(path, std::move(handler));
    } else {
      c_->pending_routes[path] = std::move(handler);
    }
  }
  FaultSpec faults() const override { return c_->server ? c_->server->faults() : FaultSpec{}; }

 private:
  Cluster* c_;
  const json* global_;
};

class SimulatorImpl final : public Simulator {
 public:
  ~SimulatorImpl() override { Stop(); }

  Status Init(SimulatorOptions options);

  std::vector<ClusterEndpoint> endpoints() const override {
    std::vector<ClusterEndpoint> out;
    for (const auto& c : clusters_) {
      out.push_back(
          {c->name, c->role, c->server ? c->server->url() : "", c->port, c->context_namespace});
    }
    return out;
  }

  std::string kubeconfig() const override {
    auto k = KubeconfigForUser(kubeconfig_user_);
    return k.ok() ? *k : "";
  }

  Result<std::string> KubeconfigForUser(const std::string& user_name) const override {
    const internal::SimUser* user = nullptr;
    for (const auto& u : users_) {
      if (u.name == user_name) user = &u;
    }
    if (user == nullptr && !users_.empty()) {
      return NotFoundError("kube-sim: no user \"" + user_name + "\" in the config");
    }
    std::string ca_b64 = internal::Base64(ca_.cert_pem);
    std::ostringstream y;
    y << "apiVersion: v1\nkind: Config\npreferences: {}\n";
    y << "current-context: " << YamlQuote(clusters_.empty() ? "" : clusters_[0]->name) << "\n";
    y << "clusters:\n";
    for (const auto& c : clusters_) {
      y << "- name: " << YamlQuote(c->name) << "\n  cluster:\n";
      y << "    server: " << YamlQuote(c->server ? c->server->url() : "") << "\n";
      if (c->tls) y << "    certificate-authority-data: " << ca_b64 << "\n";
    }
    std::string uname = user ? user->name : "anonymous";
    y << "users:\n- name: " << YamlQuote(uname) << "\n  user:";
    if (user == nullptr) {
      y << " {}\n";
    } else {
      y << "\n";
      bool any = false;
      if (!user->token.empty()) {
        y << "    token: " << YamlQuote(user->token) << "\n";
        any = true;
      }
      if (user->client_cert) {
        y << "    client-certificate-data: " << internal::Base64(user->cert.cert_pem) << "\n";
        y << "    client-key-data: " << internal::Base64(user->cert.key_pem) << "\n";
        any = true;
      }
      if (!any) y << "    {}\n";
    }
    y << "contexts:\n";
    for (const auto& c : clusters_) {
      y << "- name: " << YamlQuote(c->name) << "\n  context:\n";
      y << "    cluster: " << YamlQuote(c->name) << "\n";
      y << "    user: " << YamlQuote(uname) << "\n";
      y << "    namespace: " << YamlQuote(c->context_namespace) << "\n";
    }
    return y.str();
  }

  ClusterContext* cluster(const std::string& name) override {
    Cluster* c = Find(name);
    return c ? c->context.get() : nullptr;
  }

  std::string ca_pem() const override { return any_tls_ ? ca_.cert_pem : ""; }

  Status SetFaults(const std::string& cluster, const FaultSpec& faults) override {
    Cluster* c = Find(cluster);
    if (c == nullptr || !c->server)
      return NotFoundError("kube-sim: no cluster \"" + cluster + "\"");
    c->server->SetFaults(faults);
    return Status::OK();
  }
  Status ClearFaults(const std::string& cluster) override { return SetFaults(cluster, {}); }
  Status DropWatches(const std::string& cluster) override {
    Cluster* c = Find(cluster);
    if (c == nullptr || !c->server)
      return NotFoundError("kube-sim: no cluster \"" + cluster + "\"");
    c->server->DropWatches();
    return Status::OK();
  }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    for (auto& c : clusters_) {
      for (auto& ctl : c->controllers) ctl->Stop();
    }
    for (auto& c : clusters_) {
      if (c->server) c->server->Stop();
    }
    for (auto& c : clusters_) c->controllers.clear();
    for (auto& c : clusters_) c->server.reset();
  }

 private:
  Cluster* Find(const std::string& name) const {
    for (const auto& c : clusters_) {
      if (c->name == name) return c.get();
    }
    return nullptr;
  }

  Status ParseUsers(const json& cfg);
  Status LoadCrds(Cluster& c, const fs::path& base);
  Status SeedObjects(Cluster& c, const fs::path& base);
  Status CreateObject(Cluster& c, json obj, const std::string& where);

  json config_;
  std::vector<std::unique_ptr<Cluster>> clusters_;
  std::vector<internal::SimUser> users_;
  std::string kubeconfig_user_;
  internal::CertKey ca_;
  bool any_tls_ = false;
  bool stopped_ = false;
};

Status SimulatorImpl::ParseUsers(const json& cfg) {
  json users = cfg.value("users", json::array());
  if (!users.is_array()) return InvalidArgumentError("config: users: expected a list");
  if (users.empty()) {
    users = json::array({{{"name", "admin"}, {"token", "kube-sim-admin-token"}, {"admin", true}}});
  }
  std::set<std::string> names;
  for (size_t i = 0; i < users.size(); ++i) {
    const json& u = users[i];
    std::string where = "config: users[" + std::to_string(i) + "]";
    if (!u.is_object()) return InvalidArgumentError(where + ": expected a mapping");
    internal::SimUser su;
    su.name = u.value("name", "");
    if (su.name.empty()) return InvalidArgumentError(where + ".name: required");
    if (!names.insert(su.name).second) {
      return InvalidArgumentError(where + ".name: duplicate user \"" + su.name + "\"");
    }
    for (auto it = u.begin(); it != u.end(); ++it) {
      static const std::set<std::string> kKeys = {"name",  "token", "clientCertificate",
                                                  "group", "admin", "rules"};
      if (!kKeys.count(it.key())) {
        return InvalidArgumentError(where + ": unknown key \"" + it.key() + "\"");
      }
    }
    su.token = u.value("token", "");
    su.client_cert = u.value("clientCertificate", false);
    su.group = u.value("group", "");
    su.admin = u.value("admin", false);
    if (su.token.empty() && !su.client_cert) {
      return InvalidArgumentError(where + ": needs a token or clientCertificate: true");
    }
    json rules = u.value("rules", json::array());
    for (size_t r = 0; r < rules.size(); ++r) {
      const json& rj = rules[r];
      std::string rwhere = where + ".rules[" + std::to_string(r) + "]";
      if (!rj.is_object()) return InvalidArgumentError(rwhere + ": expected a mapping");
      for (auto it = rj.begin(); it != rj.end(); ++it) {
        static const std::set<std::string> kKeys = {"verbs", "apiGroups", "resources", "namespaces",
                                                    "clusters"};
        if (!kKeys.count(it.key())) {
          return InvalidArgumentError(rwhere + ": unknown key \"" + it.key() + "\"");
        }
      }
      internal::AccessRule ar;
      ar.verbs = StringList(rj.value("verbs", json()));
      ar.api_groups = StringList(rj.value("apiGroups", json()));
      ar.resources = StringList(rj.value("resources", json()));
      ar.namespaces = StringList(rj.value("namespaces", json()));
      ar.clusters = StringList(rj.value("clusters", json()));
      su.rules.push_back(std::move(ar));
    }
    users_.push_back(std::move(su));
  }
  kubeconfig_user_ = cfg.value("kubeconfigUser", users_[0].name);
  bool found = false;
  for (const auto& u : users_) found = found || u.name == kubeconfig_user_;
  if (!found) {
    return InvalidArgumentError("config: kubeconfigUser: no user \"" + kubeconfig_user_ + "\"");
  }
  return Status::OK();
}

Status SimulatorImpl::LoadCrds(Cluster& c, const fs::path& base) {
  for (const std::string& entry : StringList(c.config.value("crds", json()))) {
    fs::path p = fs::path(entry).is_absolute() ? fs::path(entry) : base / entry;
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (const auto& de : fs::directory_iterator(p, ec)) {
        std::string ext = de.path().extension().string();
        std::string fname = de.path().filename().string();
        if ((ext == ".yaml" || ext == ".yml" || ext == ".json") && fname != "kustomization.yaml" &&
            fname != "kustomization.yml") {
          files.push_back(de.path());
        }
      }
      std::sort(files.begin(), files.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      return NotFoundError("config: cluster " + c.name + ": crds: " + p.string() +
                           " does not exist");
    }
    for (const fs::path& f : files) {
      ASSIGN_OR_RETURN(std::string text, ReadFile(f));
      ASSIGN_OR_RETURN(auto docs, internal::YamlToJson(text, f.string()));
      for (json& d : docs) {
        if (!d.is_object() || d.value("kind", "") != "CustomResourceDefinition") continue;
        auto infos = ResourceInfosFromCrd(d);
        if (!infos.ok()) return infos.status().WithContext(f.string());
        for (const auto& i : *infos) c.store->RegisterResource(i);
        d.erase("status");
        if (d.contains("metadata") && d["metadata"].is_object()) {
          d["metadata"].erase("resourceVersion");
          d["metadata"].erase("creationTimestamp");
        }
        auto created =
            c.store->Create({"apiextensions.k8s.io", "v1", "customresourcedefinitions"}, "", d);
        if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) {
          return created.status().WithContext(f.string());
        }
        if (created.ok()) {
          internal::MarkCrdEstablished(c.store.get(), (*created)["metadata"]["name"]);
        }
      }
    }
  }
  return Status::OK();
}

Status SimulatorImpl::CreateObject(Cluster& c, json obj, const std::string& where) {
  if (!obj.is_object()) return InvalidArgumentError(where + ": expected a mapping");
  std::string api_version = obj.value("apiVersion", "");
  std::string kind = obj.value("kind", "");
  if (api_version.empty() || kind.empty()) {
    return InvalidArgumentError(where + ": apiVersion and kind are required");
  }
  if (kind == "List" && obj.contains("items") && obj["items"].is_array()) {
    for (auto& item : obj["items"]) RETURN_IF_ERROR(CreateObject(c, item, where));
    return Status::OK();
  }
  std::string group, version = api_version;
  size_t slash = api_version.find('/');
  if (slash != std::string::npos) {
    group = api_version.substr(0, slash);
    version = api_version.substr(slash + 1);
  }
  std::optional<ResourceInfo> info;
  for (const auto& r : c.store->Resources()) {
    if (r.key.group == group && r.key.version == version && r.kind == kind) info = r;
  }
  if (!info) {
    return InvalidArgumentError(where + ": cluster " + c.name + " serves no " + api_version + " " +
                                kind + " (load its CRD first)");
  }
  std::string ns;
  if (info->namespaced) {
    ns = obj.contains("metadata") && obj["metadata"].is_object()
             ? obj["metadata"].value("namespace", "")
             : "";
    if (ns.empty()) ns = c.context_namespace;
  }
  std::optional<json> status;
  if (info->status_subresource && obj.contains("status")) status = obj["status"];
  if (obj.contains("metadata") && obj["metadata"].is_object()) {
    obj["metadata"].erase("resourceVersion");
  }
  auto created = c.store->Create(info->key, ns, obj);
  if (!created.ok()) return created.status().WithContext(where);
  if (status) {
    json upd = *created;
    upd["status"] = *status;
    Store::UpdateOptions uo;
    uo.status_subresource = true;
    auto st = c.store->Update(info->key, ns, (*created)["metadata"]["name"], upd, uo);
    if (!st.ok()) return st.status().WithContext(where);
  }
  if (group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition") {
    auto infos = ResourceInfosFromCrd(*created);
    if (!infos.ok()) return infos.status().WithContext(where);
    for (const auto& i : *infos) c.store->RegisterResource(i);
    internal::MarkCrdEstablished(c.store.get(), (*created)["metadata"]["name"]);
  }
  return Status::OK();
}

Status SimulatorImpl::SeedObjects(Cluster& c, const fs::path& base) {
  for (const std::string& ns : StringList(c.config.value("namespaces", json()))) {
    auto created = c.store->Create(
        {"", "v1", "namespaces"}, "",
        {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) {
      return created.status().WithContext("config: cluster " + c.name + ": namespaces");
    }
  }
  json objects = c.config.value("objects", json::array());
  if (!objects.is_array()) {
    return InvalidArgumentError("config: cluster " + c.name + ": objects: expected a list");
  }
  for (size_t i = 0; i < objects.size(); ++i) {
    std::string where = "config: cluster " + c.name + ": objects[" + std::to_string(i) + "]";
    if (objects[i].is_string()) {
      fs::path p = objects[i].get<std::string>();
      if (!p.is_absolute()) p = base / p;
      ASSIGN_OR_RETURN(std::string text, ReadFile(p));
      ASSIGN_OR_RETURN(auto docs, internal::YamlToJson(text, p.string()));
      for (auto& d : docs) RETURN_IF_ERROR(CreateObject(c, std::move(d), p.string()));
    } else {
      RETURN_IF_ERROR(CreateObject(c, objects[i], where));
    }
  }
  return Status::OK();
}

Status SimulatorImpl::Init(SimulatorOptions options) {
  fs::path base = options.base_dir.empty() ? fs::current_path() : fs::path(options.base_dir);
  std::string text = options.config_yaml;
  std::string where = "config";
  if (!options.config_path.empty()) {
    ASSIGN_OR_RETURN(text, ReadFile(options.config_path));
    where = options.config_path;
    base = fs::absolute(options.config_path).parent_path();
  }
  ASSIGN_OR_RETURN(auto docs, internal::YamlToJson(text, where));
  if (docs.size() != 1 || !docs[0].is_object()) {
    return InvalidArgumentError(where + ": expected one YAML mapping");
  }
  config_ = docs[0];
  static const std::set<std::string> kTopKeys = {
      "tls",      "users",        "kubeconfigUser",          "roles",
      "clusters", "historyLimit", "bookmarkIntervalSeconds", "strictNamespaces",
      "operator", "threads"};
  for (auto it = config_.begin(); it != config_.end(); ++it) {
    if (!kTopKeys.count(it.key())) {
      return InvalidArgumentError(where + ": unknown key \"" + it.key() + "\"");
    }
  }
  RETURN_IF_ERROR(ParseUsers(config_));
  json clusters = config_.value("clusters", json::array());
  if (!clusters.is_array() || clusters.empty()) {
    return InvalidArgumentError(where + ": clusters: at least one cluster is required");
  }
  json roles = config_.value("roles", json::object());
  bool default_tls = config_.value("tls", true);
  std::set<std::string> names;
  for (size_t i = 0; i < clusters.size(); ++i) {
    std::string cwhere = where + ": clusters[" + std::to_string(i) + "]";
    if (!clusters[i].is_object()) return InvalidArgumentError(cwhere + ": expected a mapping");
    auto c = std::make_unique<Cluster>();
    c->name = clusters[i].value("name", "");
    if (c->name.empty()) return InvalidArgumentError(cwhere + ".name: required");
    if (!names.insert(c->name).second) {
      return InvalidArgumentError(cwhere + ".name: duplicate cluster \"" + c->name + "\"");
    }
    c->role = clusters[i].value("role", "");
    json role_cfg = json::object();
    if (!c->role.empty() && roles.contains(c->role)) role_cfg = roles[c->role];
    c->config = MergeClusterConfig(role_cfg, clusters[i]);
    static const std::set<std::string> kClusterKeys = {
        "name", "role",    "port",          "tls",      "namespace",        "namespaces",
        "crds", "objects", "serverCertSAN", "operator", "strictNamespaces", "historyLimit"};
    for (auto it = c->config.begin(); it != c->config.end(); ++it) {
      if (!kClusterKeys.count(it.key())) {
        return InvalidArgumentError(cwhere + " (" + c->name + "): unknown key \"" + it.key() +
                                    "\"");
      }
    }
    c->port = c->config.value("port", 0);
    c->tls = c->config.value("tls", default_tls);
    c->server_cert_san = c->config.value("serverCertSAN", true);
    c->context_namespace = c->config.value("namespace", "default");
    any_tls_ = any_tls_ || c->tls;
    Store::Options so;
    so.history_limit = c->config.value("historyLimit", config_.value("historyLimit", 10000));
    so.strict_namespaces =
        c->config.value("strictNamespaces", config_.value("strictNamespaces", false));
    c->store = std::make_unique<Store>(so);
    RegisterBuiltinResources(c->store.get());
    c->context = std::make_unique<ClusterContextImpl>(c.get(), &config_);
    clusters_.push_back(std::move(c));
  }

  // PKI.
  if (any_tls_) {
    bool loaded = false;
    if (!options.state_dir.empty()) {
      std::error_code ec;
      fs::create_directories(options.state_dir, ec);
      fs::permissions(options.state_dir, fs::perms::owner_all, ec);
      fs::path crt = fs::path(options.state_dir) / "ca.crt",
               key = fs::path(options.state_dir) / "ca.key";
      if (fs::exists(crt) && fs::exists(key)) {
        ASSIGN_OR_RETURN(ca_.cert_pem, ReadFile(crt));
        ASSIGN_OR_RETURN(ca_.key_pem, ReadFile(key));
        loaded = true;
      }
    }
    if (!loaded) {
      ASSIGN_OR_RETURN(ca_, internal::GenerateCa());
      if (!options.state_dir.empty()) {
        RETURN_IF_ERROR(WriteFile(fs::path(options.state_dir) / "ca.crt", ca_.cert_pem,
                                  fs::perms::owner_read | fs::perms::owner_write));
        RETURN_IF_ERROR(WriteFile(fs::path(options.state_dir) / "ca.key", ca_.key_pem,
                                  fs::perms::owner_read | fs::perms::owner_write));
      }
    }
    for (auto& u : users_) {
      if (u.client_cert) {
        ASSIGN_OR_RETURN(u.cert, internal::IssueClientCert(ca_, u.name, u.group));
      }
    }
  }

  // CRDs and seed objects.
  for (auto& c : clusters_) {
    RETURN_IF_ERROR(LoadCrds(*c, base));
    RETURN_IF_ERROR(SeedObjects(*c, base));
  }

  // Hooks.
  std::vector<ClusterHook> hooks = options.cluster_hooks;
  if (options.use_global_hooks) {
    std::lock_guard<std::mutex> l(GlobalHooksMu());
    for (const auto& h : GlobalHooks()) hooks.push_back(h);
  }
  for (auto& c : clusters_) {
    for (const auto& hook : hooks) {
      auto ctl = hook(*c->context);
      if (!ctl.ok()) return ctl.status().WithContext("kube-sim: hook on cluster " + c->name);
      if (*ctl) c->controllers.push_back(std::move(*ctl));
    }
  }

  // Servers.
  std::chrono::milliseconds bookmark(
      static_cast<int64_t>(config_.value("bookmarkIntervalSeconds", 5.0) * 1000));
  for (auto& c : clusters_) {
    internal::ClusterServerOptions so;
    so.name = c->name;
    so.port = c->port;
    so.tls = c->tls;
    so.server_cert_san = c->server_cert_san;
    so.ca = ca_;
    if (c->tls) {
      ASSIGN_OR_RETURN(so.server_cert, internal::IssueServerCert(ca_, c->server_cert_san));
    }
    so.users = users_;
    so.store = c->store.get();
    so.bookmark_interval = bookmark;
    so.threads = static_cast<size_t>(config_.value("threads", 64));
    ASSIGN_OR_RETURN(c->server, internal::ClusterServer::Start(std::move(so)));
    c->port = c->server->port();
    for (auto& [path, handler] : c->pending_routes) c->server->AddAdminRoute(path, handler);
    c->pending_routes.clear();
  }
  if (!options.state_dir.empty()) {
    RETURN_IF_ERROR(WriteFile(fs::path(options.state_dir) / "kubeconfig", kubeconfig(),
                              fs::perms::owner_read | fs::perms::owner_write));
    for (const auto& u : users_) {
      ASSIGN_OR_RETURN(std::string kc, KubeconfigForUser(u.name));
      RETURN_IF_ERROR(WriteFile(fs::path(options.state_dir) / ("kubeconfig-" + u.name), kc,
                                fs::perms::owner_read | fs::perms::owner_write));
    }
  }
  return Status::OK();
}

}  // namespace

void RegisterGlobalClusterHook(ClusterHook hook) {
  std::lock_guard<std::mutex> l(GlobalHooksMu());
  GlobalHooks().push_back(std::move(hook));
}

Result<std::unique_ptr<Simulator>> Simulator::Start(SimulatorOptions options) {
  auto sim = std::make_unique<SimulatorImpl>();
  Status st = sim->Init(std::move(options));
  if (!st.ok()) {
    sim->Stop();
    return st;
  }
  return std::unique_ptr<Simulator>(std::move(sim));
}

Result<std::string> KubeconfigWithout(const std::string& kubeconfig, const std::string& drop) {
  try {
    YAML::Node root = YAML::Load(kubeconfig);
    YAML::Node kept(YAML::NodeType::Sequence);
    for (const YAML::Node& c : root["contexts"]) {
      if (c["name"].as<std::string>() != drop) kept.push_back(c);
    }
    if (kept.size() == 0) {
      return InvalidArgumentError("kubeconfig: no context left without " + drop);
    }
    root["contexts"] = kept;
    root["current-context"] = kept[0]["name"].as<std::string>();
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str());
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("kubeconfig: " + std::string(e.what()));
  }
}

}  // namespace brfed::kubesim
