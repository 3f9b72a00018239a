// SimCloud: everything outside Kubernetes that the simulated tidb-operators of one Simulator
// share — PD (GC/scheduling pause, TSO), EBS snapshots and S3 objects.
//
//   SimCloud cloud;                       // one per Simulator, outlives every operator
//   DataPlaneOperator op(&store, &cloud, options);
//   EXPECT_FALSE(cloud.pd.AnyPaused());
//   EXPECT_TRUE(cloud.ebs.List("k8s-1").empty());
//
// Thread-safe (each member is).
#pragma once

#include <chrono>
#include <functional>
#include <utility>

#include "tools/kube-sim/operator/ebs_registry.h"
#include "tools/kube-sim/operator/object_storage.h"
#include "tools/kube-sim/operator/pd_state.h"

namespace brfed::kubesim::op {

struct SimCloud {
  explicit SimCloud(std::function<Clock::time_point()> now = nullptr) : pd(std::move(now)) {}
  SimCloud(const SimCloud&) = delete;
  SimCloud& operator=(const SimCloud&) = delete;

  PdState pd;
  EbsRegistry ebs;
  ObjectStorage storage;
};

}  // namespace brfed::kubesim::op
