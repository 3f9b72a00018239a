#include "engine/run_format.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

#include "brfed/status.h"
#include "brfed/workflow.h"

namespace brfed {

namespace {

std::string Quote(const std::string& s) { return Value(s).ToJson(); }

std::string InstanceName(const std::string& step, int item) {
  return item < 0 ? step : step + "[" + std::to_string(item) + "]";
}

// Rows of cells, every column but the last padded to its widest cell, two spaces apart.
std::string RenderTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

Value StatusToValue(const Status& s) {
  if (s.ok()) return Value();
  Value::Map m;
  m["code"] = std::string(StatusCodeName(s.code()));
  m["message"] = s.message();
  return m;
}

}  // namespace

std::string FormatTime(TimePoint t, const FormatOptions& options) {
  if (options.relative_to.has_value()) {
    Duration d = t - *options.relative_to;
    return (d.count() >= 0 ? "+" : "") + FormatDuration(d);
  }
  int64_t ms = ToUnixMillis(t);
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int millis = static_cast<int>(ms - secs * 1000);
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return std::to_string(ms) + "ms";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string FormatEventLine(const Event& e, const FormatOptions& options) {
  std::string out = std::to_string(e.seq) + " " + std::string(EventTypeName(e.type)) +
                    " t=" + FormatTime(e.time, options);
  std::string inst = InstanceName(e.step_id, e.item_index);
  std::string att = " attempt=" + std::to_string(e.attempt);
  switch (e.type) {
    case EventType::kRunStarted: {
      const RunStart& s = e.start.get();
      out += " workflow=" + s.workflow_name + " hash=" + s.definition_hash.substr(0, 12) +
             " seed=" + std::to_string(s.seed) + " params=" + s.params.ToJson();
      break;
    }
    case EventType::kAttemptStarted:
      out += " " + inst + att + " key=" + e.idempotency_key;
      break;
    case EventType::kAttemptSucceeded:
      out += " " + inst + att + " outputs=" + e.outputs.ToJson();
      break;
    case EventType::kAttemptFailed:
      out += " " + inst + att + " code=" + std::string(StatusCodeName(e.code)) +
             (e.retryable ? " retryable" : "") + " msg=" + Quote(e.message);
      break;
    case EventType::kAttemptTimedOut:
      out += " " + inst + att;
      break;
    case EventType::kObserved:
      out += " " + inst + att + " msg=" + Quote(e.message);
      break;
    case EventType::kCancelRequested:
      out += " msg=" + Quote(e.message);
      break;
    case EventType::kRunFinished:
      out += " state=" + std::string(RunStateName(e.final_state)) + " msg=" + Quote(e.message);
      break;
  }
  return out;
}

std::string FormatRunText(const RunView& v, const FormatOptions& options) {
  std::string out = "run " + v.run_id + " workflow=" + v.workflow_name +
                    " state=" + std::string(RunStateName(v.state)) +
                    " seq=" + std::to_string(v.last_seq) +
                    " started=" + FormatTime(v.started_at, options);
  if (IsFinished(v.state)) out += " finished=" + FormatTime(v.finished_at, options);
  out += "\n";
  if (!v.message.empty()) out += "message: " + v.message + "\n";
  out += "params: " + v.params.ToJson() + "\n";

  std::vector<std::vector<std::string>> rows;
  rows.push_back({"STEP", "ITEM", "SECTION", "STATE", "ATTEMPT", "KEY", "NEXT", "DETAIL"});
  for (const InstanceView& in : v.instances) {
    std::string item =
        in.item_index < 0 ? "-" : std::to_string(in.item_index) + " " + in.item.ToJson();
    std::string next = in.next_time.has_value() ? FormatTime(*in.next_time, options) : "-";
    std::string detail;
    if (in.state == InstanceState::kSucceeded) {
      detail = "outputs=" + in.outputs.ToJson();
    } else if (!in.last_error.ok()) {
      detail = "error=" + Quote(in.last_error.ToString());
    }
    if (in.state == InstanceState::kRunning && !in.observed.empty()) {
      detail += (detail.empty() ? "" : " ") + std::string("observed=") + Quote(in.observed);
    }
    rows.push_back({in.step_id, item, in.is_finally ? "finally" : "main",
                    std::string(InstanceStateName(in.state)), std::to_string(in.attempt),
                    in.idempotency_key.empty() ? "-" : in.idempotency_key, next, detail});
  }
  return out + RenderTable(rows);
}

Value EventToValue(const Event& e) {
  Value::Map m;
  m["seq"] = static_cast<int64_t>(e.seq);
  m["type"] = std::string(EventTypeName(e.type));
  m["time_ms"] = ToUnixMillis(e.time);
  auto step_fields = [&] {
    m["step"] = e.step_id;
    m["item_index"] = static_cast<int64_t>(e.item_index);
    m["attempt"] = static_cast<int64_t>(e.attempt);
  };
  switch (e.type) {
    case EventType::kRunStarted: {
      const RunStart& s = e.start.get();
      m["workflow"] = s.workflow_name;
      m["definition_hash"] = s.definition_hash;
      m["params"] = s.params;
      m["seed"] = static_cast<int64_t>(s.seed);
      break;
    }
    case EventType::kAttemptStarted:
      step_fields();
      m["idempotency_key"] = e.idempotency_key;
      break;
    case EventType::kAttemptSucceeded:
      step_fields();
      m["outputs"] = e.outputs;
      break;
    case EventType::kAttemptFailed:
      step_fields();
      m["code"] = std::string(StatusCodeName(e.code));
      m["retryable"] = e.retryable;
      m["message"] = e.message;
      break;
    case EventType::kAttemptTimedOut:
      step_fields();
      break;
    case EventType::kObserved:
      step_fields();
      m["message"] = e.message;
      break;
    case EventType::kCancelRequested:
      m["message"] = e.message;
      break;
    case EventType::kRunFinished:
      m["final_state"] = std::string(RunStateName(e.final_state));
      m["message"] = e.message;
      break;
  }
  return m;
}

Value RunViewToValue(const RunView& v) {
  // Built member by member: GCC 12 warns (maybe-uninitialized) on large initializer lists of
  // variants.
  Value::List instances;
  instances.reserve(v.instances.size());
  for (const InstanceView& in : v.instances) {
    Value::Map& m = instances.emplace_back(Value::Map{}).as_map();
    m["step"] = in.step_id;
    m["item_index"] = static_cast<int64_t>(in.item_index);
    m["item"] = in.item;
    m["finally"] = in.is_finally;
    m["state"] = std::string(InstanceStateName(in.state));
    m["attempt"] = static_cast<int64_t>(in.attempt);
    m["idempotency_key"] = in.idempotency_key;
    m["started_at_ms"] = ToUnixMillis(in.started_at);
    m["attempt_started_at_ms"] = ToUnixMillis(in.attempt_started_at);
    m["finished_at_ms"] = ToUnixMillis(in.finished_at);
    m["next_time_ms"] = in.next_time.has_value() ? Value(ToUnixMillis(*in.next_time)) : Value();
    m["error"] = StatusToValue(in.last_error);
    m["observed"] = in.observed;
    m["outputs"] = in.outputs;
  }
  Value::Map m;
  m["run_id"] = v.run_id;
  m["workflow"] = v.workflow_name;
  m["definition_hash"] = v.definition_hash;
  m["state"] = std::string(RunStateName(v.state));
  m["params"] = v.params;
  m["started_at_ms"] = ToUnixMillis(v.started_at);
  m["finished_at_ms"] = IsFinished(v.state) ? Value(ToUnixMillis(v.finished_at)) : Value();
  m["message"] = v.message;
  m["last_seq"] = static_cast<int64_t>(v.last_seq);
  m["instances"] = std::move(instances);
  return m;
}

}  // namespace brfed
