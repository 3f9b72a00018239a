// How brfedctl opens a journal directory.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Journal> j, OpenJournalForTool(dir, JournalUse::kRead));
//
// kRead (inspect, replay, verify, graph) never creates anything: a directory that does not
// exist or holds no journal is kNotFound naming it. The LevelDB journal is locked by the
// process that has it open, so while a manager or a `brfedctl run` uses `dir` the offline
// commands get kUnavailable saying so, and leave the journal untouched.
// kReadWrite (run) creates the directory (0700) when missing.
#pragma once

#include <memory>
#include <string>

#include "brfed/journal.h"
#include "brfed/status.h"

namespace brfed::ctl {

enum class JournalUse { kRead, kReadWrite };

Result<std::unique_ptr<Journal>> OpenJournalForTool(const std::string& dir, JournalUse use);

}  // namespace brfed::ctl
