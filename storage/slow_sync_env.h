// A LevelDB Env whose files take `extra` longer to sync, for the benchmarks (bench/): on a disk
// with a cheap fsync (a VM's write-back cache) they can also measure the journal as on a disk
// where fsync costs what a network block device's does. Everything else is Env::Default()'s.
//
//   std::shared_ptr<leveldb::Env> slow = NewSlowSyncEnv(std::chrono::microseconds(2000));
//   journal_options.env = slow.get();  // and RawAppendOptions::env: both sides alike
#pragma once

#include <chrono>
#include <memory>

namespace leveldb {
class Env;
}  // namespace leveldb

namespace brfed::storage {

std::shared_ptr<leveldb::Env> NewSlowSyncEnv(std::chrono::microseconds extra);

}  // namespace brfed::storage
