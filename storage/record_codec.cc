#include "storage/record_codec.h"

#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>

#include "storage/journal.pb.h"

namespace brfed::storage {
namespace {

constexpr int kMaxStatusCode = static_cast<int>(StatusCode::kUnauthenticated);

bool ValidType(int t) {
  return t >= static_cast<int>(EventType::kRunStarted) &&
         t <= static_cast<int>(EventType::kRunFinished);
}
bool ValidRunState(int s) {
  return s >= static_cast<int>(RunState::kRunning) && s <= static_cast<int>(RunState::kCancelled);
}
bool ValidCode(int c) { return c >= 0 && c <= kMaxStatusCode; }

// Checks that `v` survives ToJson/FromJson unchanged. `nesting` counts the parser levels used
// by the containers around `v`, `v` included. Recursion stops at kMaxValueNesting + 1.
Status CheckStorable(const Value& v, int nesting, std::string_view field) {
  if (nesting > kMaxValueNesting) {
    return InvalidArgumentError(std::string(field) + ": nested deeper than " +
                                std::to_string(kMaxValueNesting) + " levels");
  }
  switch (v.type()) {
    case Value::Type::kDouble:
      if (!std::isfinite(v.as_double())) {
        return InvalidArgumentError(std::string(field) +
                                    ": NaN or infinite number (JSON cannot hold it)");
      }
      return Status::OK();
    case Value::Type::kList:
      for (const Value& e : v.as_list()) RETURN_IF_ERROR(CheckStorable(e, nesting + 1, field));
      return Status::OK();
    case Value::Type::kMap:
      for (const auto& [k, e] : v.as_map()) {
        RETURN_IF_ERROR(CheckStorable(e, nesting + 1, field));
      }
      return Status::OK();
    default:
      return Status::OK();
  }
}

Status EncodeValue(const Value& v, std::string_view field, std::string* out) {
  out->clear();
  if (v.is_null()) return Status::OK();  // empty = null: the common case costs no bytes
  if (v.is_map() && v.as_map().empty()) {  // the next most common: outputs of {}
    out->assign("{}");
    return Status::OK();
  }
  RETURN_IF_ERROR(CheckStorable(v, 1, field));
  *out = v.ToJson();
  return Status::OK();
}

// Sets *out to `text`. Most fields of most records are empty, and clear() is much cheaper than
// a general assign: recovery decodes a million records.
void AssignField(std::string_view text, std::string* out) {
  if (text.empty()) {
    out->clear();
  } else {
    out->assign(text);
  }
}

Status DecodeValue(std::string_view json, std::string_view field, Value* out) {
  if (json.empty()) {
    if (!out->is_null()) *out = Value();
    return Status::OK();
  }
  if (json == "{}") {  // most outputs and params: no parser needed
    out->SetEmptyMap();
    return Status::OK();
  }
  Result<Value> v = Value::FromJson(json);
  if (!v.ok()) return DataLossError("record: " + std::string(field) + ": " + v.status().message());
  *out = std::move(v).value();
  return Status::OK();
}

// Sets a RunStarted record's fields. Only that record has them: any other leaves the box
// empty (or emptied in place, when decoding into an Event that held one), so decoding a step
// record allocates nothing for them.
Status DecodeStart(std::string_view workflow_name, std::string_view definition_hash,
                   std::string_view params, uint64_t seed, Event* e) {
  if (workflow_name.empty() && definition_hash.empty() && params.empty() && seed == 0) {
    if (!e->start.empty()) e->start.mut() = RunStart{};
    return Status::OK();
  }
  RunStart& s = e->start.mut();
  AssignField(workflow_name, &s.workflow_name);
  AssignField(definition_hash, &s.definition_hash);
  s.seed = seed;
  return DecodeValue(params, "params", &s.params);
}

}  // namespace

Status EncodeRecord(const Event& e, std::string* out) {
  out->clear();
  return AppendRecord(e, out);
}

namespace {

// The checks of every encoder: what the journal must never store.
Status CheckEncodable(const Event& e) {
  int type = static_cast<int>(e.type);
  if (!ValidType(type)) {
    return InvalidArgumentError("record: unknown event type " + std::to_string(type));
  }
  if (e.seq == 0) return InvalidArgumentError("record: seq 0 (seqs start at 1)");
  int code = static_cast<int>(e.code);
  if (!ValidCode(code)) {
    return InvalidArgumentError("record: unknown status code " + std::to_string(code));
  }
  int state = static_cast<int>(e.final_state);
  if (!ValidRunState(state)) {
    return InvalidArgumentError("record: unknown run state " + std::to_string(state));
  }
  if (e.type == EventType::kRunFinished && !IsFinished(e.final_state)) {
    return InvalidArgumentError("record: RunFinished with unfinished state " +
                                std::to_string(state));
  }
  return Status::OK();
}

enum WireType { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

// A field's tag: its number and wire type.
constexpr uint64_t Tag(uint64_t field, int wire) {
  return field << 3 | static_cast<uint64_t>(wire);
}

// The protobuf wire format (https://protobuf.dev/programming-guides/encoding/) written
// directly, as the generated code writes it for Record: fields in number order, proto3
// defaults (0, false, empty) left out, int32/int64 negatives as 10-byte varints, sint32
// zigzagged. internal::EncodeRecordViaProtobuf is the reference it is tested against.
class WireWriter {
 public:
  // Makes room for up to `max_bytes` at the end of *out once; the destructor trims it to what
  // was written. A field costs a few stores, not a call to append per tag and value.
  WireWriter(std::string* out, size_t max_bytes) : out_(out) {
    const size_t start = out->size();
    out->resize(start + max_bytes);
    p_ = out->data() + start;
    end_ = p_ + max_bytes;
  }
  ~WireWriter() { out_->resize(static_cast<size_t>(p_ - out_->data())); }
  WireWriter(const WireWriter&) = delete;
  WireWriter& operator=(const WireWriter&) = delete;

  // The most bytes a record can take beyond its strings: a tag and a 10-byte varint (a
  // value, or a string's length) for each of its 16 fields.
  static constexpr size_t kMaxFixedBytes = 16 * (2 + 10);

  void Varint(int field, uint64_t v) {
    if (v == 0) return;
    Raw(Tag(static_cast<uint64_t>(field), kVarint));
    Raw(v);
  }
  void Int(int field, int64_t v) { Varint(field, static_cast<uint64_t>(v)); }
  void ZigZag32(int field, int32_t v) {
    auto u = static_cast<uint32_t>(v);
    Varint(field, (u << 1) ^ (0u - (u >> 31)));
  }
  void Bytes(int field, std::string_view b) {
    if (b.empty()) return;
    Raw(Tag(static_cast<uint64_t>(field), kLen));
    Raw(b.size());
    assert(b.size() <= static_cast<size_t>(end_ - p_));
    std::memcpy(p_, b.data(), b.size());
    p_ += b.size();
  }

 private:
  void Raw(uint64_t v) {
    assert(end_ - p_ >= 10);
    while (v >= 0x80) {
      *p_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }

  std::string* const out_;
  char* p_;
  char* end_;  // for the asserts: what max_bytes allows
};

}  // namespace

size_t RecordSizeHint(const Event& e) {
  const RunStart& start = e.start.get();
  return WireWriter::kMaxFixedBytes + start.workflow_name.size() + start.definition_hash.size() +
         e.step_id.size() + e.idempotency_key.size() + e.message.size();
}

Status AppendRecord(const Event& e, std::string* out) {
  RETURN_IF_ERROR(CheckEncodable(e));
  // The JSON of params and outputs goes through scratch memory kept per thread.
  thread_local std::string params, outputs;
  const RunStart& start = e.start.get();
  RETURN_IF_ERROR(EncodeValue(start.params, "params", &params));
  RETURN_IF_ERROR(EncodeValue(e.outputs, "outputs", &outputs));
  WireWriter w(out, RecordSizeHint(e) + params.size() + outputs.size());
  w.Int(1, static_cast<int>(e.type));
  w.Varint(2, e.seq);
  w.Int(3, ToUnixMillis(e.time));
  w.Bytes(4, start.workflow_name);
  w.Bytes(5, start.definition_hash);
  w.Bytes(6, params);
  w.Varint(7, start.seed);
  w.Bytes(8, e.step_id);
  w.ZigZag32(9, e.item_index);
  w.Int(10, e.attempt);
  w.Bytes(11, e.idempotency_key);
  w.Bytes(12, outputs);
  w.Int(13, static_cast<int>(e.code));
  w.Varint(14, e.retryable ? 1 : 0);
  w.Bytes(15, e.message);
  w.Int(16, static_cast<int>(e.final_state));
  return Status::OK();
}

namespace internal {

Status EncodeRecordViaProtobuf(const Event& e, std::string* out) {
  RETURN_IF_ERROR(CheckEncodable(e));
  Record r;
  r.set_type(static_cast<RecordType>(e.type));
  r.set_seq(e.seq);
  r.set_time_unix_ms(ToUnixMillis(e.time));
  const RunStart& start = e.start.get();
  r.set_workflow_name(start.workflow_name);
  r.set_definition_hash(start.definition_hash);
  RETURN_IF_ERROR(EncodeValue(start.params, "params", r.mutable_params_json()));
  r.set_seed(start.seed);
  r.set_step_id(e.step_id);
  r.set_item_index(e.item_index);
  r.set_attempt(e.attempt);
  r.set_idempotency_key(e.idempotency_key);
  RETURN_IF_ERROR(EncodeValue(e.outputs, "outputs", r.mutable_outputs_json()));
  r.set_code(static_cast<int>(e.code));
  r.set_retryable(e.retryable);
  r.set_message(e.message);
  r.set_final_state(static_cast<int>(e.final_state));
  out->clear();
  if (!r.AppendToString(out)) return InternalError("record: protobuf serialization failed");
  return Status::OK();
}

}  // namespace internal

namespace {

// Checks the enum and seq fields every decoder reads, as raw wire values.
Status CheckFields(int64_t type, uint64_t seq, int64_t code, int64_t state) {
  if (!ValidType(static_cast<int>(type)) || type != static_cast<int32_t>(type)) {
    return DataLossError("record: unknown type " + std::to_string(type));
  }
  if (seq == 0) return DataLossError("record: seq 0");
  if (!ValidCode(static_cast<int>(code)) || code != static_cast<int32_t>(code)) {
    return DataLossError("record: unknown status code " + std::to_string(code));
  }
  // proto3 leaves final_state 0 when it was never set; the encoder always writes one (Event's
  // default is kRunning), so 0 here means a damaged or foreign record.
  if (!ValidRunState(static_cast<int>(state)) || state != static_cast<int32_t>(state)) {
    return DataLossError("record: unknown run state " + std::to_string(state));
  }
  if (type == static_cast<int>(EventType::kRunFinished) &&
      !IsFinished(static_cast<RunState>(state))) {
    return DataLossError("record: RunFinished with unfinished state " + std::to_string(state));
  }
  return Status::OK();
}

// A reader of the protobuf wire format (https://protobuf.dev/programming-guides/encoding/),
// over exactly the fields of Record. Every read is bounds-checked.
class WireReader {
 public:
  explicit WireReader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}

  bool done() const { return p_ == end_; }

  // A varint of at most `max_bytes` bytes (10 for 64 bits; 5 for tags and lengths).
  bool Varint(uint64_t* v, int max_bytes = 10) {
    if (p_ != end_ && (static_cast<uint8_t>(*p_) & 0x80) == 0) {  // most are one byte
      *v = static_cast<uint8_t>(*p_++);
      return true;
    }
    uint64_t r = 0;
    for (int shift = 0; shift < 7 * max_bytes; shift += 7) {
      if (p_ == end_) return false;
      auto b = static_cast<uint8_t>(*p_++);
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = r;
        return true;
      }
    }
    return false;  // longer than max_bytes
  }

  bool Bytes(std::string_view* out) {
    uint64_t n = 0;
    if (!Varint(&n, 5) || n > INT32_MAX || n > static_cast<uint64_t>(end_ - p_)) return false;
    *out = std::string_view(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  bool Skip(size_t n) {
    if (n > static_cast<size_t>(end_ - p_)) return false;
    p_ += n;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

// A field that is not one of Record's with its own wire type: skipped when this binary does not
// know its number (proto3 does so), damage otherwise.
Status SkipOtherField(uint64_t tag, WireReader* in) {
  const uint64_t field = tag >> 3;
  const int wire = static_cast<int>(tag & 7);
  if (field == 0) return DataLossError("record: field number 0");
  if (field <= 16) {  // one of Record's, with another wire type than its own
    return DataLossError("record: field " + std::to_string(field) + " has wire type " +
                         std::to_string(wire));
  }
  uint64_t v = 0;
  std::string_view b;
  const bool ok = wire == kVarint    ? in->Varint(&v)
                  : wire == kLen     ? in->Bytes(&b)
                  : wire == kFixed64 ? in->Skip(8)
                  : wire == kFixed32 ? in->Skip(4)
                                     : false;
  if (!ok) return DataLossError("record: bad unknown field " + std::to_string(field));
  return Status::OK();
}

}  // namespace

// Decodes the wire format straight into the Event, without a protobuf message in between:
// recovery decodes a million records, and the intermediate message and its copies were half
// of that cost. Field semantics are proto3's (absent = default, the last occurrence wins,
// unknown fields are skipped); a known field with the wrong wire type, a group or a field
// number 0 is damage, where protobuf would keep it as an unknown field.
Status DecodeRecordInto(std::string_view bytes, Event* out) {
  uint64_t type = 0, seq = 0, code = 0, state = 0, item = 0, attempt = 0, time = 0, seed = 0;
  uint64_t retryable = 0;
  std::string_view workflow_name, definition_hash, params, step_id, key, outputs, message;
  WireReader in(bytes);
  while (!in.done()) {
    uint64_t tag = 0;
    if (!in.Varint(&tag, 5) || tag > UINT32_MAX) return DataLossError("record: bad field tag");
    // One switch on the whole tag: a known field with its wire type is one case, and
    // everything else (field 0, a wrong wire type, an unknown field) the default's.
    bool ok = true;
    switch (tag) {
      case Tag(1, kVarint):
        ok = in.Varint(&type);
        break;
      case Tag(2, kVarint):
        ok = in.Varint(&seq);
        break;
      case Tag(3, kVarint):
        ok = in.Varint(&time);
        break;
      case Tag(4, kLen):
        ok = in.Bytes(&workflow_name);
        break;
      case Tag(5, kLen):
        ok = in.Bytes(&definition_hash);
        break;
      case Tag(6, kLen):
        ok = in.Bytes(&params);
        break;
      case Tag(7, kVarint):
        ok = in.Varint(&seed);
        break;
      case Tag(8, kLen):
        ok = in.Bytes(&step_id);
        break;
      case Tag(9, kVarint):
        ok = in.Varint(&item);
        break;
      case Tag(10, kVarint):
        ok = in.Varint(&attempt);
        break;
      case Tag(11, kLen):
        ok = in.Bytes(&key);
        break;
      case Tag(12, kLen):
        ok = in.Bytes(&outputs);
        break;
      case Tag(13, kVarint):
        ok = in.Varint(&code);
        break;
      case Tag(14, kVarint):
        ok = in.Varint(&retryable);
        break;
      case Tag(15, kLen):
        ok = in.Bytes(&message);
        break;
      case Tag(16, kVarint):
        ok = in.Varint(&state);
        break;
      default:
        RETURN_IF_ERROR(SkipOtherField(tag, &in));
        continue;
    }
    if (!ok) return DataLossError("record: field " + std::to_string(tag >> 3) + " is truncated");
  }
  // int32 fields take the low 32 bits of their varint, as protobuf does.
  auto i32 = [](uint64_t v) {
    return static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(v)));
  };
  RETURN_IF_ERROR(CheckFields(i32(type), seq, i32(code), i32(state)));

  Event& e = *out;
  e.type = static_cast<EventType>(i32(type));
  e.seq = seq;
  e.time = FromUnixMillis(static_cast<int64_t>(time));
  RETURN_IF_ERROR(DecodeStart(workflow_name, definition_hash, params, seed, &e));
  AssignField(step_id, &e.step_id);
  auto zz = static_cast<uint32_t>(item);  // sint32: zigzag over the low 32 bits
  e.item_index = static_cast<int32_t>((zz >> 1) ^ (~(zz & 1) + 1));
  e.attempt = static_cast<int32_t>(i32(attempt));
  AssignField(key, &e.idempotency_key);
  RETURN_IF_ERROR(DecodeValue(outputs, "outputs", &e.outputs));
  e.code = static_cast<StatusCode>(i32(code));
  e.retryable = retryable != 0;
  AssignField(message, &e.message);
  e.final_state = static_cast<RunState>(i32(state));
  return Status::OK();
}

Result<Event> DecodeRecord(std::string_view bytes) {
  Result<Event> result{Event{}};  // built up front; see JsonParser::ParseDocument in value.cc
  Status s = DecodeRecordInto(bytes, &result.value());
  if (!s.ok()) return s;
  return result;
}

namespace internal {

Result<Event> DecodeRecordViaProtobuf(std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return DataLossError("record: " + std::to_string(bytes.size()) + " bytes is too large");
  }
  Record r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return DataLossError("record: not a valid protobuf Record");
  }
  RETURN_IF_ERROR(CheckFields(r.type(), r.seq(), r.code(), r.final_state()));
  Result<Event> result{Event{}};
  Event& e = result.value();
  e.type = static_cast<EventType>(r.type());
  e.seq = r.seq();
  e.time = FromUnixMillis(r.time_unix_ms());
  RETURN_IF_ERROR(
      DecodeStart(r.workflow_name(), r.definition_hash(), r.params_json(), r.seed(), &e));
  e.step_id = r.step_id();
  e.item_index = r.item_index();
  e.attempt = r.attempt();
  e.idempotency_key = r.idempotency_key();
  RETURN_IF_ERROR(DecodeValue(r.outputs_json(), "outputs", &e.outputs));
  e.code = static_cast<StatusCode>(r.code());
  e.retryable = r.retryable();
  e.message = r.message();
  e.final_state = static_cast<RunState>(r.final_state());
  return result;
}

}  // namespace internal

}  // namespace brfed::storage
