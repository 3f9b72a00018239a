#include "storage/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace brfed::storage {
namespace {

TEST(KeysTest, RecordKeysSortBySeqAndParseBack) {
  std::vector<uint64_t> seqs = {1, 2, 255, 256, 65536, 1ULL << 40, UINT64_MAX};
  std::vector<std::string> keys;
  for (uint64_t s : seqs) keys.push_back(RecordKey("uid-1", s));
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  for (size_t i = 0; i < seqs.size(); ++i) {
    std::string_view run;
    uint64_t seq = 0;
    ASSERT_TRUE(ParseRecordKey(keys[i], &run, &seq));
    EXPECT_EQ(run, "uid-1");
    EXPECT_EQ(seq, seqs[i]);
    EXPECT_EQ(keys[i].substr(0, RunPrefix("uid-1").size()), RunPrefix("uid-1"));
  }
}

TEST(KeysTest, MalformedRecordKeysAreRefused) {
  std::string good = RecordKey("r1", 7);
  struct Case {
    const char* name;
    std::string key;
  } cases[] = {
      {"empty", ""},
      {"wrong prefix", "a/r1/" + good.substr(good.size() - 8)},
      {"short seq", good.substr(0, good.size() - 1)},
      {"no run", "r//" + good.substr(good.size() - 8)},
      {"no separator", "r/r1x" + good.substr(good.size() - 8)},
      {"slash in run", "r/a/b/" + good.substr(good.size() - 8)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string_view run;
    uint64_t seq = 0;
    EXPECT_FALSE(ParseRecordKey(c.key, &run, &seq));
  }
}

TEST(KeysTest, RunIdsAreValidated) {
  EXPECT_TRUE(ValidateRunId("9f0c7b1e-3c2a-4b8e-9d6f-0a1b2c3d4e5f").ok());
  EXPECT_TRUE(ValidateRunId(std::string(kMaxRunIdBytes, 'x')).ok());
  EXPECT_EQ(ValidateRunId("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRunId("a/b").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRunId(std::string(kMaxRunIdBytes + 1, 'x')).code(),
            StatusCode::kInvalidArgument);
}

TEST(KeysTest, OneRunsPrefixNeverCoversAnother) {
  // "a" is a prefix of "a-b" and "a.c", but the record prefixes are disjoint.
  for (const char* other : {"a-b", "a.c", "a0", "ab"}) {
    SCOPED_TRACE(other);
    std::string k = RecordKey(other, 1);
    EXPECT_NE(k.substr(0, RunPrefix("a").size()), RunPrefix("a"));
  }
}

TEST(KeysTest, PrefixEnd) {
  EXPECT_EQ(PrefixEnd("r/a/"), "r/a0");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), "");
}

TEST(KeysTest, BigEndian64) {
  std::string s;
  PutBigEndian64(0x0102030405060708ULL, &s);
  EXPECT_EQ(s, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  uint64_t v = 0;
  ASSERT_TRUE(GetBigEndian64(s, &v));
  EXPECT_EQ(v, 0x0102030405060708ULL);
  EXPECT_FALSE(GetBigEndian64("1234567", &v));
}

TEST(KeysTest, PrintableKeyEscapesBinary) {
  EXPECT_EQ(PrintableKey(std::string("r/a/\x00\x01", 6)), "r/a/\\x00\\x01");
}

}  // namespace
}  // namespace brfed::storage
