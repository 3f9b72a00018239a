#include "storage/record_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "storage/journal.pb.h"

namespace brfed::storage {
namespace {

Event Base(EventType type, uint64_t seq) {
  Event e;
  e.type = type;
  e.seq = seq;
  e.time = FromUnixMillis(1'700'000'123'456);
  return e;
}

TEST(RecordCodecTest, EveryEventTypeRoundTrips) {
  std::vector<Event> cases;
  {
    Event e = Base(EventType::kRunStarted, 1);
    e.start.mut() = RunStart{
        .workflow_name = "volume-backup",
        .definition_hash = "sha256:0123abcd",
        .params = Value::Map{{"clusters", Value::List{"k8s-1", "k8s-2"}},
                             {"template", Value::Map{{"ratio", 0.5}, {"n", -3}, {"x", Value()}}}},
        .seed = 0xfedcba9876543210ULL};
    cases.push_back(e);
  }
  {
    Event e = Base(EventType::kAttemptStarted, 2);
    e.step_id = "snapshot";
    e.item_index = 2;
    e.attempt = 3;
    e.idempotency_key = "uid:snapshot:2";
    cases.push_back(e);
  }
  {
    Event e = Base(EventType::kAttemptSucceeded, 3);
    e.step_id = "initialize";
    e.item_index = -1;
    e.attempt = 1;
    e.outputs = Value::Map{{"commitTs", int64_t{443322110099887766}}, {"ok", true}};
    cases.push_back(e);
  }
  {
    Event e = Base(EventType::kAttemptFailed, 4);
    e.step_id = "rbac-check";
    e.item_index = 0;
    e.attempt = 10;
    e.code = StatusCode::kUnavailable;
    e.retryable = true;
    e.message = "k8s-1: 503 Service Unavailable";
    cases.push_back(e);
  }
  {
    Event e = Base(EventType::kAttemptTimedOut, 5);
    e.step_id = "snapshot";
    e.item_index = 1;
    e.attempt = 2;
    cases.push_back(e);
  }
  {
    Event e = Base(EventType::kObserved, 6);
    e.step_id = "snapshot";
    e.item_index = 1;
    e.attempt = 2;
    e.message = "phase VolumeBackupSnapshotsCreated";
    cases.push_back(e);
  }
  {
    Event e = Base(EventType::kCancelRequested, 7);
    e.message = "deleted by user";
    cases.push_back(e);
  }
  for (RunState s : {RunState::kSucceeded, RunState::kFailed, RunState::kCancelled}) {
    Event e = Base(EventType::kRunFinished, 8);
    e.final_state = s;
    e.message = s == RunState::kFailed ? "step snapshot[1]: DEADLINE_EXCEEDED: timed out" : "";
    cases.push_back(e);
  }
  {
    // Every field set at once, with bytes that are not UTF-8 and a negative time.
    Event e = Base(EventType::kAttemptFailed, 9);
    e.time = FromUnixMillis(-5);
    e.start.mut() = RunStart{.workflow_name = std::string("w\0f", 3),
                             .definition_hash = "\xff\xfe",
                             .params = Value::List{1, 2.25, "x", Value::List{}, Value::Map{}},
                             .seed = 1};
    e.step_id = "s\x80";
    e.item_index = std::numeric_limits<int32_t>::max();
    e.attempt = std::numeric_limits<int32_t>::min();
    e.idempotency_key = "k";
    e.outputs = "just a string";
    e.code = StatusCode::kUnauthenticated;
    e.retryable = true;
    e.message = std::string("bad \xc3\x28 utf-8\n", 14);
    e.final_state = RunState::kFinalizing;
    cases.push_back(e);
  }

  for (const Event& e : cases) {
    SCOPED_TRACE(testing::Message() << "type " << static_cast<int>(e.type) << " seq " << e.seq);
    std::string bytes;
    ASSERT_TRUE(EncodeRecord(e, &bytes).ok());
    Result<Event> back = DecodeRecord(bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, e);
    // Only RunStarted fills the out-of-line fields: other records allocate nothing for them.
    EXPECT_EQ(back->start.empty(), e.start.get() == RunStart{});
    Event again = cases[0];  // decoding into a used Event leaves nothing of it behind
    ASSERT_TRUE(DecodeRecordInto(bytes, &again).ok());
    EXPECT_EQ(again, e);
    Result<Event> reference = internal::DecodeRecordViaProtobuf(bytes);
    ASSERT_TRUE(reference.ok()) << reference.status().ToString();
    EXPECT_EQ(*reference, e);
    std::string reference_bytes;
    ASSERT_TRUE(internal::EncodeRecordViaProtobuf(e, &reference_bytes).ok());
    EXPECT_EQ(bytes, reference_bytes);
  }
}

// The hand-written encoder writes byte for byte what the generated serializer writes, at the
// edges of every numeric field (negatives of int32 and int64 take ten bytes, sint32 zigzags,
// zero is left out) and with every string empty or not.
TEST(RecordCodecTest, WireEncoderWritesWhatProtobufWrites) {
  const int32_t ints[] = {0,
                          1,
                          -1,
                          127,
                          128,
                          -128,
                          300,
                          std::numeric_limits<int32_t>::max(),
                          std::numeric_limits<int32_t>::min()};
  const int64_t times[] = {
      0, 1, -1, 1'700'000'123'456, std::numeric_limits<int64_t>::max() / 2, -1'700'000'123'456};
  const uint64_t u64s[] = {0, 1, 127, 128, 16384, std::numeric_limits<uint64_t>::max()};
  int checked = 0;
  auto check = [&](const Event& e) {
    std::string mine = "prefix";  // AppendRecord keeps what the buffer held
    ASSERT_TRUE(AppendRecord(e, &mine).ok());
    std::string reference;
    ASSERT_TRUE(internal::EncodeRecordViaProtobuf(e, &reference).ok());
    EXPECT_EQ(mine, "prefix" + reference);
    ++checked;
  };
  for (int32_t i : ints) {
    Event e = Base(EventType::kAttemptStarted, 1);
    e.item_index = i;
    e.attempt = i;
    check(e);
  }
  for (int64_t t : times) {
    Event e = Base(EventType::kObserved, 2);
    e.time = FromUnixMillis(t);
    check(e);
  }
  for (uint64_t u : u64s) {
    Event e = Base(EventType::kRunStarted, u == 0 ? 1 : u);
    e.start.mut().seed = u;
    check(e);
  }
  for (int code = 0; code <= static_cast<int>(StatusCode::kUnauthenticated); ++code) {
    Event e = Base(EventType::kAttemptFailed, 3);
    e.code = static_cast<StatusCode>(code);
    e.retryable = code % 2 == 1;
    check(e);
  }
  for (int mask = 0; mask < 64; ++mask) {  // each string field empty or not
    Event e = Base(EventType::kRunFinished, 4);
    e.final_state = RunState::kSucceeded;
    if (mask & 1) e.start.mut().workflow_name = "w";
    if (mask & 2) e.start.mut().definition_hash = std::string(200, 'h');  // a two-byte length
    if (mask & 4) e.step_id = "s";
    if (mask & 8) e.idempotency_key = "k";
    if (mask & 16) e.message = std::string("m\0", 2);
    if (mask & 32) {
      e.start.mut().params = Value::Map{{"a", 1}};
      e.outputs = Value::List{"x"};
    }
    check(e);
  }
  EXPECT_EQ(checked, 9 + 6 + 6 + 17 + 64);
}

TEST(RecordCodecTest, EncodeRefusesWhatCannotBeReadBack) {
  auto nested = [](int levels) {
    Value v = 1;
    for (int i = 1; i < levels; ++i) v = Value::List{v};
    return v;
  };
  struct Case {
    const char* name;
    Event event;
    const char* message;
  };
  std::vector<Case> cases;
  auto add = [&](const char* name, auto mutate, const char* message) {
    Event e = Base(EventType::kAttemptSucceeded, 3);
    mutate(e);
    cases.push_back({name, e, message});
  };
  add(
      "seq 0", [](Event& e) { e.seq = 0; }, "seq 0");
  add(
      "unknown type", [](Event& e) { e.type = static_cast<EventType>(9); }, "unknown event type 9");
  add(
      "unknown code", [](Event& e) { e.code = static_cast<StatusCode>(17); }, "status code 17");
  add(
      "unknown state", [](Event& e) { e.final_state = static_cast<RunState>(0); }, "run state 0");
  add(
      "finished but running",
      [](Event& e) {
        e.type = EventType::kRunFinished;
        e.final_state = RunState::kFinalizing;
      },
      "unfinished state");
  add(
      "NaN",
      [](Event& e) {
        e.outputs = Value::Map{{"x", std::nan("")}};
      },
      "outputs: NaN");
  add(
      "infinity",
      [](Event& e) { e.start.mut().params = Value::List{std::numeric_limits<double>::infinity()}; },
      "params: NaN or infinite");
  add(
      "too deep", [&](Event& e) { e.outputs = nested(kMaxValueNesting + 1); }, "nested deeper");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string bytes;
    Status s = EncodeRecord(c.event, &bytes);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.ToString();
  }

  // The deepest value allowed is read back intact.
  Event deep = Base(EventType::kAttemptSucceeded, 3);
  deep.outputs = nested(kMaxValueNesting);
  std::string bytes;
  ASSERT_TRUE(EncodeRecord(deep, &bytes).ok());
  Result<Event> back = DecodeRecord(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, deep);
}

TEST(RecordCodecTest, DecodeReportsGarbageAsDataLoss) {
  std::string valid;
  ASSERT_TRUE(EncodeRecord(Base(EventType::kObserved, 4), &valid).ok());
  auto record = [](auto mutate) {
    Record r;
    r.set_type(ATTEMPT_STARTED);
    r.set_seq(2);
    r.set_final_state(1);
    mutate(r);
    return r.SerializeAsString();
  };
  struct Case {
    const char* name;
    std::string bytes;
    const char* message;
  } cases[] = {
      {"empty", "", "unknown type 0"},
      {"endless varint", "\xff\xff\xff\xff\xff", "bad field tag"},
      {"truncated", valid.substr(0, valid.size() - 1), "field 16 is truncated"},
      {"length past the end",
       std::string("\x22\x05"
                   "ab",
                   4),
       "field 4 is truncated"},
      {"field 0", std::string("\x00\x01", 2), "field number 0"},
      {"wrong wire type",
       std::string("\x0a\x01"
                   "x",
                   3),
       "field 1 has wire type 2"},
      {"group", std::string("\x8b\x01", 2), "bad unknown field 17"},
      {"type 0", record([](Record& r) { r.set_type(RECORD_TYPE_UNSPECIFIED); }), "unknown type 0"},
      {"type 99", record([](Record& r) { r.set_type(static_cast<RecordType>(99)); }),
       "unknown type 99"},
      {"seq 0", record([](Record& r) { r.set_seq(0); }), "seq 0"},
      {"code -1", record([](Record& r) { r.set_code(-1); }), "status code -1"},
      {"state 0", record([](Record& r) { r.set_final_state(0); }), "run state 0"},
      {"finished running", record([](Record& r) {
         r.set_type(RUN_FINISHED);
         r.set_final_state(2);
       }),
       "unfinished state"},
      {"bad params json", record([](Record& r) { r.set_params_json("{\"a\":"); }), "params: json"},
      {"bad outputs json", record([](Record& r) { r.set_outputs_json("[1,]"); }), "outputs: json"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<Event> r = DecodeRecord(c.bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().ToString();
  }
}

TEST(RecordCodecTest, WireDecoderFollowsProto3) {
  Record r;
  r.set_type(OBSERVED);
  r.set_seq(9);
  r.set_message("first");
  r.set_final_state(1);
  r.set_item_index(-7);
  r.set_attempt(-2);
  std::string bytes = r.SerializeAsString();
  // A later occurrence of a field wins; unknown fields of every wire type are skipped.
  bytes += std::string(
      "\x7a\x04"
      "last",
      6);                                   // field 15 (message) again
  bytes += std::string("\x88\x01\x05", 3);  // field 17, varint
  bytes += std::string(
      "\x92\x01\x02"
      "zz",
      5);  // field 18, bytes
  bytes += std::string(
      "\x99\x01"
      "12345678",
      10);  // field 19, fixed64
  bytes += std::string(
      "\xa5\x01"
      "1234",
      6);  // field 20, fixed32
  Result<Event> e = DecodeRecord(bytes);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->message, "last");
  EXPECT_EQ(e->item_index, -7);
  EXPECT_EQ(e->attempt, -2);
  Result<Event> reference = internal::DecodeRecordViaProtobuf(bytes);
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(*reference, *e);
}

// The decoder reads fields in any order, as proto3 does: every field of a record with all
// sixteen set is moved to the front in turn, and the Event compared with the original.
TEST(RecordCodecTest, FieldOrderDoesNotChangeTheEvent) {
  Event e = Base(EventType::kRunFinished, 77);
  e.start.mut() =
      RunStart{.workflow_name = "wf", .definition_hash = "h", .params = Value::Map{{"a", 1}}};
  e.start.mut().seed = 0x8000000000000001ULL;  // ten varint bytes
  e.step_id = "s";
  e.item_index = -3;
  e.attempt = 300;
  e.idempotency_key = "k";
  e.outputs = Value::Map{{"b", "c"}};
  e.code = StatusCode::kInternal;
  e.retryable = true;
  e.message = "m";
  e.final_state = RunState::kFailed;
  std::string bytes;
  ASSERT_TRUE(EncodeRecord(e, &bytes).ok());
  ASSERT_EQ(*DecodeRecord(bytes), e);
  // Split the encoding into its fields (each is a tag, then a varint or a length and bytes).
  std::vector<std::string> fields;
  for (size_t i = 0; i < bytes.size();) {
    size_t start = i;
    uint64_t tag = 0;
    for (int shift = 0;; shift += 7) {
      tag |= static_cast<uint64_t>(bytes[i] & 0x7f) << shift;
      if ((bytes[i++] & 0x80) == 0) break;
    }
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      v |= static_cast<uint64_t>(bytes[i] & 0x7f) << shift;
      if ((bytes[i++] & 0x80) == 0) break;
    }
    if ((tag & 7) == 2) i += v;
    fields.push_back(bytes.substr(start, i - start));
  }
  ASSERT_EQ(fields.size(), 16u);
  for (size_t moved = 1; moved < fields.size(); ++moved) {
    std::string reordered = fields[moved];
    for (size_t k = 0; k < fields.size(); ++k) {
      if (k != moved) reordered += fields[k];
    }
    Result<Event> got = DecodeRecord(reordered);
    ASSERT_TRUE(got.ok()) << "field " << moved + 1 << " first: " << got.status().ToString();
    EXPECT_EQ(*got, e) << "field " << moved + 1 << " first";
  }
  // A field written twice: the last occurrence wins.
  Result<Event> twice = DecodeRecord(bytes + fields[14]);  // message again, at the end
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(*twice, e);
  Result<Event> changed = DecodeRecord(bytes + std::string("\x7a\x01z", 3));
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->message, "z");
  // Cut anywhere, the record is damage or a shorter record, never a crash.
  for (size_t n = 1; n < bytes.size(); ++n) {
    Result<Event> cut = DecodeRecord(bytes.substr(0, n));
    if (!cut.ok()) {
      EXPECT_EQ(cut.status().code(), StatusCode::kDataLoss) << n;
    }
  }
}

TEST(RecordCodecTest, NullValuesCostNoBytes) {
  Event e = Base(EventType::kAttemptTimedOut, 5);
  std::string bytes;
  ASSERT_TRUE(EncodeRecord(e, &bytes).ok());
  Record r;
  ASSERT_TRUE(r.ParseFromString(bytes));
  EXPECT_TRUE(r.params_json().empty());
  EXPECT_TRUE(r.outputs_json().empty());
}

}  // namespace
}  // namespace brfed::storage
