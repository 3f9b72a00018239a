#include "storage/record_codec.h"

#include <cmath>
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
  RETURN_IF_ERROR(CheckStorable(v, 1, field));
  *out = v.ToJson();
  return Status::OK();
}

Status DecodeValue(const std::string& json, std::string_view field, Value* out) {
  if (json.empty()) {
    *out = Value();
    return Status::OK();
  }
  Result<Value> v = Value::FromJson(json);
  if (!v.ok()) return DataLossError("record: " + std::string(field) + ": " + v.status().message());
  *out = std::move(v).value();
  return Status::OK();
}

}  // namespace

Status EncodeRecord(const Event& e, std::string* out) {
  int type = static_cast<int>(e.type);
  if (!ValidType(type)) return InvalidArgumentError("record: unknown event type " + std::to_string(type));
  if (e.seq == 0) return InvalidArgumentError("record: seq 0 (seqs start at 1)");
  int code = static_cast<int>(e.code);
  if (!ValidCode(code)) return InvalidArgumentError("record: unknown status code " + std::to_string(code));
  int state = static_cast<int>(e.final_state);
  if (!ValidRunState(state)) {
    return InvalidArgumentError("record: unknown run state " + std::to_string(state));
  }
  if (e.type == EventType::kRunFinished && !IsFinished(e.final_state)) {
    return InvalidArgumentError("record: RunFinished with unfinished state " +
                                std::to_string(state));
  }

  // One message per thread, reused: Clear() keeps the capacity of its byte fields, so a
  // committer encoding thousands of records per second does not allocate for each.
  thread_local Record r;
  r.Clear();
  r.set_type(static_cast<RecordType>(type));
  r.set_seq(e.seq);
  r.set_time_unix_ms(ToUnixMillis(e.time));
  r.set_workflow_name(e.workflow_name);
  r.set_definition_hash(e.definition_hash);
  RETURN_IF_ERROR(EncodeValue(e.params, "params", r.mutable_params_json()));
  r.set_seed(e.seed);
  r.set_step_id(e.step_id);
  r.set_item_index(e.item_index);
  r.set_attempt(e.attempt);
  r.set_idempotency_key(e.idempotency_key);
  RETURN_IF_ERROR(EncodeValue(e.outputs, "outputs", r.mutable_outputs_json()));
  r.set_code(code);
  r.set_retryable(e.retryable);
  r.set_message(e.message);
  r.set_final_state(state);
  out->clear();
  if (!r.SerializeToString(out)) return InternalError("record: protobuf serialization failed");
  return Status::OK();
}

RecordDecoder::RecordDecoder() : scratch_(std::make_unique<Record>()) {}
RecordDecoder::~RecordDecoder() = default;

Status RecordDecoder::Decode(std::string_view bytes, Event* out) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return DataLossError("record: " + std::to_string(bytes.size()) + " bytes is too large");
  }
  Record& r = *scratch_;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return DataLossError("record: not a valid protobuf Record (" + std::to_string(bytes.size()) +
                         " bytes)");
  }
  int type = static_cast<int>(r.type());
  if (!ValidType(type)) return DataLossError("record: unknown type " + std::to_string(type));
  if (r.seq() == 0) return DataLossError("record: seq 0");
  if (!ValidCode(r.code())) {
    return DataLossError("record: unknown status code " + std::to_string(r.code()));
  }
  // proto3 leaves final_state 0 when it was never set; the encoder always writes one (Event's
  // default is kRunning), so 0 here means a damaged or foreign record.
  if (!ValidRunState(r.final_state())) {
    return DataLossError("record: unknown run state " + std::to_string(r.final_state()));
  }
  auto state = static_cast<RunState>(r.final_state());
  if (type == static_cast<int>(EventType::kRunFinished) && !IsFinished(state)) {
    return DataLossError("record: RunFinished with unfinished state " +
                         std::to_string(r.final_state()));
  }

  Event& e = *out;
  e.type = static_cast<EventType>(type);
  e.seq = r.seq();
  e.time = FromUnixMillis(r.time_unix_ms());
  e.workflow_name = r.workflow_name();
  e.definition_hash = r.definition_hash();
  RETURN_IF_ERROR(DecodeValue(r.params_json(), "params", &e.params));
  e.seed = r.seed();
  e.step_id = r.step_id();
  e.item_index = r.item_index();
  e.attempt = r.attempt();
  e.idempotency_key = r.idempotency_key();
  RETURN_IF_ERROR(DecodeValue(r.outputs_json(), "outputs", &e.outputs));
  e.code = static_cast<StatusCode>(r.code());
  e.retryable = r.retryable();
  e.message = r.message();
  e.final_state = state;
  return Status::OK();
}

Result<Event> DecodeRecord(std::string_view bytes) {
  RecordDecoder decoder;
  Result<Event> result{Event{}};  // built up front; see JsonParser::ParseDocument in value.cc
  Status s = decoder.Decode(bytes, &result.value());
  if (!s.ok()) return s;
  return result;
}

}  // namespace brfed::storage
