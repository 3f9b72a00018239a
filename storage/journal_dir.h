// The journal directory: created 0700, tightened to 0700 when wider. Internal to storage/.
#pragma once

#include <string>

#include "brfed/status.h"

namespace brfed::storage {

// Makes `dir` an existing directory with mode 0700 owned by us. Creates it and its missing
// parents (each 0700) when `create` is true, else kNotFound when it is absent. An existing
// directory open to group or others is chmod-ed to 0700; kPermissionDenied when that fails.
// kFailedPrecondition when `dir` exists and is not a directory.
Status PrepareJournalDir(const std::string& dir, bool create);

}  // namespace brfed::storage
