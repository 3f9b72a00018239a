#include "tools/brfedctl/journal_access.h"

#include <filesystem>

#include "storage/journal.h"

namespace brfed::ctl {

Result<std::unique_ptr<Journal>> OpenJournalForTool(const std::string& dir, JournalUse use) {
  if (dir.empty()) return InvalidArgumentError("--journal is empty");
  if (use == JournalUse::kRead) {
    // Say plainly what is wrong rather than what LevelDB found missing.
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
      return NotFoundError("journal " + dir + ": no such directory");
    }
    if (!std::filesystem::is_directory(dir, ec)) {
      return InvalidArgumentError("journal " + dir + ": not a directory");
    }
  }
  JournalOptions options;
  options.dir = dir;
  options.create_if_missing = use == JournalUse::kReadWrite;
  Result<std::unique_ptr<Journal>> journal = OpenJournal(options);
  if (journal.ok()) return journal;
  const Status& s = journal.status();
  switch (s.code()) {
    case StatusCode::kNotFound:
      return NotFoundError("journal " + dir + ": holds no journal (" + s.message() + ")");
    case StatusCode::kUnavailable:
      // Most often the LOCK: a manager or `brfedctl run` has the journal open. Offline
      // commands cannot read it meanwhile; they leave it alone.
      return UnavailableError(s.message() +
                              (use == JournalUse::kRead
                                   ? " (stop the manager or the `brfedctl run` using it, or "
                                     "inspect a copy of the directory)"
                                   : ""));
    default:
      return s.WithContext("journal " + dir);
  }
}

}  // namespace brfed::ctl
