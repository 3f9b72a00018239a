#include "manager/manager.h"

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

#include "brfed/engine.h"
#include "kube/client_set.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "kube/rest_config.h"
#include "manager/controller.h"
#include "manager/events.h"
#include "manager/http_endpoint.h"
#include "manager/kinds.h"
#include "manager/leader.h"
#include "manager/manager_metrics.h"
#include "steps/data_planes.h"
#include "steps/register.h"
#include "storage/journal.h"

namespace brfed::manager {

namespace {

constexpr std::chrono::seconds kCacheSyncTimeout{30};

kube::ClientOptions ClientOptionsFrom(const ManagerOptions& o) {
  kube::ClientOptions c;
  c.qps = o.kube_client_qps > 0 ? o.kube_client_qps : 5;
  c.burst = o.kube_client_burst > 0 ? o.kube_client_burst : 10;
  return c;
}

// Everything that exists only while this replica leads.
struct Leadership {
  std::unique_ptr<Journal> journal;
  std::vector<std::unique_ptr<kube::Informer>> member_informers;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Controller> backups;
  std::unique_ptr<Controller> restores;

  ~Leadership() { Stop(); }

  // Order: stop producing work, then the engine (joins reconciles), then the caches.
  void Stop() {
    if (backups) backups->Stop();
    if (restores) restores->Stop();
    engine.reset();
    for (auto& i : member_informers) i->Stop();
  }
};

class ManagerImpl final : public Manager {
 public:
  ManagerImpl(ManagerOptions options, Env* env) : options_(std::move(options)), env_(env) {}

  Status Init() {
    kube::ClientOptions co = ClientOptionsFrom(options_);
    ASSIGN_OR_RETURN(kube::Kubeconfig data_kc, kube::LoadKubeconfig(options_.federation_kubeconfig_path));
    ASSIGN_OR_RETURN(data_clients_, kube::ClientSet::Create(data_kc, co));
    for (const std::string& c : data_clients_->cluster_names()) contexts_.insert(c);
    kube::RestConfig control;
    if (!options_.kubeconfig.empty()) {
      ASSIGN_OR_RETURN(kube::Kubeconfig kc, kube::LoadKubeconfig(options_.kubeconfig));
      ASSIGN_OR_RETURN(control, kube::ResolveContext(kc, ""));
    } else {
      ASSIGN_OR_RETURN(control, kube::InClusterConfig(kube::InClusterOptions::FromEnvironment(),
                                                      "control-plane"));
    }
    ASSIGN_OR_RETURN(control_plane_, kube::Client::Create(control, co));
    RETURN_IF_ERROR(RegisterTestSteps(&registry_));
    RETURN_IF_ERROR(steps::RegisterFederationSteps(&registry_));
    ASSIGN_OR_RETURN(workflows_, LoadWorkflows(registry_, options_.workflows_dir));
    data_planes_ = std::make_unique<steps::DataPlanes>(data_clients_.get());
    RegisterManagerMetrics(&metrics_);
    return Status::OK();
  }

  Status Run(kube::StopSignal* stop) override {
    HttpEndpoint http({.addr = options_.health_addr, .ready = [this] { return ready(); },
                       .metrics = &metrics_});
    RETURN_IF_ERROR(http.Start());
    health_port_ = http.port();
    LeaderElector elector(control_plane_.get(),
                          {.ns = options_.ns,
                           .name = options_.LockName(),
                           .identity = options_.identity,
                           .lease_duration = options_.leader_lease,
                           .renew_deadline = options_.leader_renew_deadline,
                           .retry_period = options_.leader_retry_period},
                          env_);
    Result<uint64_t> epoch = elector.Acquire(stop);
    if (!epoch.ok()) return epoch.status().code() == StatusCode::kCancelled ? Status::OK() : epoch.status();
    std::cerr << "br-federation-manager: " << options_.identity << " leads (epoch " << *epoch << ")\n";

    kube::StopSignal lost;
    Leadership lead;
    Status s = Lead(*epoch, &lead);
    if (!s.ok()) return s;
    elector.KeepRenewing([&lost] { lost.Stop(); });
    leading_ = true;
    while (!stop->WaitFor(std::chrono::milliseconds(200))) {
      if (lost.stopped()) break;
    }
    leading_ = false;
    bool was_lost = lost.stopped();
    lead.Stop();  // stop acting first
    if (was_lost) return AbortedError("lost the leader lease " + options_.ns + "/" + options_.LockName());
    elector.Release();
    return Status::OK();
  }

  Metrics& metrics() override { return metrics_; }
  int health_port() const override { return health_port_; }
  bool ready() const override { return leading_.load(); }

 private:
  Status Lead(uint64_t epoch, Leadership* lead) {
    JournalOptions jo;
    jo.dir = options_.journal_dir;
    ASSIGN_OR_RETURN(lead->journal, OpenJournal(jo));
    auto* leveldb_journal = dynamic_cast<LevelDbJournal*>(lead->journal.get());
    if (leveldb_journal != nullptr) {
      Status e = leveldb_journal->SetLeaderEpoch(epoch);
      if (!e.ok()) return e.WithContext("journal " + options_.journal_dir);
    }
    WatchMembers(lead);
    services_.Put<steps::DataPlanes>(data_planes_.get());
    EngineOptions eo;
    eo.env = env_;
    eo.journal = lead->journal.get();
    eo.steps = &registry_;
    eo.services = &services_;
    eo.workers = options_.workers * 2;
    eo.on_run_changed = [this, lead](const RunView& run) {
      ObserveRun(&metrics_, run, [this](const std::string& wf, const std::string& step) {
        return ActionOf(wf, step);
      });
      Controller* c = run.workflow_name.rfind("volume-restore", 0) == 0 ? lead->restores.get()
                                                                        : lead->backups.get();
      if (c != nullptr) c->OnRunChanged(run);
    };
    lead->backups = MakeController(BackupKind(workflows_));
    lead->restores = MakeController(RestoreKind(workflows_));
    ASSIGN_OR_RETURN(lead->engine, OpenEngine(std::move(eo)));
    Engine* engine = lead->engine.get();
    AddEngineCollector(&metrics_, engine, lead->journal.get(), data_clients_.get(), control_plane_.get());
    for (Controller* c : {lead->backups.get(), lead->restores.get()}) {
      c->SetEngine(engine);
      c->Start();
      if (!c->WaitForSync(kCacheSyncTimeout)) {
        return UnavailableError("control plane: federation objects did not sync in time");
      }
    }
    return Status::OK();
  }

  std::string ActionOf(const std::string& workflow, const std::string& step) const {
    for (const auto* wf : {&workflows_.volume_backup, &workflows_.volume_backup_delete,
                           &workflows_.volume_restore, &workflows_.volume_restore_delete}) {
      if (*wf == nullptr || (*wf)->name != workflow) continue;
      if (const StepDef* d = (*wf)->FindStep(step)) return d->action;
    }
    return step;
  }

  std::unique_ptr<Controller> MakeController(KindSpec kind) {
    ControllerOptions co;
    co.kind = std::move(kind);
    co.env = env_;
    co.control_plane = control_plane_.get();
    co.data_planes = data_planes_.get();
    co.contexts = contexts_;
    co.ns = options_.cluster_scoped ? "" : options_.ns;
    co.workers = options_.workers;
    co.on_event = [this](const ObjectEvent& e) {
      RecordEvent(control_plane_.get(), env_->Now(), e).IgnoreError();
    };
    co.on_status_written = [this](const nlohmann::json& before, const nlohmann::json& status) {
      ObserveStatusWrite(&metrics_, before, status, env_->Now());
    };
    return std::make_unique<Controller>(std::move(co));
  }

  // A watch per data plane and member kind: changes wake the waiting steps at once and refresh
  // the federation object's status.
  void WatchMembers(Leadership* lead) {
    for (const std::string& cluster : data_clients_->cluster_names()) {
      kube::Client* client = *data_clients_->Get(cluster);
      for (const kube::Resource* r : {&kube::kBackups, &kube::kRestores}) {
        kube::InformerOptions io;
        io.resource = *r;
        auto informer = std::make_unique<kube::Informer>(
            client, io, [lead, cluster, r](const kube::InformerEvent& e) {
              ObjectRef ref{cluster, r->GroupResource(),
                            e.object["metadata"].value("namespace", ""),
                            e.object["metadata"].value("name", "")};
              if (lead->engine) lead->engine->Wake(ref);
              Controller* c = r == &kube::kBackups ? lead->backups.get() : lead->restores.get();
              if (c != nullptr) c->OnMemberChanged(e.object);
            });
        kube::Informer* raw = informer.get();
        data_planes_->SetCache(cluster, *r, [raw](std::string_view ns, std::string_view name) {
          return raw->HasSynced() ? raw->Get(ns, name) : std::nullopt;
        });
        informer->Start();
        lead->member_informers.push_back(std::move(informer));
      }
    }
    // A data plane that is down must not keep the manager from leading: its steps fall back to
    // direct requests and retry. Give the healthy ones a moment to fill their caches.
    for (auto& i : lead->member_informers) i->WaitForSync(std::chrono::seconds(5));
  }

  const ManagerOptions options_;
  Env* env_;
  std::unique_ptr<kube::ClientSet> data_clients_;
  std::set<std::string> contexts_;
  std::unique_ptr<kube::Client> control_plane_;
  StepRegistry registry_;
  Workflows workflows_;
  std::unique_ptr<steps::DataPlanes> data_planes_;
  ServiceMap services_;
  Metrics metrics_;
  int health_port_ = 0;
  std::atomic<bool> leading_{false};
};

}  // namespace

Result<std::unique_ptr<Manager>> Manager::Create(ManagerOptions options, Env* env) {
  auto m = std::make_unique<ManagerImpl>(std::move(options), env);
  RETURN_IF_ERROR(m->Init());
  return std::unique_ptr<Manager>(std::move(m));
}

}  // namespace brfed::manager
