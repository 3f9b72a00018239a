#include "manager/controller.h"

#include "steps/protocol/conditions.h"
#include "steps/protocol/members.h"

namespace brfed::manager {

using nlohmann::json;
namespace protocol = brfed::protocol;

namespace {

constexpr std::chrono::milliseconds kConflictRetry{50};
constexpr std::chrono::milliseconds kErrorRetry{1000};
// Run ids may not contain '/' (the journal's key format, storage/keys.cc).
constexpr const char kDeleteSuffix[] = ".delete";

std::string Uid(const json& obj) { return protocol::StringAt(obj, {"metadata", "uid"}); }

bool HasFinalizer(const json& obj, const std::string& finalizer) {
  const json& meta = obj["metadata"];
  if (!meta.contains("finalizers") || !meta["finalizers"].is_array()) return false;
  for (const json& f : meta["finalizers"]) {
    if (f.is_string() && f.get<std::string>() == finalizer) return true;
  }
  return false;
}

bool Deleting(const json& obj) {
  return !protocol::StringAt(obj, {"metadata", "deletionTimestamp"}).empty();
}

// The run id a run of ours belongs to: "<uid>" or "<uid>.delete" → "<uid>".
std::string UidOfRun(const std::string& run_id) {
  size_t dot = run_id.find('.');
  return dot == std::string::npos ? run_id : run_id.substr(0, dot);
}

// True when the object was ever handed to a run (so members may exist).
bool EverStarted(const json& obj) {
  return protocol::FindCondition(obj, "Running").has_value();
}

}  // namespace

std::string KeyOf(const json& obj) {
  return protocol::StringAt(obj, {"metadata", "namespace"}) + "/" +
         protocol::StringAt(obj, {"metadata", "name"});
}

Controller::Controller(ControllerOptions options) : options_(std::move(options)) {
  kube::InformerOptions io;
  io.resource = options_.kind.resource;
  io.ns = options_.ns;
  informer_ = std::make_unique<kube::Informer>(
      options_.control_plane, io, [this](const kube::InformerEvent& e) {
        if (e.type != kube::InformerEventType::kDeleted) Remember(e.object);
        Enqueue(KeyOf(e.object), std::chrono::milliseconds(0));
      });
  queue_ = std::make_unique<WorkQueue>(options_.workers, [this](const std::string& key) { Sync(key); });
}

Controller::~Controller() { Stop(); }

void Controller::SetEngine(Engine* engine) { options_.engine = engine; }

void Controller::Start() { informer_->Start(); }

bool Controller::WaitForSync(std::chrono::milliseconds timeout) {
  return informer_->WaitForSync(timeout);
}

void Controller::Stop() {
  informer_->Stop();
  std::unique_ptr<WorkQueue> queue;
  {
    std::lock_guard<std::mutex> l(mu_);
    queue = std::move(queue_);
  }
  queue.reset();  // joins the workers, outside the lock their syncs take
}

void Controller::Enqueue(const std::string& key, std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> l(mu_);
  if (queue_ == nullptr) return;
  if (delay.count() > 0) {
    queue_->AddAfter(key, delay);
  } else {
    queue_->Add(key);
  }
}

void Controller::Remember(const json& obj) {
  std::string uid = Uid(obj);
  if (uid.empty()) return;
  std::lock_guard<std::mutex> l(mu_);
  key_by_uid_[uid] = KeyOf(obj);
}

void Controller::OnRunChanged(const RunView& run) {
  std::string key;
  {
    std::lock_guard<std::mutex> l(mu_);
    views_[run.run_id] = run;
    auto it = key_by_uid_.find(UidOfRun(run.run_id));
    if (it == key_by_uid_.end()) return;
    key = it->second;
  }
  Enqueue(key, std::chrono::milliseconds(0));
}

void Controller::OnMemberChanged(const json& member) {
  const json& meta = member.value("metadata", json::object());
  std::string uid = protocol::StringAt(meta, {"annotations", protocol::kRunAnnotation});
  if (uid.empty()) return;
  std::string key;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = key_by_uid_.find(uid);
    if (it == key_by_uid_.end()) return;
    key = it->second;
  }
  Enqueue(key, std::chrono::milliseconds(0));
}

uint64_t Controller::syncs() const {
  std::lock_guard<std::mutex> l(mu_);
  return syncs_;
}

uint64_t Controller::status_writes() const {
  std::lock_guard<std::mutex> l(mu_);
  return status_writes_;
}

std::optional<RunView> Controller::View(const std::string& run_id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = views_.find(run_id);
    if (it != views_.end()) return it->second;
  }
  Result<RunView> v = options_.engine->GetRun(run_id);
  if (!v.ok()) return std::nullopt;
  std::lock_guard<std::mutex> l(mu_);
  return views_.insert_or_assign(run_id, std::move(*v)).first->second;
}

MemberObjects Controller::Members(const json& obj) const {
  MemberObjects members;
  const json& spec = obj.value("spec", json::object());
  if (!spec.is_object() || !spec.contains("clusters") || !spec["clusters"].is_array()) return members;
  std::string name = protocol::MemberName(protocol::StringAt(obj, {"metadata", "name"}));
  std::string uid = Uid(obj);
  for (const json& c : spec["clusters"]) {
    std::optional<json> m = options_.data_planes->Cached(protocol::StringAt(c, {"k8sClusterName"}),
                                                         options_.kind.member_resource,
                                                         protocol::StringAt(c, {"tcNamespace"}), name);
    if (m && !protocol::IsOwnedBy(*m, uid)) m.reset();
    members.push_back(std::move(m));
  }
  return members;
}

json Controller::RunParams(const json& obj) const {
  json meta = {{"name", obj["metadata"].value("name", "")},
               {"namespace", obj["metadata"].value("namespace", "")},
               {"uid", Uid(obj)}};
  for (const char* key : {"labels", "annotations"}) {
    if (obj["metadata"].contains(key) && obj["metadata"][key].is_object()) {
      meta[key] = obj["metadata"][key];
    }
  }
  if (meta.contains("annotations")) {
    meta["annotations"].erase("kubectl.kubernetes.io/last-applied-configuration");
  }
  json object = {{"apiVersion", obj.value("apiVersion", "")},
                 {"kind", options_.kind.kind},
                 {"metadata", std::move(meta)},
                 {"spec", obj.value("spec", json::object())}};
  return {{"object", std::move(object)}};
}

void Controller::Event(const json& obj, const char* type, std::string reason, std::string message) {
  if (options_.on_event) options_.on_event(ObjectEvent{obj, type, std::move(reason), std::move(message)});
}

void Controller::Sync(const std::string& key) {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++syncs_;
  }
  size_t slash = key.find('/');
  std::optional<json> obj = informer_->Get(key.substr(0, slash), key.substr(slash + 1));
  if (!obj) return;  // gone: nothing to do (§7.2)
  Status s = Deleting(*obj) ? SyncDeleting(*obj) : SyncLive(*obj);
  if (s.ok()) return;
  // A conflict means a newer version is on its way: look again shortly. Anything else is
  // retried with a pause; the run itself never depends on these retries.
  Enqueue(key, s.code() == StatusCode::kAborted ? kConflictRetry : kErrorRetry);
}

Status Controller::SyncLive(const json& obj) {
  for (const char* terminal : {"Invalid", "Complete", "Failed"}) {
    if (protocol::IsConditionTrue(obj, terminal)) return Status::OK();
  }
  if (!HasFinalizer(obj, options_.kind.finalizer)) {
    json copy = obj;
    if (!copy["metadata"].contains("finalizers") || !copy["metadata"]["finalizers"].is_array()) {
      copy["metadata"]["finalizers"] = json::array();
    }
    copy["metadata"]["finalizers"].push_back(options_.kind.finalizer);
    return Replace(copy);  // the update event brings the object back here
  }
  std::string uid = Uid(obj);
  std::optional<RunView> run = View(uid);
  if (!run) {
    if (auto bad = options_.kind.validate(obj, options_.contexts)) {
      json status = obj.value("status", json::object());
      protocol::SetCondition(&status, "Invalid", bad->reason, bad->message,
                             options_.env->Now());
      Event(obj, "Warning", bad->reason, bad->message);
      return WriteStatus(obj, status);
    }
    Result<Value> params = Value::FromJson(RunParams(obj).dump());
    if (!params.ok()) return params.status();
    Status started = options_.engine->StartRun(uid, options_.kind.workflow, std::move(*params));
    if (!started.ok()) return started;
    Event(obj, "Normal", "Started", options_.kind.workflow->name + " run " + uid + " started");
    run = View(uid);
    if (!run) return UnavailableError("run " + uid + " not visible yet");
  }
  json status = options_.kind.project(obj, &*run, Members(obj));
  if (IsFinished(run->state)) {
    bool ok = run->state == RunState::kSucceeded;
    Event(obj, ok ? "Normal" : "Warning", ok ? "Complete" : "Failed",
          ok ? options_.kind.kind + " completed" : run->message);
  }
  return WriteStatus(obj, status);
}

Status Controller::SyncDeleting(const json& obj) {
  if (!HasFinalizer(obj, options_.kind.finalizer)) return Status::OK();
  std::string uid = Uid(obj);
  json status = obj.value("status", json::object());
  bool cleaned = protocol::IsConditionTrue(obj, "Cleaned");
  if (!cleaned) {
    std::optional<RunView> run = View(uid);
    if (run && !IsFinished(run->state)) {
      // The run's finally steps (teardown) end any GC pause before members are deleted.
      RETURN_IF_ERROR(options_.engine->Cancel(uid, options_.kind.kind + " is being deleted"));
      return WriteStatus(obj, options_.kind.project(obj, &*run, Members(obj)));
    }
    if (run) status = options_.kind.project(obj, &*run, Members(obj));
    bool members_possible = run.has_value() || EverStarted(obj);
    if (members_possible && !protocol::IsConditionTrue(obj, "Invalid")) {
      std::string delete_id = uid + kDeleteSuffix;
      std::optional<RunView> del = View(delete_id);
      if (!del) {
        Result<Value> params = Value::FromJson(RunParams(obj).dump());
        if (!params.ok()) return params.status();
        RETURN_IF_ERROR(options_.engine->StartRun(delete_id, options_.kind.delete_workflow,
                                                  std::move(*params)));
        return WriteStatus(obj, status);
      }
      TimePoint now = options_.env->Now();
      if (!IsFinished(del->state)) {
        for (const auto& m : Members(obj)) {
          if (m && protocol::IsConditionTrue(*m, "CleanFailed")) {
            protocol::SetCondition(&status, "CleanFailed", "", "", now);
            break;
          }
        }
        return WriteStatus(obj, status);
      }
      if (del->state != RunState::kSucceeded) {
        FailureText f = RunFailure(*del, "CleanFailed");
        protocol::SetCondition(&status, "CleanFailed", f.reason, f.message, now);
        Event(obj, "Warning", "CleanFailed", f.message);
        return WriteStatus(obj, status);
      }
    }
    protocol::SetCondition(&status, "Cleaned", "", "",
                           options_.env->Now());
    Event(obj, "Normal", "Cleaned", options_.kind.kind + " members deleted");
    return WriteStatus(obj, status);  // the update event brings it back to remove the finalizer
  }
  json copy = obj;
  json kept = json::array();
  for (const json& f : copy["metadata"]["finalizers"]) {
    if (!(f.is_string() && f.get<std::string>() == options_.kind.finalizer)) kept.push_back(f);
  }
  copy["metadata"]["finalizers"] = kept;
  Status s = Replace(copy);
  if (s.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    views_.erase(uid);
    views_.erase(uid + kDeleteSuffix);
    key_by_uid_.erase(uid);
  }
  return s.code() == StatusCode::kNotFound ? Status::OK() : s;
}

Status Controller::WriteStatus(const json& obj, const json& status) {
  if (obj.contains("status") && obj["status"] == status) return Status::OK();
  json copy = obj;
  copy["status"] = status;
  RETURN_IF_ERROR(Replace(copy));
  {
    std::lock_guard<std::mutex> l(mu_);
    ++status_writes_;
  }
  if (options_.on_status_written) options_.on_status_written(obj, status);
  return Status::OK();
}

Status Controller::Replace(const json& obj) {
  Result<json> written = options_.control_plane->Update(
      options_.kind.resource, protocol::StringAt(obj, {"metadata", "namespace"}), obj);
  return written.status();
}

}  // namespace brfed::manager
