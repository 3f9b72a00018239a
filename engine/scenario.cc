#include "engine/scenario.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "engine/machine.h"
#include "engine/replay.h"
#include "engine/run_format.h"

namespace brfed {

namespace {

// One block of a script: comments, the command line, its indented body, its output.
struct Block {
  std::vector<std::string> comments;
  int line = 0;  // of the command, 1-based
  std::string command;
  std::vector<std::string> body;
};

Result<std::vector<Block>> ParseBlocks(std::string_view script, std::string_view name) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < script.size()) {
    size_t nl = script.find('\n', start);
    if (nl == std::string_view::npos) nl = script.size();
    lines.emplace_back(script.substr(start, nl - start));
    start = nl + 1;
  }
  std::vector<Block> blocks;
  Block cur;
  size_t i = 0;
  while (i < lines.size()) {
    const std::string& l = lines[i];
    if (l.empty()) {
      ++i;
      continue;
    }
    if (l[0] == '#') {
      cur.comments.push_back(l);
      ++i;
      continue;
    }
    if (l[0] == ' ' || l == "----") {
      return InvalidArgumentError(std::string(name) + ":" + std::to_string(i + 1) +
                                  ": expected a command, got \"" + l + "\"");
    }
    cur.line = static_cast<int>(i + 1);
    cur.command = l;
    ++i;
    while (i < lines.size() && !lines[i].empty() && lines[i][0] == ' ') {
      cur.body.push_back(lines[i]);
      ++i;
    }
    if (i < lines.size() && lines[i] == "----") {
      ++i;  // the old output is replaced; skip it
      while (i < lines.size() && !lines[i].empty()) ++i;
    }
    blocks.push_back(std::move(cur));
    cur = Block{};
  }
  if (!cur.comments.empty()) {
    cur.line = -1;  // trailing comments
    blocks.push_back(std::move(cur));
  }
  return blocks;
}

// Arguments of a command line: key=value pairs and bare flags. A value is a JSON string
// ("..."), a JSON list or map (brackets balanced, strings respected) or a bare word.
struct Args {
  std::string verb;
  std::map<std::string, std::string, std::less<>> kv;
  std::set<std::string, std::less<>> flags;
  std::set<std::string, std::less<>> used;

  const std::string* Get(std::string_view k) {
    auto it = kv.find(k);
    if (it == kv.end()) return nullptr;
    used.insert(std::string(k));
    return &it->second;
  }
  bool Flag(std::string_view f) {
    if (flags.count(f) == 0) return false;
    used.insert(std::string(f));
    return true;
  }
};

Result<Args> ParseArgs(const std::string& line) {
  Args a;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < line.size() && line[i] == ' ') ++i;
  };
  auto word_end = [&](size_t p) {
    while (p < line.size() && line[p] != ' ' && line[p] != '=') ++p;
    return p;
  };
  skip_space();
  size_t e = word_end(i);
  a.verb = line.substr(i, e - i);
  i = e;
  while (true) {
    skip_space();
    if (i >= line.size()) break;
    e = word_end(i);
    std::string key = line.substr(i, e - i);
    if (key.empty())
      return InvalidArgumentError("unexpected '=' at column " + std::to_string(i + 1));
    i = e;
    if (i >= line.size() || line[i] != '=') {
      a.flags.insert(key);
      continue;
    }
    ++i;  // '='
    size_t vstart = i;
    if (i < line.size() && (line[i] == '"' || line[i] == '{' || line[i] == '[')) {
      int depth = 0;
      bool in_str = false;
      for (; i < line.size(); ++i) {
        char c = line[i];
        if (in_str) {
          if (c == '\\') {
            ++i;
          } else if (c == '"') {
            in_str = false;
            if (depth == 0) break;
          }
          continue;
        }
        if (c == '"') {
          in_str = true;
        } else if (c == '{' || c == '[') {
          ++depth;
        } else if (c == '}' || c == ']') {
          if (--depth == 0) break;
        }
      }
      if (i >= line.size()) {
        return InvalidArgumentError("unterminated value of " + key);
      }
      ++i;
    } else {
      while (i < line.size() && line[i] != ' ') ++i;
    }
    a.kv[key] = line.substr(vstart, i - vstart);
  }
  return a;
}

Result<int64_t> ParseInt(const std::string& s, std::string_view what) {
  if (s.empty() || s.size() > 18) return InvalidArgumentError(std::string(what) + ": bad number");
  size_t p = (s[0] == '-') ? 1 : 0;
  if (p == s.size()) return InvalidArgumentError(std::string(what) + ": bad number");
  int64_t v = 0;
  for (; p < s.size(); ++p) {
    if (!std::isdigit(static_cast<unsigned char>(s[p]))) {
      return InvalidArgumentError(std::string(what) + ": bad number \"" + s + "\"");
    }
    v = v * 10 + (s[p] - '0');
  }
  return s[0] == '-' ? -v : v;
}

class Runner {
 public:
  Runner(std::string_view name, const ActionCatalog& catalog) : name_(name), catalog_(catalog) {}

  // The output of one command; an error for a malformed command.
  Result<std::string> Run(const Block& b);
  // Checks the run's journal replays to the live state.
  Status CheckReplay() const;

 private:
  Result<std::string> Load(const Block& b);
  Result<std::string> Start(Args& a, TimePoint at);
  Result<std::string> Effects(TimePoint at);
  Result<std::string> StepEvent(Args& a, TimePoint at);
  std::string Attempts() const;
  Result<std::string> Replay(Args& a) const;
  // Applies a record, journaling it on success; returns its line or the error.
  std::string ApplyAndPrint(const Event& e);
  Status NeedRun() const;
  int CurrentAttempt(const std::string& step, int item) const;

  static constexpr FormatOptions kFormat{.relative_to = TimePoint{}};

  std::string name_;
  const ActionCatalog& catalog_;
  std::shared_ptr<const Workflow> workflow_;
  std::unique_ptr<RunMachine> machine_;
  std::vector<Event> journal_;
};

Result<std::string> Runner::Run(const Block& b) {
  ASSIGN_OR_RETURN(Args a, ParseArgs(b.command));
  if (a.verb == "workflow") return Load(b);
  if (!b.body.empty()) return InvalidArgumentError("only `workflow` takes an indented body");

  std::optional<TimePoint> at;
  if (const std::string* t = a.Get("at")) {
    Result<Duration> d = ParseDuration(*t);
    if (!d.ok()) return d.status().WithContext("at");
    at = TimePoint(*d);
  }
  auto need_at = [&]() -> Status {
    return at.has_value() ? Status::OK() : InvalidArgumentError(a.verb + " needs at=");
  };

  Result<std::string> out = InvalidArgumentError("unknown command \"" + a.verb + "\"");
  if (a.verb == "start") {
    RETURN_IF_ERROR(need_at());
    out = Start(a, *at);
  } else if (a.verb == "effects") {
    RETURN_IF_ERROR(need_at());
    out = Effects(*at);
  } else if (a.verb == "result" || a.verb == "timeout" || a.verb == "observe" ||
             a.verb == "start-attempt" || a.verb == "cancel" || a.verb == "finish") {
    RETURN_IF_ERROR(need_at());
    out = StepEvent(a, *at);
  } else if (a.verb == "state") {
    RETURN_IF_ERROR(NeedRun());
    out = FormatRunText(machine_->View(), kFormat);
  } else if (a.verb == "attempts") {
    RETURN_IF_ERROR(NeedRun());
    out = Attempts();
  } else if (a.verb == "journal") {
    RETURN_IF_ERROR(NeedRun());
    std::string s;
    for (const Event& e : journal_) s += FormatEventLine(e, kFormat) + "\n";
    out = s.empty() ? "(empty)\n" : s;
  } else if (a.verb == "replay") {
    out = Replay(a);
  }
  if (!out.ok()) return out;
  for (const auto& [k, v] : a.kv) {
    if (a.used.count(k) == 0) return InvalidArgumentError("unknown argument " + k);
  }
  for (const std::string& f : a.flags) {
    if (a.used.count(f) == 0) return InvalidArgumentError("unknown flag " + f);
  }
  return out;
}

Status Runner::NeedRun() const {
  if (machine_ == nullptr) return FailedPreconditionError("no run: use `start` first");
  return Status::OK();
}

Result<std::string> Runner::Load(const Block& b) {
  // Strip the indentation shared by the body's lines.
  size_t indent = std::string::npos;
  for (const std::string& l : b.body) {
    size_t n = l.find_first_not_of(' ');
    if (n != std::string::npos) indent = std::min(indent, n);
  }
  std::string text;
  for (const std::string& l : b.body) text += (l.size() >= indent ? l.substr(indent) : "") + "\n";
  std::vector<Diagnostic> diags;
  Result<Workflow> wf = LoadWorkflow(text, "workflow", catalog_, &diags);
  machine_.reset();
  journal_.clear();
  workflow_.reset();
  if (!wf.ok()) {
    std::string out;
    for (const Diagnostic& d : diags) out += "error: " + d.ToString() + "\n";
    if (out.empty()) out = "error: " + wf.status().ToString() + "\n";
    return out;
  }
  workflow_ = std::make_shared<const Workflow>(std::move(*wf));
  return "loaded " + workflow_->name + " steps=" + std::to_string(workflow_->steps.size()) +
         " finally=" + std::to_string(workflow_->finally_steps.size()) + "\n";
}

Result<std::string> Runner::Start(Args& a, TimePoint at) {
  if (workflow_ == nullptr) return FailedPreconditionError("start: no workflow loaded");
  const std::string* run = a.Get("run");
  if (run == nullptr) return InvalidArgumentError("start needs run=");
  Event e;
  e.type = EventType::kRunStarted;
  e.time = at;
  RunStart& start = e.start.mut();
  start.workflow_name = workflow_->name;
  start.definition_hash = workflow_->hash;
  start.params = Value::Map{};
  if (const std::string* p = a.Get("params")) {
    Result<Value> v = Value::FromJson(*p);
    if (!v.ok()) return v.status().WithContext("params");
    start.params = std::move(*v);
  }
  if (const std::string* s = a.Get("seed")) {
    ASSIGN_OR_RETURN(int64_t seed, ParseInt(*s, "seed"));
    start.seed = static_cast<uint64_t>(seed);
  }
  if (const std::string* h = a.Get("hash")) start.definition_hash = *h;
  machine_ = std::make_unique<RunMachine>(*run, workflow_);
  journal_.clear();
  e.seq = 1;
  return ApplyAndPrint(e) + "\n";
}

std::string Runner::ApplyAndPrint(const Event& e) {
  Status s = machine_->Apply(e);
  if (!s.ok()) return "error: " + s.ToString();
  journal_.push_back(e);
  return FormatEventLine(e, kFormat);
}

Result<std::string> Runner::Effects(TimePoint at) {
  RETURN_IF_ERROR(NeedRun());
  RunMachine::Effects fx = machine_->NextEffects(at);
  std::string out;
  for (const Event& e : fx.append) out += ApplyAndPrint(e) + "\n";
  if (fx.append.empty()) out += "(no records)\n";
  out += "wake_at=" + (fx.wake_at ? FormatTime(*fx.wake_at, kFormat) : "none") + "\n";
  return out;
}

int Runner::CurrentAttempt(const std::string& step, int item) const {
  for (const InstanceView& in : machine_->View().instances) {
    if (in.step_id == step && in.item_index == item) return in.attempt;
  }
  return 0;
}

Result<std::string> Runner::StepEvent(Args& a, TimePoint at) {
  RETURN_IF_ERROR(NeedRun());
  Event e;
  e.seq = machine_->last_seq() + 1;
  e.time = at;
  if (a.verb == "cancel" || a.verb == "finish") {
    e.type = a.verb == "cancel" ? EventType::kCancelRequested : EventType::kRunFinished;
    if (const std::string* m = a.Get(a.verb == "cancel" ? "reason" : "msg")) {
      ASSIGN_OR_RETURN(Value v, Value::FromJson(*m));
      if (!v.is_string()) return InvalidArgumentError("message must be a JSON string");
      e.message = v.as_string();
    }
    if (a.verb == "finish") {
      const std::string* st = a.Get("state");
      if (st == nullptr) return InvalidArgumentError("finish needs state=");
      bool found = false;
      for (RunState rs : {RunState::kRunning, RunState::kFinalizing, RunState::kSucceeded,
                          RunState::kFailed, RunState::kCancelled}) {
        if (RunStateName(rs) == *st) {
          e.final_state = rs;
          found = true;
        }
      }
      if (!found) return InvalidArgumentError("unknown run state " + *st);
    }
    return ApplyAndPrint(e) + "\n";
  }

  const std::string* step = a.Get("step");
  if (step == nullptr) return InvalidArgumentError(a.verb + " needs step=");
  e.step_id = *step;
  if (const std::string* it = a.Get("item")) {
    ASSIGN_OR_RETURN(int64_t item, ParseInt(*it, "item"));
    e.item_index = static_cast<int32_t>(item);
  }
  if (const std::string* at_n = a.Get("attempt")) {
    ASSIGN_OR_RETURN(int64_t n, ParseInt(*at_n, "attempt"));
    e.attempt = static_cast<int32_t>(n);
  } else if (a.verb == "start-attempt") {
    return InvalidArgumentError("start-attempt needs attempt=");
  } else {
    e.attempt = CurrentAttempt(e.step_id, e.item_index);
  }
  if (const std::string* m = a.Get("msg")) {
    ASSIGN_OR_RETURN(Value v, Value::FromJson(*m));
    if (!v.is_string()) return InvalidArgumentError("msg must be a JSON string");
    e.message = v.as_string();
  }

  if (a.verb == "timeout") {
    e.type = EventType::kAttemptTimedOut;
  } else if (a.verb == "observe") {
    e.type = EventType::kObserved;
  } else if (a.verb == "start-attempt") {
    e.type = EventType::kAttemptStarted;
    const std::string* key = a.Get("key");
    e.idempotency_key = key ? *key : IdempotencyKey(machine_->run_id(), e.step_id, e.item_index);
  } else if (a.Flag("done")) {
    e.type = EventType::kAttemptSucceeded;
    e.outputs = Value::Map{};
    if (const std::string* o = a.Get("outputs")) {
      Result<Value> v = Value::FromJson(*o);
      if (!v.ok()) return v.status().WithContext("outputs");
      e.outputs = std::move(*v);
    }
  } else if (a.Flag("fail")) {
    e.type = EventType::kAttemptFailed;
    const std::string* code = a.Get("code");
    if (code == nullptr) return InvalidArgumentError("result fail needs code=");
    std::optional<StatusCode> c = StatusCodeFromName(*code);
    if (!c.has_value()) return InvalidArgumentError("unknown status code " + *code);
    e.code = *c;
    e.retryable = a.Flag("retryable");
  } else {
    return InvalidArgumentError("result needs `done` or `fail`");
  }
  return ApplyAndPrint(e) + "\n";
}

std::string Runner::Attempts() const {
  std::string out;
  for (const RunMachine::Attempt& at : machine_->RunningAttempts()) {
    out += at.step->id + (at.item_index >= 0 ? "[" + std::to_string(at.item_index) + "]" : "") +
           " attempt=" + std::to_string(at.attempt) +
           " key=" + IdempotencyKey(machine_->run_id(), at.step->id, at.item_index) +
           " started=" + FormatTime(at.started_at, kFormat) +
           " deadline=" + (at.deadline ? FormatTime(*at.deadline, kFormat) : "none");
    Result<Value> with = machine_->ResolveWith(at);
    out += with.ok() ? " with=" + with->ToJson() : " with-error=" + with.status().ToString();
    out += "\n";
  }
  return out.empty() ? "(none)\n" : out;
}

Result<std::string> Runner::Replay(Args& a) const {
  RETURN_IF_ERROR(NeedRun());
  uint64_t until = std::numeric_limits<uint64_t>::max();
  const std::string* u = a.Get("until");
  if (u != nullptr) {
    ASSIGN_OR_RETURN(int64_t n, ParseInt(*u, "until"));
    until = static_cast<uint64_t>(n);
  }
  Result<RunMachine> m = ReplayRun(machine_->run_id(), workflow_, journal_, until);
  if (!m.ok()) return "error: " + m.status().ToString() + "\n";
  std::string out = FormatRunText(m->View(), kFormat);
  if (u == nullptr) {
    out += RunViewToValue(m->View()) == RunViewToValue(machine_->View())
               ? "replay equals live\n"
               : "replay DIFFERS from live\n";
  }
  return out;
}

Status Runner::CheckReplay() const {
  if (machine_ == nullptr) return Status::OK();
  Result<RunMachine> m = ReplayRun(machine_->run_id(), workflow_, journal_);
  if (!m.ok()) return InternalError("journal does not replay: " + m.status().ToString());
  if (!(RunViewToValue(m->View()) == RunViewToValue(machine_->View()))) {
    return InternalError("replayed state differs from the live state");
  }
  return Status::OK();
}

}  // namespace

Result<std::string> RunScenario(std::string_view script, std::string_view name,
                                const ActionCatalog& catalog) {
  ASSIGN_OR_RETURN(std::vector<Block> blocks, ParseBlocks(script, name));
  Runner runner(name, catalog);
  std::string out;
  bool first = true;
  for (const Block& b : blocks) {
    if (!first) out += "\n";
    first = false;
    for (const std::string& c : b.comments) out += c + "\n";
    if (b.line < 0) continue;
    Result<std::string> r = runner.Run(b);
    if (!r.ok()) {
      return r.status().WithContext(std::string(name) + ":" + std::to_string(b.line));
    }
    out += b.command + "\n";
    for (const std::string& l : b.body) out += l + "\n";
    out += "----\n" + *r;
  }
  Status s = runner.CheckReplay();
  if (!s.ok()) return s.WithContext(std::string(name));
  return out;
}

namespace {

class FixedCatalog final : public ActionCatalog {
 public:
  FixedCatalog() {
    Add({"test.noop", {}, {}});
    Add({"test.sleep", {"duration"}, {"duration"}});
    Add({"test.fail", {"times", "message"}, {"times"}});
    Add({"test.append", {"path", "text"}, {"path", "text"}});
    Add({"test.echo", {"value"}, {"value"}});
    Add({"test.generic",
         {"value", "member", "zone", "zones", "id", "ids", "name", "items", "text", "message",
          "snapshot", "count", "target"},
         {}});
  }
  const ActionSpec* FindAction(std::string_view name) const override {
    auto it = specs_.find(name);
    return it == specs_.end() ? nullptr : &it->second;
  }

 private:
  void Add(ActionSpec s) {
    std::string n = s.name;
    specs_.emplace(std::move(n), std::move(s));
  }
  std::map<std::string, ActionSpec, std::less<>> specs_;
};

}  // namespace

const ActionCatalog& ScenarioCatalog() {
  static const FixedCatalog* catalog = new FixedCatalog();
  return *catalog;
}

}  // namespace brfed
