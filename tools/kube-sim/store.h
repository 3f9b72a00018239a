// Store: the object store of one virtual Kubernetes cluster in kube-sim.
//
//   Store store(Store::Options{});
//   store.RegisterResource(backups_info);                 // from a CRD, or a built-in kind
//   ResourceKey bk{"pingcap.com", "v1alpha1", "backups"};
//   Result<nlohmann::json> created = store.Create(bk, "ns1", obj);
//   auto sub = store.Subscribe(bk, [](const WatchEvent& e) { queue.Push(e); });
//   Result<nlohmann::json> updated = store.Mutate(bk, "ns1", "b1", [](nlohmann::json& o) {
//     o["status"]["phase"] = "Running";
//     return Status::OK();
//   });
//
// Objects are nlohmann::json documents exactly as a client would see them; unknown fields are
// kept verbatim. The store implements the API-server rules of KUBE_API_SUBSET.md §5-§9: one
// global strictly increasing resourceVersion per cluster, uid and creationTimestamp on create,
// `generation` (custom resources only) bumped on changes outside metadata (and outside status
// when the status subresource is declared), optimistic concurrency, finalizers and
// deletionTimestamp, label and field selectors, paging, and a bounded history of change events
// from which watches resume (an older resourceVersion gets kOutOfRange, i.e. 410 Expired).
// A write that leaves the object JSON-equal is a no-op: no new resourceVersion, no event.
//
// Error codes (the HTTP layer maps them one to one):
//   kNotFound           404 NotFound        (object, namespace or resource type missing)
//   kAlreadyExists      409 AlreadyExists   (create of an existing name)
//   kAborted            409 Conflict        (stale resourceVersion, failed delete precondition)
//   kInvalidArgument    422 Invalid         (message "field.path: Detail: ...")
//   kFailedPrecondition 400 BadRequest      (name/namespace/kind mismatch, bad selector, bad token)
//   kOutOfRange         410 Expired         (watch or continue token older than the history)
//   kInternal           500                 (resourceVersion set on create, as the real server)
//
// Thread-safety: every method may be called from any thread. Subscribe callbacks run on the
// thread that made the write, after the store's lock is released, one at a time and in
// resourceVersion order; a callback may call back into the store (events caused by its own
// writes are delivered after it returns). Callbacks must be quick: they delay the writer.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "brfed/status.h"

namespace brfed::kubesim {

// Names one resource type: group ("" for core), version and plural ("backups").
struct ResourceKey {
  std::string group;
  std::string version;
  std::string plural;

  // "backups.pingcap.com", or "pods" for the core group.
  std::string GroupResource() const;
  // "pingcap.com/v1alpha1", or "v1" for the core group.
  std::string GroupVersion() const;

  friend auto operator<=>(const ResourceKey&, const ResourceKey&) = default;
  friend bool operator==(const ResourceKey&, const ResourceKey&) = default;
};

// One printer column of a CRD (`additionalPrinterColumns`).
struct PrinterColumn {
  std::string name;
  std::string type;         // string, integer, number, boolean, date
  std::string format;
  std::string description;
  std::string json_path;    // ".status.phase"
  int priority = 0;
};

// Everything the server needs to know about a resource type: discovery, scope, printing and
// the generation/status rules.
struct ResourceInfo {
  ResourceKey key;
  std::string kind;              // "Backup"
  std::string list_kind;         // "BackupList"
  std::string singular;          // "backup"
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<std::string> verbs = {"create", "delete", "deletecollection", "get",
                                    "list",   "patch",  "update",           "watch"};
  bool namespaced = true;
  bool status_subresource = false;  // CRD `subresources.status` declared
  bool has_generation = true;       // custom resources: true; Lease, Event, ...: false
  bool custom = true;               // served from a CRD (affects delete answers, 415 on SMP)
  std::vector<PrinterColumn> printer_columns;
};

// Builds a ResourceInfo for every served version of a CustomResourceDefinition object
// (apiextensions.k8s.io/v1, as JSON). kInvalidArgument names the missing field.
Result<std::vector<ResourceInfo>> ResourceInfosFromCrd(const nlohmann::json& crd);

enum class EventType { kAdded, kModified, kDeleted };
// "ADDED", "MODIFIED", "DELETED".
const char* EventTypeName(EventType type);

// One change of one object, as kept in the history and handed to subscribers.
struct WatchEvent {
  EventType type = EventType::kAdded;
  ResourceKey resource;
  uint64_t resource_version = 0;
  nlohmann::json object;                    // new state; for kDeleted the final state
  std::optional<nlohmann::json> old_object; // previous state (kModified, kDeleted)
};

// A parsed labelSelector (=, ==, !=, in, notin, exists, !exists; comma = AND).
class LabelSelector {
 public:
  // kFailedPrecondition on a syntax error ("unable to parse requirement: ...").
  static Result<LabelSelector> Parse(std::string_view text);
  bool Matches(const nlohmann::json& labels) const;  // labels: object or null
  bool empty() const { return reqs_.empty(); }

 private:
  struct Requirement {
    enum class Op { kEq, kNotEq, kIn, kNotIn, kExists, kNotExists } op;
    std::string key;
    std::vector<std::string> values;
  };
  std::vector<Requirement> reqs_;
};

// A parsed fieldSelector (=, ==, != over the fields allowed for the resource).
class FieldSelector {
 public:
  // `events` enables the Event fields (involvedObject.*, reason, source, type).
  // kFailedPrecondition for a bad term or "field label not supported: spec.foo".
  static Result<FieldSelector> Parse(std::string_view text, bool events);
  bool Matches(const nlohmann::json& object) const;
  bool empty() const { return reqs_.empty(); }

 private:
  struct Requirement {
    std::string field;
    bool equal = true;
    std::string value;
  };
  std::vector<Requirement> reqs_;
};

class Store {
 public:
  struct Options {
    // Change events kept for watch resumption. Older resourceVersions get 410.
    size_t history_limit = 10000;
    // Clock for creationTimestamp/deletionTimestamp; defaults to system_clock::now.
    std::function<std::chrono::system_clock::time_point()> now;
    // When false, writes into a namespace that has no Namespace object create it implicitly.
    bool strict_namespaces = false;
  };

  struct ListOptions {
    std::string label_selector;
    std::string field_selector;
    int64_t limit = 0;            // 0 = everything
    std::string continue_token;   // from a previous ListResult
  };
  struct ListResult {
    std::vector<nlohmann::json> items;  // sorted by namespace/name
    uint64_t resource_version = 0;      // the store's resourceVersion at the time of the list
    std::string continue_token;         // empty on the last page
    int64_t remaining_item_count = 0;   // meaningful only with a continue token
  };

  struct UpdateOptions {
    // Write through the status subresource: only .status changes. REQUIRES: the resource
    // declares it (else kNotFound).
    bool status_subresource = false;
    // PUT semantics: metadata.resourceVersion must be present (else kInvalidArgument).
    // With false, a present resourceVersion still acts as a precondition (PATCH semantics).
    bool require_resource_version = true;
  };

  struct DeleteOptions {
    std::optional<std::string> precondition_uid;
    std::optional<std::string> precondition_resource_version;
  };
  struct DeleteResult {
    nlohmann::json object;  // final state, or the state with deletionTimestamp set
    bool removed = false;   // false when finalizers keep the object
  };

  explicit Store(Options options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // ---- resource types ----
  // Adds or replaces a resource type. Objects of a replaced type are kept.
  void RegisterResource(const ResourceInfo& info);
  // Removes a type (CRD deleted) and all its objects (no events).
  void UnregisterResource(const ResourceKey& key);
  std::optional<ResourceInfo> FindResource(const ResourceKey& key) const;
  // Finds by group and plural, any version.
  std::optional<ResourceInfo> FindResource(std::string_view group, std::string_view plural) const;
  std::vector<ResourceInfo> Resources() const;

  // ---- objects ----
  // `ns` is ignored (must be "") for cluster-scoped types.
  Result<nlohmann::json> Get(const ResourceKey& key, const std::string& ns,
                             const std::string& name) const;
  // `ns` "" lists every namespace.
  Result<ListResult> List(const ResourceKey& key, const std::string& ns,
                          const ListOptions& options) const;
  // Sets uid, resourceVersion, creationTimestamp, generation (1), defaults apiVersion/kind,
  // namespace, honours metadata.generateName. Returns the stored object.
  Result<nlohmann::json> Create(const ResourceKey& key, const std::string& ns,
                                nlohmann::json object);
  // Replaces the object (PUT). Server-owned metadata is kept. Removes the object when it is
  // being deleted and the new finalizer list is empty (then the result is the final state).
  Result<nlohmann::json> Update(const ResourceKey& key, const std::string& ns,
                                const std::string& name, nlohmann::json object,
                                const UpdateOptions& options);
  // Atomic read-modify-write: `mutate` edits a copy of the current object; the result is
  // written with Update semantics (PATCH: resourceVersion optional, precondition if present).
  // A non-OK Status from `mutate` is returned unchanged and nothing is written.
  Result<nlohmann::json> Mutate(const ResourceKey& key, const std::string& ns,
                                const std::string& name,
                                const std::function<Status(nlohmann::json&)>& mutate,
                                bool status_subresource = false);
  // Deletes, or marks for deletion when finalizers are present (deletionTimestamp,
  // deletionGracePeriodSeconds 0, generation +1).
  Result<DeleteResult> Delete(const ResourceKey& key, const std::string& ns,
                              const std::string& name, const DeleteOptions& options);

  // ---- namespaces ----
  // True when a Namespace object exists or strict_namespaces is off.
  bool NamespaceExists(const std::string& ns) const;

  // ---- change events ----
  // The current (latest) resourceVersion of the cluster.
  uint64_t resource_version() const;
  // Events with resource_version > `after`, of `key` (all types when key.plural is empty),
  // in order. kOutOfRange ("too old resource version: A (B)") when history older than `after`
  // has been dropped.
  Result<std::vector<WatchEvent>> EventsSince(const ResourceKey& key, uint64_t after) const;
  // The same; also stores in *observed the resource_version() the answer is complete up to.
  Result<std::vector<WatchEvent>> EventsSince(const ResourceKey& key, uint64_t after,
                                              uint64_t* observed) const;
  // Blocks until resource_version() > after, `deadline` passes or `*cancelled` is true
  // (checked whenever the store wakes waiters; WakeAllWaiters() forces a check).
  // Returns resource_version().
  uint64_t WaitForChange(uint64_t after, std::chrono::steady_clock::time_point deadline,
                         const std::function<bool()>& cancelled) const;
  void WakeAllWaiters() const;
  // Drops the whole event history: every watch from an older resourceVersion gets 410.
  void CompactHistory();

  // In-process watcher. The callback sees every event of `key` (all types when key.plural is
  // empty) after the Subscription was created. Destroying the Subscription unsubscribes; it
  // waits for a running callback to finish unless called from inside that callback.
  class Subscription {
   public:
    virtual ~Subscription() = default;
  };
  using Callback = std::function<void(const WatchEvent&)>;
  std::unique_ptr<Subscription> Subscribe(const ResourceKey& key, Callback callback);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- helpers shared by the server and the simulated operator ----

// Registers the built-in types kube-sim serves: core v1 (namespaces, events, serviceaccounts,
// secrets, configmaps, pods, services, persistentvolumeclaims, persistentvolumes, nodes),
// coordination.k8s.io/v1 leases, events.k8s.io/v1 events, rbac.authorization.k8s.io/v1 kinds,
// apps/v1 deployments and statefulsets, batch/v1 jobs, apiextensions.k8s.io/v1
// customresourcedefinitions and authorization.k8s.io/v1 selfsubjectaccessreviews.
void RegisterBuiltinResources(Store* store);

// RFC 3339 in UTC with whole seconds: "2024-05-01T10:00:00Z".
std::string FormatTime(std::chrono::system_clock::time_point t);
// Parses RFC 3339 with an optional fraction and a Z or ±hh:mm zone.
std::optional<std::chrono::system_clock::time_point> ParseTime(std::string_view text);
// kube's HumanDuration: "5s", "5m3s", "2d", ...
std::string HumanDuration(std::chrono::system_clock::duration d);
// Random RFC 4122 version 4 UUID.
std::string NewUid();

}  // namespace brfed::kubesim
