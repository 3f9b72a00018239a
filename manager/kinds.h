// The two kinds of federation object brfed drives, and the built-in workflows they run.
//
//   ASSIGN_OR_RETURN(Workflows wf, LoadWorkflows(registry, flags.workflows_dir));
//   KindSpec vbk = BackupKind(wf);
#pragma once

#include <memory>
#include <string>

#include "brfed/status.h"
#include "brfed/step.h"
#include "brfed/workflow.h"
#include "manager/controller.h"

namespace brfed::manager {

struct Workflows {
  std::shared_ptr<const Workflow> volume_backup;
  std::shared_ptr<const Workflow> volume_backup_delete;
  std::shared_ptr<const Workflow> volume_restore;
  std::shared_ptr<const Workflow> volume_restore_delete;
};

// The workflows built into the binary, or, when `dir` is not empty, the files
// `<dir>/volume-backup.yaml` etc. instead. Errors name the file, line and column.
Result<Workflows> LoadWorkflows(const ActionCatalog& actions, const std::string& dir);

// The text of a built-in workflow by file name ("volume-backup.yaml"); empty when unknown.
std::string BuiltinWorkflowText(const std::string& file_name);

KindSpec BackupKind(const Workflows& workflows);
KindSpec RestoreKind(const Workflows& workflows);

}  // namespace brfed::manager
