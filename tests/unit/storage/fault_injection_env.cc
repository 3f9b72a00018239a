#include "tests/unit/storage/fault_injection_env.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace brfed::storage::testing {

// A WritableFile that reports every Append and Sync to its Env before forwarding it.
class FaultInjectionEnv::File final : public leveldb::WritableFile {
 public:
  File(FaultInjectionEnv* env, std::string name, leveldb::WritableFile* target)
      : env_(env), name_(std::move(name)), target_(target) {}

  leveldb::Status Append(const leveldb::Slice& data) override {
    leveldb::Status s = env_->BeforeAppend(name_);
    if (!s.ok()) return s;
    s = target_->Append(data);
    if (s.ok()) env_->Appended(name_, data.size());
    return s;
  }
  leveldb::Status Close() override { return target_->Close(); }
  leveldb::Status Flush() override {
    if (env_->crashed()) return env_->Dead("flush " + name_);
    return target_->Flush();
  }
  leveldb::Status Sync() override {
    leveldb::Status s = env_->BeforeSync(name_);
    if (!s.ok()) return s;
    s = target_->Sync();
    if (s.ok()) env_->Synced(name_);
    return s;
  }

 private:
  FaultInjectionEnv* env_;
  std::string name_;
  std::unique_ptr<leveldb::WritableFile> target_;
};

void FaultInjectionEnv::CrashAtWrite(uint64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  crash_at_write_ = n;
}

void FaultInjectionEnv::FailSyncAt(uint64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  fail_sync_at_ = n;
}

void FaultInjectionEnv::FailAppendAt(uint64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  fail_append_at_ = n;
}

void FaultInjectionEnv::ResetFaults() {
  std::lock_guard<std::mutex> l(mu_);
  writes_ = appends_ = syncs_ = 0;
  crash_at_write_ = fail_sync_at_ = fail_append_at_ = 0;
  crashed_ = false;
}

uint64_t FaultInjectionEnv::writes() const {
  std::lock_guard<std::mutex> l(mu_);
  return writes_;
}

uint64_t FaultInjectionEnv::syncs() const {
  std::lock_guard<std::mutex> l(mu_);
  return syncs_;
}

bool FaultInjectionEnv::crashed() const {
  std::lock_guard<std::mutex> l(mu_);
  return crashed_;
}

leveldb::Status FaultInjectionEnv::Dead(const std::string& what) const {
  return leveldb::Status::IOError(what, "injected crash: the process is dead");
}

leveldb::Status FaultInjectionEnv::BeforeAppend(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (crashed_) return Dead("append " + name);
  ++writes_;
  ++appends_;
  if (crash_at_write_ != 0 && writes_ >= crash_at_write_) {
    crashed_ = true;
    return Dead("append " + name);
  }
  if (appends_ == fail_append_at_) {
    return leveldb::Status::IOError("append " + name, "injected append failure");
  }
  return leveldb::Status::OK();
}

leveldb::Status FaultInjectionEnv::BeforeSync(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (crashed_) return Dead("sync " + name);
  ++writes_;
  ++syncs_;
  if (crash_at_write_ != 0 && writes_ >= crash_at_write_) {
    crashed_ = true;
    return Dead("sync " + name);
  }
  if (syncs_ == fail_sync_at_) {
    return leveldb::Status::IOError("sync " + name, "injected fsync failure");
  }
  return leveldb::Status::OK();
}

void FaultInjectionEnv::Appended(const std::string& name, uint64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  files_[name].size += n;
}

void FaultInjectionEnv::Synced(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  FileState& f = files_[name];
  f.synced = f.size;
  f.ever_synced = true;
}

leveldb::Status FaultInjectionEnv::NewWritableFile(const std::string& f,
                                                   leveldb::WritableFile** r) {
  *r = nullptr;
  if (crashed()) return Dead("create " + f);
  leveldb::WritableFile* file = nullptr;
  leveldb::Status s = target()->NewWritableFile(f, &file);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> l(mu_);
    files_[f] = FileState{};  // truncated: nothing of it is durable yet
  }
  *r = new File(this, f, file);
  return s;
}

leveldb::Status FaultInjectionEnv::NewAppendableFile(const std::string& f,
                                                     leveldb::WritableFile** r) {
  *r = nullptr;
  if (crashed()) return Dead("open " + f);
  uint64_t existing = 0;
  bool exists = target()->FileExists(f);
  if (exists && !target()->GetFileSize(f, &existing).ok()) existing = 0;
  leveldb::WritableFile* file = nullptr;
  leveldb::Status s = target()->NewAppendableFile(f, &file);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (files_.count(f) == 0) {
      // What is already there survived whatever happened before: treat it as synced.
      files_[f] = FileState{existing, existing, exists};
    }
  }
  *r = new File(this, f, file);
  return s;
}

leveldb::Status FaultInjectionEnv::RenameFile(const std::string& s, const std::string& t) {
  if (crashed()) return Dead("rename " + s);
  leveldb::Status st = target()->RenameFile(s, t);
  if (!st.ok()) return st;
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(s);
  if (it == files_.end()) {
    files_.erase(t);
  } else {
    files_[t] = it->second;
    files_.erase(s);
  }
  return st;
}

leveldb::Status FaultInjectionEnv::RemoveFile(const std::string& f) {
  if (crashed()) return Dead("remove " + f);
  leveldb::Status s = target()->RemoveFile(f);
  if (s.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    files_.erase(f);
  }
  return s;
}

leveldb::Status FaultInjectionEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [name, state] : files_) {
    if (!target()->FileExists(name)) continue;
    if (!state.ever_synced) {
      if (::unlink(name.c_str()) != 0) {
        return leveldb::Status::IOError("unlink " + name, std::strerror(errno));
      }
    } else if (::truncate(name.c_str(), static_cast<off_t>(state.synced)) != 0) {
      return leveldb::Status::IOError("truncate " + name, std::strerror(errno));
    }
  }
  files_.clear();
  return leveldb::Status::OK();
}

}  // namespace brfed::storage::testing
