#include "storage/journal_dir.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace brfed::storage {
namespace {

std::string Errno(int e) { return std::strerror(e); }

std::string Octal(unsigned mode) {
  char b[8];
  std::snprintf(b, sizeof(b), "%04o", mode);
  return b;
}

Status MakeDirs(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) return Status::OK();
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash)));
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    int e = errno;
    if (e == EACCES || e == EPERM) {
      return PermissionDeniedError("journal: mkdir " + dir + ": " + Errno(e));
    }
    return UnavailableError("journal: mkdir " + dir + ": " + Errno(e));
  }
  return Status::OK();
}

}  // namespace

Status PrepareJournalDir(const std::string& dir, bool create) {
  if (dir.empty()) return InvalidArgumentError("journal: no directory given");
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    int e = errno;
    if (e != ENOENT) return UnavailableError("journal: stat " + dir + ": " + Errno(e));
    if (!create) return NotFoundError("journal " + dir + " does not exist");
    RETURN_IF_ERROR(MakeDirs(dir));
    if (::stat(dir.c_str(), &st) != 0) {
      return UnavailableError("journal: stat " + dir + ": " + Errno(errno));
    }
  }
  if (!S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("journal " + dir + " exists and is not a directory");
  }
  // The umask may have narrowed mkdir's 0700; it cannot widen it. Anything open to group or
  // others is closed: the journal holds workflow parameters.
  if ((st.st_mode & 0077) != 0 || (st.st_mode & 0700) != 0700) {
    if (::chmod(dir.c_str(), 0700) != 0) {
      int e = errno;
      return PermissionDeniedError("journal " + dir + " has mode " + Octal(st.st_mode & 0777) +
                                   " and cannot be made 0700: " + Errno(e));
    }
  }
  return Status::OK();
}

}  // namespace brfed::storage
