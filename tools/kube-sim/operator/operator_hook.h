// Attaching the simulated tidb-operator to kube-sim's data-plane clusters.
//
//   // tests: one SimCloud they can inspect
//   auto cloud = std::make_shared<op::SimCloud>();
//   SimulatorOptions options;
//   options.use_global_hooks = false;
//   options.cluster_hooks.push_back(op::MakeOperatorHook(cloud));
//
//   // the kube-sim binary, before Simulator::Start:
//   op::RegisterOperatorGlobalHook();
//
// Every cluster whose role is "data-plane" gets a DataPlaneOperator configured from the
// cluster's `operator:` config mapping (options.h) and the admin routes of admin.h.
#pragma once

#include <functional>
#include <memory>

#include "tools/kube-sim/operator/operator.h"
#include "tools/kube-sim/operator/sim_cloud.h"
#include "tools/kube-sim/simulator.h"

namespace brfed::kubesim::op {

// All operators the hook creates share `cloud` (one logical TiDB cluster, one PD, one S3);
// each holds a reference, so it lives as long as the last of them. `on_attach`, if set, is
// called with every operator created (tests use it to reach them); the operator lives until
// the Simulator stops.
ClusterHook MakeOperatorHook(std::shared_ptr<SimCloud> cloud,
                             std::function<void(DataPlaneOperator*)> on_attach = nullptr);

// Registers a global hook (once per process, later calls do nothing) that gives every
// Simulator its own SimCloud shared by that Simulator's data planes.
void RegisterOperatorGlobalHook();

}  // namespace brfed::kubesim::op
