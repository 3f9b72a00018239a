// Kubernetes Events (core/v1) on federation objects, for `kubectl describe`.
//
//   RecordEvent(control_plane, env->Now(), {vbk, "Warning", "InvalidSpec", "spec.clusters: ..."});
#pragma once

#include "brfed/env.h"
#include "brfed/status.h"
#include "kube/client.h"
#include "manager/controller.h"

namespace brfed::manager {

// Posts one Event about e.object in its namespace. Best effort: the Status is for logging.
Status RecordEvent(kube::Client* client, TimePoint now, const ObjectEvent& e);

}  // namespace brfed::manager
