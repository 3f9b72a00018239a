// Controller: drives the federation objects of one kind (VolumeBackup or VolumeRestore)
// through runs of the engine, and projects each run back onto the object's status.
//
//   Controller vbk(ControllerOptions{.kind = BackupKind(workflows), .control_plane = cp, ...});
//   vbk.Start();                        // control-plane informer; syncs on every change
//   engine_options.on_run_changed = [&](const RunView& r) { vbk.OnRunChanged(r); };
//
// One sync of an object (FEDERATION_PROTOCOL §7.4, with brfed's run in place of polling):
//   being deleted → cancel its run (its finally steps end any GC pause), then run the delete
//   workflow (run id "<uid>.delete"), then Cleaned, then remove the finalizer;
//   terminal (Invalid / Complete / Failed) → nothing;
//   no finalizer → add it;
//   invalid spec → an Invalid condition naming the field, and nothing else;
//   else start the run (run id = uid; idempotent) and write the projected status when it
//   differs from the object's.
// Thread-safe; syncs of one object never overlap.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "brfed/engine.h"
#include "brfed/workflow.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/resource.h"
#include "manager/projection.h"
#include "manager/work_queue.h"
#include "steps/data_planes.h"
#include "steps/protocol/validate.h"

namespace brfed::manager {

// What differs between VolumeBackup and VolumeRestore.
struct KindSpec {
  std::string kind;                 // "VolumeBackup"
  std::string controller_name;      // "volumeBackup" (metrics label, as upstream)
  kube::Resource resource;          // the federation resource
  kube::Resource member_resource;   // the data-plane member resource
  std::string finalizer;
  std::shared_ptr<const Workflow> workflow;         // the run
  std::shared_ptr<const Workflow> delete_workflow;  // the deletion
  std::function<std::optional<protocol::Invalid>(const nlohmann::json&,
                                                 const std::set<std::string>&)>
      validate;
  std::function<nlohmann::json(const nlohmann::json&, const RunView*, const MemberObjects&)>
      project;
};

// Something worth telling the user, as a Kubernetes Event on the object.
struct ObjectEvent {
  nlohmann::json object;  // the federation object (for involvedObject)
  std::string type;       // "Normal" | "Warning"
  std::string reason;
  std::string message;
};

struct ControllerOptions {
  KindSpec kind;
  Env* env = nullptr;                     // not owned; the clock of conditions
  kube::Client* control_plane = nullptr;  // not owned
  Engine* engine = nullptr;               // not owned; or set later with SetEngine
  steps::DataPlanes* data_planes = nullptr;  // not owned
  std::set<std::string> contexts;         // data-plane context names
  std::string ns;                         // "" = every namespace (cluster-scoped)
  int workers = 5;
  std::function<void(const ObjectEvent&)> on_event;
  // After a status write: (object before, status written). For metrics.
  std::function<void(const nlohmann::json&, const nlohmann::json&)> on_status_written;
};

class Controller {
 public:
  explicit Controller(ControllerOptions options);
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;
  ~Controller();

  // The engine runs are started on. REQUIRES: called before Start (the engine is opened after
  // the controllers exist, because its recovery already reports runs to them).
  void SetEngine(Engine* engine);
  // Starts the control-plane informer; syncs begin with its first events.
  void Start();
  bool WaitForSync(std::chrono::milliseconds timeout);
  // Stops workers and the informer. Idempotent.
  void Stop();

  // The engine reports a change of one of this kind's runs. Any thread.
  void OnRunChanged(const RunView& run);
  // A data-plane member changed (from the data-plane informers). Any thread.
  void OnMemberChanged(const nlohmann::json& member);

  // Syncs performed, status writes, for tests and metrics.
  uint64_t syncs() const;
  uint64_t status_writes() const;

 private:
  void Sync(const std::string& key);
  // Adds `key` to the queue (after `delay`), unless the controller has stopped.
  void Enqueue(const std::string& key, std::chrono::milliseconds delay);
  Status SyncLive(const nlohmann::json& obj);
  Status SyncDeleting(const nlohmann::json& obj);
  Status WriteStatus(const nlohmann::json& obj, const nlohmann::json& status);
  Status Replace(const nlohmann::json& obj);
  std::optional<RunView> View(const std::string& run_id);
  MemberObjects Members(const nlohmann::json& obj) const;
  nlohmann::json RunParams(const nlohmann::json& obj) const;
  void Event(const nlohmann::json& obj, const char* type, std::string reason, std::string message);
  void Remember(const nlohmann::json& obj);

  ControllerOptions options_;
  std::unique_ptr<kube::Informer> informer_;
  std::unique_ptr<WorkQueue> queue_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> key_by_uid_;  // GUARDED_BY(mu_)
  std::map<std::string, RunView> views_;           // GUARDED_BY(mu_): latest view per run id
  uint64_t syncs_ = 0;                             // GUARDED_BY(mu_)
  uint64_t status_writes_ = 0;                     // GUARDED_BY(mu_)
};

// "<ns>/<name>" of an object.
std::string KeyOf(const nlohmann::json& obj);

}  // namespace brfed::manager
