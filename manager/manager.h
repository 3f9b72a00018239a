// Manager: the br-federation-manager daemon — health endpoint, leader election, journal,
// engine, data-plane watches and the VolumeBackup / VolumeRestore controllers.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Manager> m, Manager::Create(options, Env::Default()));
//   Status s = m->Run(&stop);   // OK when stopped; kAborted when leadership was lost
//
// Every replica serves /healthz, /readyz and /metrics. Only the lease holder opens the journal
// and acts; a replica that loses the lease stops acting (before the lease can expire) and Run
// returns kAborted, so the process exits and restarts clean, as upstream does.
#pragma once

#include <memory>

#include "brfed/env.h"
#include "brfed/status.h"
#include "kube/stop_signal.h"
#include "manager/metrics.h"
#include "manager/options.h"

namespace brfed::manager {

class Manager {
 public:
  static Result<std::unique_ptr<Manager>> Create(ManagerOptions options, Env* env);
  virtual ~Manager() = default;

  // Blocks until `stop` fires (OK) or leadership is lost (kAborted). Errors setting up (journal
  // locked, health port taken, ...) are returned as they happen.
  virtual Status Run(kube::StopSignal* stop) = 0;

  virtual Metrics& metrics() = 0;
  // The bound health port once Run has started serving (0 before).
  virtual int health_port() const = 0;
  // True while this replica leads and its caches are synced.
  virtual bool ready() const = 0;
};

}  // namespace brfed::manager
