#include "manager/kinds.h"

#include <fstream>
#include <sstream>

#include "manager/builtin_workflows.h"
#include "steps/protocol/members.h"

namespace brfed::manager {

namespace {

Result<std::shared_ptr<const Workflow>> LoadOne(const ActionCatalog& actions,
                                                const std::string& dir, const std::string& file) {
  std::string text;
  std::string name = file;
  if (dir.empty()) {
    text = BuiltinWorkflowText(file);
    name = "builtin:" + file;
  } else {
    name = dir + "/" + file;
    std::ifstream in(name);
    if (!in) return NotFoundError("workflows: cannot read " + name);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  ASSIGN_OR_RETURN(Workflow wf, LoadWorkflow(text, name, actions));
  return std::shared_ptr<const Workflow>(std::make_shared<Workflow>(std::move(wf)));
}

}  // namespace

std::string BuiltinWorkflowText(const std::string& file_name) {
  for (size_t i = 0; i < kBuiltinWorkflowCount; ++i) {
    if (file_name == kBuiltinWorkflows[i].file) return kBuiltinWorkflows[i].text;
  }
  return "";
}

Result<Workflows> LoadWorkflows(const ActionCatalog& actions, const std::string& dir) {
  Workflows w;
  ASSIGN_OR_RETURN(w.volume_backup, LoadOne(actions, dir, "volume-backup.yaml"));
  ASSIGN_OR_RETURN(w.volume_backup_delete, LoadOne(actions, dir, "volume-backup-delete.yaml"));
  ASSIGN_OR_RETURN(w.volume_restore, LoadOne(actions, dir, "volume-restore.yaml"));
  ASSIGN_OR_RETURN(w.volume_restore_delete, LoadOne(actions, dir, "volume-restore-delete.yaml"));
  return w;
}

KindSpec BackupKind(const Workflows& workflows) {
  KindSpec k;
  k.kind = "VolumeBackup";
  k.controller_name = "volumeBackup";
  k.resource = kube::kVolumeBackups;
  k.member_resource = kube::kBackups;
  k.finalizer = protocol::kBackupFinalizer;
  k.workflow = workflows.volume_backup;
  k.delete_workflow = workflows.volume_backup_delete;
  k.validate = protocol::ValidateVolumeBackup;
  k.project = ProjectBackupStatus;
  return k;
}

KindSpec RestoreKind(const Workflows& workflows) {
  KindSpec k;
  k.kind = "VolumeRestore";
  k.controller_name = "volumeRestore";
  k.resource = kube::kVolumeRestores;
  k.member_resource = kube::kRestores;
  k.finalizer = protocol::kRestoreFinalizer;
  k.workflow = workflows.volume_restore;
  k.delete_workflow = workflows.volume_restore_delete;
  k.validate = protocol::ValidateVolumeRestore;
  k.project = ProjectRestoreStatus;
  return k;
}

}  // namespace brfed::manager
