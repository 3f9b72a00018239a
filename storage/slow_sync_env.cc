#include "storage/slow_sync_env.h"

#include <leveldb/env.h>

#include <string>
#include <thread>

namespace brfed::storage {
namespace {

class SlowSyncEnv final : public leveldb::EnvWrapper {
 public:
  explicit SlowSyncEnv(std::chrono::microseconds extra)
      : leveldb::EnvWrapper(leveldb::Env::Default()), extra_(extra) {}

  leveldb::Status NewWritableFile(const std::string& f, leveldb::WritableFile** r) override {
    return Wrap(target()->NewWritableFile(f, r), r);
  }
  leveldb::Status NewAppendableFile(const std::string& f, leveldb::WritableFile** r) override {
    return Wrap(target()->NewAppendableFile(f, r), r);
  }

 private:
  class File final : public leveldb::WritableFile {
   public:
    File(leveldb::WritableFile* file, std::chrono::microseconds extra)
        : file_(file), extra_(extra) {}
    leveldb::Status Append(const leveldb::Slice& data) override { return file_->Append(data); }
    leveldb::Status Close() override { return file_->Close(); }
    leveldb::Status Flush() override { return file_->Flush(); }
    leveldb::Status Sync() override {
      leveldb::Status s = file_->Sync();
      std::this_thread::sleep_for(extra_);
      return s;
    }

   private:
    std::unique_ptr<leveldb::WritableFile> file_;
    const std::chrono::microseconds extra_;
  };

  leveldb::Status Wrap(leveldb::Status s, leveldb::WritableFile** r) {
    if (s.ok() && extra_.count() > 0) *r = new File(*r, extra_);
    return s;
  }

  const std::chrono::microseconds extra_;
};

}  // namespace

std::shared_ptr<leveldb::Env> NewSlowSyncEnv(std::chrono::microseconds extra) {
  return std::make_shared<SlowSyncEnv>(extra);
}

}  // namespace brfed::storage
