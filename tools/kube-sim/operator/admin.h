// The simulated operator's admin routes, served on each data-plane cluster next to kube-sim's
// own /admin routes (same authentication). All answers are JSON.
//
//   GET    /admin/operator                 this operator: options, faults, job states
//   GET    /admin/operator/config          the options (options.h keys)
//   POST   /admin/operator/config          merge options, e.g. {"stepDelay":"1s",
//                                          "delays":{"execute":"5s"}}; answers the new ones
//   GET    /admin/operator/fail            the active faults
//   POST   /admin/operator/fail            add a fault: {"phase":"execute",
//                                          "condition"?:"Failed","name"?:"fed-vb1","count"?:1}
//   DELETE /admin/operator/fail            clear every fault (also POST /admin/operator/fail/clear)
//   GET    /admin/operator/pause           the shared PD pause state of every logical cluster
//   GET    /admin/ebs/snapshots            this data plane's EBS snapshots with tags
//                                          (?all=1: every data plane's)
//   GET    /admin/s3/objects               the fake S3 (?prefix=s3://bucket/p)
//
//   curl -s -X POST $URL/admin/operator/fail -d '{"phase":"execute"}'
#pragma once

#include "tools/kube-sim/operator/operator.h"
#include "tools/kube-sim/operator/sim_cloud.h"
#include "tools/kube-sim/simulator.h"

namespace brfed::kubesim::op {

// Registers the routes above on `cluster`. `op` and `cloud` must outlive the cluster's server.
// REQUIRES: called from a cluster hook.
void AddOperatorAdminRoutes(ClusterContext& cluster, DataPlaneOperator* op, SimCloud* cloud);

}  // namespace brfed::kubesim::op
