#include "tools/brfedctl/format.h"

#include <ostream>

#include "tools/brfedctl/cli.h"
#include "tools/brfedctl/table.h"

namespace brfed::ctl {
namespace {

std::string Truncate(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n - 3) + "...";
  return s;
}

void Indent(std::string* out, int depth) { out->append(static_cast<size_t>(depth) * 2, ' '); }

void Pretty(const Value& v, int depth, std::string* out) {
  if (v.is_list() && !v.as_list().empty()) {
    *out += "[\n";
    const Value::List& l = v.as_list();
    for (size_t i = 0; i < l.size(); ++i) {
      Indent(out, depth + 1);
      Pretty(l[i], depth + 1, out);
      *out += i + 1 < l.size() ? ",\n" : "\n";
    }
    Indent(out, depth);
    *out += "]";
  } else if (v.is_map() && !v.as_map().empty()) {
    *out += "{\n";
    size_t i = 0;
    for (const auto& [k, e] : v.as_map()) {
      Indent(out, depth + 1);
      *out += Value(k).ToJson() + ": ";
      Pretty(e, depth + 1, out);
      *out += ++i < v.as_map().size() ? ",\n" : "\n";
    }
    Indent(out, depth);
    *out += "}";
  } else {
    *out += v.ToJson();
  }
}

}  // namespace

std::string InstanceLabel(const InstanceView& inst) {
  if (inst.item_index < 0) return inst.step_id;
  return inst.step_id + "[" + std::to_string(inst.item_index) + "]";
}

std::string InstanceLabel(const Event& e) {
  if (e.step_id.empty()) return "";
  if (e.item_index < 0) return e.step_id;
  return e.step_id + "[" + std::to_string(e.item_index) + "]";
}

std::string EventDetail(const Event& e) {
  std::string a = "attempt " + std::to_string(e.attempt);
  switch (e.type) {
    case EventType::kRunStarted: {
      const RunStart& s = e.start.get();
      return "workflow " + s.workflow_name + " (" + s.definition_hash.substr(0, 12) + ") params " +
             Truncate(s.params.ToJson(), 80);
    }
    case EventType::kAttemptStarted:
      return a + " started, key " + e.idempotency_key;
    case EventType::kAttemptSucceeded:
      return a + " succeeded, outputs " + Truncate(e.outputs.ToJson(), 80);
    case EventType::kAttemptFailed:
      return a + " failed: " + std::string(StatusCodeName(e.code)) + ": " + e.message +
             (e.retryable ? " (retryable)" : "");
    case EventType::kAttemptTimedOut:
      return a + " timed out";
    case EventType::kObserved:
      return a + " observed: " + e.message;
    case EventType::kCancelRequested:
      return "cancel requested: " + e.message;
    case EventType::kRunFinished:
      return std::string(RunStateName(e.final_state)) +
             (e.message.empty() ? "" : ": " + e.message);
  }
  return "";
}

std::string StepsSummary(const RunView& run) {
  size_t done = 0;
  for (const InstanceView& i : run.instances) done += i.state == InstanceState::kSucceeded;
  return std::to_string(done) + "/" + std::to_string(run.instances.size());
}

Value MillisValue(TimePoint t) { return t == TimePoint{} ? Value() : Value(ToUnixMillis(t)); }

void PrintRun(const RunView& v, uint64_t records, std::ostream& out) {
  out << "run:        " << v.run_id << "\n"
      << "workflow:   " << v.workflow_name << " (" << v.definition_hash.substr(0, 12) << ")\n"
      << "state:      " << RunStateName(v.state) << (v.message.empty() ? "" : ": ") << v.message
      << "\n"
      << "params:     " << v.params.ToJson() << "\n"
      << "started:    " << FormatTime(v.started_at) << "\n"
      << "finished:   " << FormatTime(v.finished_at) << "\n"
      << "records:    " << records << "\n\n";
  Table table({"STEP", "ITEM", "STATE", "ATTEMPT", "STARTED", "FINISHED", "DETAIL"});
  for (const InstanceView& i : v.instances) {
    std::string detail;
    if (i.state == InstanceState::kSucceeded) {
      bool empty = i.outputs.is_null() || (i.outputs.is_map() && i.outputs.as_map().empty());
      if (!empty) detail = "outputs " + Truncate(i.outputs.ToJson(), 60);
    } else if (!i.last_error.ok()) {
      detail = i.last_error.ToString();
    } else if (!i.observed.empty() && !IsTerminal(i.state)) {
      detail = "observed: " + i.observed;
    }
    if (i.next_time && !IsTerminal(i.state)) {
      detail += std::string(detail.empty() ? "" : "; ") +
                (i.state == InstanceState::kBackoff ? "next attempt at " : "deadline ") +
                FormatTime(*i.next_time);
    }
    table.AddRow({(i.is_finally ? "finally/" : "") + InstanceLabel(i),
                  i.item_index >= 0 ? i.item.ToText() : "",
                  std::string(InstanceStateName(i.state)), std::to_string(i.attempt),
                  FormatOffset(i.started_at, v.started_at),
                  FormatOffset(i.finished_at, v.started_at), detail});
  }
  table.Print(out);
}

std::string PrettyJson(const Value& v) {
  std::string out;
  Pretty(v, 0, &out);
  return out + "\n";
}

}  // namespace brfed::ctl
