// Helpers between LevelDB and brfed types. Internal to storage/.
#pragma once

#include <leveldb/slice.h>
#include <leveldb/status.h>

#include <string_view>

#include "brfed/status.h"

namespace brfed::storage {

inline std::string_view ToView(const leveldb::Slice& s) { return {s.data(), s.size()}; }
inline leveldb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }

// "context: <leveldb message>" with the code that tells the caller what to do: Corruption is
// kDataLoss (the journal is damaged), an I/O error kUnavailable, NotFound kNotFound.
Status FromLevelDb(const leveldb::Status& s, std::string_view context);

// True for LevelDB's error when the LOCK file of a database is held.
bool IsLockError(const leveldb::Status& s);

}  // namespace brfed::storage
