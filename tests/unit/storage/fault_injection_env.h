// FaultInjectionEnv: a leveldb::Env for crash and disk-fault tests of the journal.
//
//   FaultInjectionEnv env;                    // over leveldb::Env::Default()
//   options.env = &env;
//   env.CrashAtWrite(17);                     // the 17th write and everything after it fails
//   ... run a workload, close the journal ...
//   ASSERT_TRUE(env.DropUnsyncedData().ok()); // the power goes out
//   env.ResetFaults();                        // reopen and check what survived
//
// It forwards to the real filesystem and remembers, for every file written through it, how many
// bytes were appended and how many were synced. A "write" is one Append or Sync call on such a
// file. Faults:
// - CrashAtWrite(n): the nth write fails and so does every later write, file creation, rename
//   and removal — the process is dead as far as the disk is concerned.
// - FailSyncAt(n) / FailAppendAt(n): only the nth Sync / Append call fails (an EIO).
// - DropUnsyncedData(): what a power loss leaves: each tracked file is cut back to its synced
//   length, and a file never synced is removed (its directory entry was never made durable).
//   LevelDB assumes, as ext4 provides, that syncing a new file makes its name durable too; this
//   Env models exactly that. Renames and removals are durable at once.
// Thread-safe: LevelDB writes from its compaction thread too.
#pragma once

#include <leveldb/env.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace brfed::storage::testing {

class FaultInjectionEnv final : public leveldb::EnvWrapper {
 public:
  FaultInjectionEnv() : EnvWrapper(leveldb::Env::Default()) {}

  void CrashAtWrite(uint64_t n);
  void FailSyncAt(uint64_t n);
  void FailAppendAt(uint64_t n);
  // Clears every fault and the crashed state; counters restart at 0. File states are kept.
  void ResetFaults();

  uint64_t writes() const;  // Append + Sync calls since the last ResetFaults
  uint64_t syncs() const;
  bool crashed() const;

  // Cuts every tracked file back to its synced length and removes never-synced files, then
  // forgets them all. REQUIRES: nothing is writing (the database is closed).
  leveldb::Status DropUnsyncedData();

  leveldb::Status NewWritableFile(const std::string& f, leveldb::WritableFile** r) override;
  leveldb::Status NewAppendableFile(const std::string& f, leveldb::WritableFile** r) override;
  leveldb::Status RenameFile(const std::string& s, const std::string& t) override;
  leveldb::Status RemoveFile(const std::string& f) override;

 private:
  class File;
  friend class File;
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
    bool ever_synced = false;
  };

  // What a File asks before each operation; IOError when the operation must fail.
  leveldb::Status BeforeAppend(const std::string& name);
  leveldb::Status BeforeSync(const std::string& name);
  void Appended(const std::string& name, uint64_t n);
  void Synced(const std::string& name);
  leveldb::Status Dead(const std::string& what) const;

  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;
  uint64_t writes_ = 0, appends_ = 0, syncs_ = 0;
  uint64_t crash_at_write_ = 0, fail_sync_at_ = 0, fail_append_at_ = 0;
  bool crashed_ = false;
};

}  // namespace brfed::storage::testing
