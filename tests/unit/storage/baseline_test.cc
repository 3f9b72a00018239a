// The raw LevelDB baselines of the benchmarks: which records they write, in which order, and
// what they refuse.
#include "storage/baseline.h"

#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <leveldb/iterator.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "storage/keys.h"
#include "tests/unit/storage/test_util.h"

namespace brfed::storage {
namespace {

using testing::ScratchDir;

// Every key of the database in `dir`, checking that each value is `value_bytes` long.
std::set<std::string> Keys(const std::string& dir, size_t value_bytes) {
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(leveldb::Options(), dir, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<leveldb::DB> db(raw);
  std::set<std::string> keys;
  if (!db) return keys;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    EXPECT_EQ(it->value().size(), value_bytes) << it->key().ToString();
    keys.insert(it->key().ToString());
  }
  return keys;
}

RawAppendOptions Options(const ScratchDir& scratch) {
  RawAppendOptions o;
  o.dir = scratch.Sub("raw");
  o.runs = 3;
  o.run_ids = {"run-a", "run-b", "run-c"};
  o.value_bytes = 7;
  o.batch_records = 2;
  o.sync = false;
  return o;
}

TEST(RawLevelDbAppendTest, WithoutAnOrderSpreadsRecordsRoundRobinOverTheRuns) {
  ScratchDir scratch;
  RawAppendOptions o = Options(scratch);
  o.records = 5;
  Result<RawResult> r = RawLevelDbAppend(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->records, 5u);
  std::set<std::string> want = {RecordKey("run-a", 1), RecordKey("run-b", 1), RecordKey("run-c", 1),
                                RecordKey("run-a", 2), RecordKey("run-b", 2)};
  EXPECT_EQ(Keys(o.dir, 7), want);
  uint64_t bytes = 0;
  for (const std::string& k : want) bytes += k.size() + 7;
  EXPECT_EQ(r->bytes, bytes);
}

TEST(RawLevelDbAppendTest, WritesTheOrderedRecordsTheUntimedOnesFirstAndTimesUpToRecords) {
  ScratchDir scratch;
  RawAppendOptions o = Options(scratch);
  o.order = {{2, 1}, {0, 1}, {0, 2}, {1, 1}, {2, 2}, {0, 3}};
  o.untimed = 2;
  o.records = 3;  // of the four after the untimed ones
  Result<RawResult> r = RawLevelDbAppend(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->records, 3u);
  // The untimed records are written, not counted; the last of the order is left out.
  EXPECT_EQ(Keys(o.dir, 7), (std::set<std::string>{RecordKey("run-c", 1), RecordKey("run-a", 1),
                                                   RecordKey("run-a", 2), RecordKey("run-b", 1),
                                                   RecordKey("run-c", 2)}));
  uint64_t timed_bytes = RecordKey("run-a", 2).size() + RecordKey("run-b", 1).size() +
                         RecordKey("run-c", 2).size() + 3 * 7;
  EXPECT_EQ(r->bytes, timed_bytes);
}

TEST(RawLevelDbAppendTest, RefusesAnOrderItCannotWrite) {
  ScratchDir scratch;
  RawAppendOptions o = Options(scratch);
  o.order = {{0, 1}, {3, 1}};
  Result<RawResult> r = RawLevelDbAppend(o);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("record 1 of the order is of run 3 of 3"), std::string::npos)
      << r.status().ToString();

  o.order = {{0, 1}};
  o.untimed = 2;
  r = RawLevelDbAppend(o);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("2 untimed records of an order of 1"), std::string::npos)
      << r.status().ToString();
}

}  // namespace
}  // namespace brfed::storage
