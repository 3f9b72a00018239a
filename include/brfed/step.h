// Step: an idempotent reconciler implementing one workflow action.
//
//   class SleepStep final : public Step {
//    public:
//     StepResult Reconcile(StepContext& ctx) override {
//       TimePoint until = ctx.attempt_started_at() + duration;
//       if (ctx.now() >= until) return Done{};
//       return Wait{.recheck_after = until - ctx.now()};
//     }
//   };
//   StepRegistry registry;
//   registry.Register({"test.sleep", {"duration"}, {"duration"}}, std::make_unique<SleepStep>());
//
// Reconcile may be called any number of times for one attempt: after a watch event, a timer,
// a crash. It drives the world toward the step's goal and reports where it is. Steps are
// stateless; everything they decide on comes from the StepContext. Reconcile runs on a worker
// thread and may block on I/O, but must return promptly (waiting is done by returning Wait).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <variant>
#include <vector>

#include "brfed/env.h"
#include "brfed/status.h"
#include "brfed/string_hash.h"
#include "brfed/value.h"
#include "brfed/workflow.h"

namespace brfed {

// An object whose change should wake a waiting step: (cluster, resource, namespace, name).
// `resource` is "plural.group" ("backups.pingcap.com") or a core plural ("configmaps").
struct ObjectRef {
  std::string cluster;
  std::string resource;
  std::string ns;
  std::string name;
  friend bool operator==(const ObjectRef&, const ObjectRef&) = default;
  std::string ToString() const { return cluster + "/" + resource + "/" + ns + "/" + name; }
};

// The step reached its goal. Outputs become `steps.<id>.outputs` for dependent steps and are
// journaled before any dependent step starts.
struct Done {
  Value outputs = Value::Map{};
};

// Not there yet. The step is reconciled again when one of `wake_on` changes or after
// `recheck_after`, whichever is first. With neither, only an attempt timeout ends the wait.
// `observed` is a short text of what the step sees ("member k8s-2: execute"); a change of it
// is journaled for the timeline.
struct Wait {
  std::vector<ObjectRef> wake_on;
  std::optional<Duration> recheck_after;
  std::string observed;
};

// The attempt failed. A retryable failure is retried within the step's retry policy; a
// non-retryable one fails the step at once.
struct Fail {
  Status status;
  bool retryable = false;
};

using StepResult = std::variant<Done, Wait, Fail>;

// Objects the embedding program lends to steps (e.g. the manager's Kubernetes clients),
// looked up by type. Not owned. Filled before the engine starts; read-only afterwards.
class ServiceMap {
 public:
  template <typename T>
  void Put(T* service) {
    services_[std::type_index(typeid(T))] = service;
  }
  // nullptr when no T was put.
  template <typename T>
  T* Get() const {
    auto it = services_.find(std::type_index(typeid(T)));
    return it == services_.end() ? nullptr : static_cast<T*>(it->second);
  }

 private:
  std::unordered_map<std::type_index, void*> services_;
};

// What one Reconcile call sees. Valid only during that call.
class StepContext {
 public:
  virtual ~StepContext() = default;

  virtual const std::string& run_id() const = 0;
  virtual const std::string& step_id() const = 0;
  // Position in the step's forEach list, or -1 for a step without forEach.
  virtual int item_index() const = 0;
  // The forEach item (null without forEach).
  virtual const Value& item() const = 0;
  // 1 for the first attempt.
  virtual int attempt() const = 0;
  // Identifies the step instance (run, step, item): the same for every attempt and after every
  // restart. Use it to name objects and to deduplicate side effects.
  virtual const std::string& idempotency_key() const = 0;
  // `with`, with every $(...) reference resolved.
  virtual const Value& with() const = 0;
  virtual const Value& params() const = 0;
  // When the current attempt started (journaled, so stable across restarts).
  virtual TimePoint attempt_started_at() const = 0;
  virtual TimePoint now() const = 0;
  virtual const ServiceMap& services() const = 0;
};

class Step {
 public:
  virtual ~Step() = default;
  virtual StepResult Reconcile(StepContext& ctx) = 0;
};

// Actions by name. Register everything before the engine starts; lookups are then thread-safe.
class StepRegistry final : public ActionCatalog {
 public:
  StepRegistry() = default;
  StepRegistry(const StepRegistry&) = delete;
  StepRegistry& operator=(const StepRegistry&) = delete;

  // kAlreadyExists when the action name is taken.
  Status Register(ActionSpec spec, std::unique_ptr<Step> step);

  const ActionSpec* FindAction(std::string_view name) const override;
  // nullptr when not registered.
  Step* FindStep(std::string_view name) const;
  std::vector<std::string> ActionNames() const;  // in name order

 private:
  struct Entry {
    ActionSpec spec;
    std::unique_ptr<Step> step;
  };
  // Searched with a view, without building a string: the engine looks up an action for every
  // attempt it runs.
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries_;
};

// Registers the built-in actions for trying workflows without a cluster:
//   test.noop {}                        done at once; outputs {}
//   test.sleep {duration}               done once `duration` has passed since the attempt began
//   test.fail {times, message?}         fails (retryable) its first `times` attempts, then done
//   test.append {path, text}            appends "<idempotency key> <text>\n" to `path` unless a
//                                        line starting with that key is already there
//   test.echo {value}                   done with outputs {value: <value>}
Status RegisterTestSteps(StepRegistry* registry);

}  // namespace brfed
