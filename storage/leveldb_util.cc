#include "storage/leveldb_util.h"

#include <string>

namespace brfed::storage {

Status FromLevelDb(const leveldb::Status& s, std::string_view context) {
  if (s.ok()) return Status::OK();
  std::string m(context);
  m += ": ";
  m += s.ToString();
  if (s.IsCorruption()) return DataLossError(std::move(m));
  if (s.IsNotFound()) return NotFoundError(std::move(m));
  if (s.IsInvalidArgument()) return InvalidArgumentError(std::move(m));
  if (s.IsNotSupportedError()) return UnimplementedError(std::move(m));
  return UnavailableError(std::move(m));  // IOError: the disk, retry later or elsewhere
}

bool IsLockError(const leveldb::Status& s) {
  // leveldb/util/env_posix.cc: "lock <dir>/LOCK: already held by process" within this process,
  // "lock <dir>/LOCK: Resource temporarily unavailable" (flock) from another one.
  if (!s.IsIOError()) return false;
  std::string m = s.ToString();
  return m.find("lock ") != std::string::npos && m.find("/LOCK") != std::string::npos;
}

}  // namespace brfed::storage
