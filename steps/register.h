// Registration of the federation actions (kube.*, backup.*, restore.*).
//
//   StepRegistry registry;
//   RETURN_IF_ERROR(RegisterTestSteps(&registry));
//   RETURN_IF_ERROR(steps::RegisterFederationSteps(&registry));
//
// The steps find the data planes through ctx.services().Get<steps::DataPlanes>().
#pragma once

#include "brfed/status.h"
#include "brfed/step.h"

namespace brfed::steps {

// Every federation action below.
Status RegisterFederationSteps(StepRegistry* registry);

Status RegisterRbacCheck(StepRegistry* registry);
Status RegisterBackupSteps(StepRegistry* registry);
Status RegisterRestoreSteps(StepRegistry* registry);

}  // namespace brfed::steps
