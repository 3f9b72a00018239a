// LoadWorkflow (brfed/workflow.h): YAML -> Workflow, with every problem reported as
// "FILE:LINE:COL: reason" in one pass.
//
// Three phases: (1) the YAML text becomes a tree of positioned nodes (loader_yaml.cc);
// (2) each section is read into the model, checking keys, types, durations, actions and their
// `with` keys (here); (3) the cross-references are checked: ids, needs, cycles,
// `if: started(...)` and every $(...) reference (loader_graph.cc).
//
// The exact schema (anything else is an error):
//   name: <non-empty string>                                   required
//   params: list of {name, type, required, default}            optional
//     name: letters, digits, '_' and '-'; unique
//     type: string | int | bool | double | list | object | any (default any)
//     required: bool (default false); default: a value of `type` (an int is a double's default)
//   steps: non-empty list of steps; finally: list of steps     at most 1000 steps in all
//     id: letters, digits, '_' and '-'; unique across steps and finally     required
//     action: a registered action                                            required
//     needs: list of ids of the same section (steps or finally), no cycles
//     forEach: a list, or exactly "$(path)" (a param of type list or any, or any other path)
//     with: map; only the action's keys, all of its required keys; strings may hold $(path)
//     retry: {limit: int 0..1000000, backoff: duration, factor: number 1..100,
//             maxBackoff: duration >= backoff, jitter: none | full}
//     timeout: duration > 0
//     if: always | succeeded | failed | started(<main step id>)               finally only
// Durations are Go-style ("250ms", "1m30s"). Scalars follow the YAML 1.2 core schema: `yes`
// and `1m` are strings, quoted text is always a string. Aliases are expanded; files over 1 MiB,
// nesting over 64 levels and more than 100000 nodes are rejected.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "brfed/workflow.h"
#include "engine/expr.h"
#include "engine/loader_internal.h"
#include "engine/loader_yaml.h"

namespace brfed {
namespace {

using internal::At;
using internal::IsName;
using internal::ParamTypeName;
using internal::Quote;
using internal::RefUse;
using internal::StepInfo;
using internal::YamlEntry;
using internal::YamlNode;

constexpr size_t kMaxSteps = 1000;
constexpr int64_t kMaxRetryLimit = 1000000;
constexpr double kMaxRetryFactor = 100;

std::string JoinList(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : ", ") + names[i];
  return out;
}

std::optional<ParamType> ParseParamType(std::string_view s) {
  for (size_t i = 0; i < std::size(internal::kParamTypeNames); ++i) {
    if (s == internal::kParamTypeNames[i]) return static_cast<ParamType>(i);
  }
  return std::nullopt;
}

// Whether `v` fits a param of type `t`; an int default of a double param becomes a double.
bool FitParamType(ParamType t, Value* v) {
  switch (t) {
    case ParamType::kString:
      return v->is_string();
    case ParamType::kInt:
      return v->is_int();
    case ParamType::kBool:
      return v->is_bool();
    case ParamType::kDouble:
      if (v->is_int()) *v = Value(v->as_double());
      return v->is_double();
    case ParamType::kList:
      return v->is_list();
    case ParamType::kObject:
      return v->is_map();
    case ParamType::kAny:
      return true;
  }
  return false;
}

class Loader {
 public:
  Loader(const ActionCatalog& actions, std::vector<Diagnostic>* diags)
      : actions_(actions), diags_(diags) {}

  void Load(const YamlNode& root, Workflow* wf) {
    if (root.kind != YamlNode::Kind::kMap) {
      Error(root.pos,
            "a workflow must be a map with \"name\" and \"steps\", not " + root.Described());
      return;
    }
    CheckKeys(root, "workflow", {"name", "params", "steps", "finally"});
    wf->name = RequiredString(root, "name", "workflow");
    if (const YamlNode* params = root.Find("params")) ReadParams(*params, wf);

    const YamlNode* steps = root.Find("steps");
    if (steps == nullptr) {
      Error(root.pos, "workflow is missing required key \"steps\"");
    } else if (ExpectList(*steps, "steps")) {
      if (steps->items.empty()) Error(steps->pos, "\"steps\" must not be empty");
      for (const YamlNode& n : steps->items) ReadStep(n, /*is_finally=*/false);
    }
    if (const YamlNode* fin = root.Find("finally")) {
      if (ExpectList(*fin, "finally")) {
        for (const YamlNode& n : fin->items) ReadStep(n, /*is_finally=*/true);
      }
    }
    if (steps_.size() > kMaxSteps) {
      Error(root.pos, "too many steps: " + std::to_string(steps_.size()) + " (max " +
                          std::to_string(kMaxSteps) + ")");
      return;
    }
    internal::CheckStepGraph(&steps_, params_, diags_);
    for (StepInfo& s : steps_) {
      (s.def.is_finally ? wf->finally_steps : wf->steps).push_back(std::move(s.def));
    }
  }

 private:
  void Error(SourcePos pos, std::string reason) {
    diags_->push_back(Diagnostic{"", pos, std::move(reason)});
  }

  // Reports the keys of `map` that are not in `allowed`.
  void CheckKeys(const YamlNode& map, std::string_view what,
                 const std::vector<std::string>& allowed) {
    for (const YamlEntry& e : map.entries) {
      if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end()) {
        Error(e.key_pos, "unknown key " + Quote(e.key) + " in " + std::string(what) +
                             "; expected one of: " + JoinList(allowed));
      }
    }
  }

  bool ExpectList(const YamlNode& n, std::string_view key) {
    if (n.kind == YamlNode::Kind::kList) return true;
    Error(n.pos, Quote(key) + " must be a list, not " + n.Described());
    return false;
  }

  // The string at `key` of `map`; reports a missing key or a wrong type.
  std::string RequiredString(const YamlNode& map, std::string_view key, std::string_view what) {
    const YamlNode* n = map.Find(key);
    if (n == nullptr) {
      Error(map.pos, std::string(what) + " is missing required key " + Quote(key));
      return "";
    }
    if (!n->scalar.is_string() || n->kind != YamlNode::Kind::kScalar) {
      Error(n->pos, Quote(key) + " must be a string, not " + n->Described());
      return "";
    }
    if (n->scalar.as_string().empty()) {
      Error(n->pos, Quote(key) + " must not be empty");
      return "";
    }
    return n->scalar.as_string();
  }

  // A duration at `key`; nullopt (after reporting) when absent or bad.
  std::optional<std::chrono::milliseconds> ReadDuration(const YamlNode& map, std::string_view key,
                                                        std::string_view example) {
    const YamlNode* n = map.Find(key);
    if (n == nullptr) return std::nullopt;
    if (n->kind != YamlNode::Kind::kScalar || !n->scalar.is_string()) {
      Error(n->pos, Quote(key) + " must be a duration such as \"" + std::string(example) +
                        "\", not " + n->Described());
      return std::nullopt;
    }
    Result<std::chrono::milliseconds> d = ParseDuration(n->scalar.as_string());
    if (!d.ok()) {
      Error(n->pos, std::string(key) + ": " + d.status().message());
      return std::nullopt;
    }
    return *d;
  }

  // ---- params ----

  void ReadParams(const YamlNode& params, Workflow* wf) {
    if (!ExpectList(params, "params")) return;
    for (const YamlNode& entry : params.items) {
      if (entry.kind != YamlNode::Kind::kMap) {
        Error(entry.pos, "params entries must be maps, not " + entry.Described());
        continue;
      }
      CheckKeys(entry, "params entry", {"name", "type", "required", "default"});
      ParamDef p;
      p.pos = entry.pos;
      p.name = RequiredString(entry, "name", "params entry");
      bool name_ok = !p.name.empty();
      if (name_ok) {
        p.pos = entry.Find("name")->pos;
        if (!IsName(p.name)) {
          Error(p.pos, "bad param name " + Quote(p.name) + ": use letters, digits, '_' and '-'");
          name_ok = false;
        }
      }
      bool type_ok = true;
      if (const YamlNode* t = entry.Find("type")) {
        std::optional<ParamType> type;
        if (t->kind == YamlNode::Kind::kScalar && t->scalar.is_string()) {
          type = ParseParamType(t->scalar.as_string());
        }
        if (type) {
          p.type = *type;
        } else {
          Error(t->pos, "unknown param type " + Quote(t->text) +
                            "; expected string, int, bool, double, list, object or any");
          type_ok = false;
        }
      }
      if (const YamlNode* r = entry.Find("required")) {
        if (r->scalar.is_bool() && r->kind == YamlNode::Kind::kScalar) {
          p.required = r->scalar.as_bool();
        } else {
          Error(r->pos, "\"required\" must be a bool, not " + r->Described());
        }
      }
      if (const YamlNode* d = entry.Find("default")) {
        Value v = d->ToValue();
        if (type_ok && !FitParamType(p.type, &v)) {
          Error(d->pos, "default of param " + Quote(p.name) + " must be of type " +
                            std::string(ParamTypeName(p.type)) + ", not " +
                            std::string(d->TypeName()));
        } else {
          p.default_value = std::move(v);
        }
      }
      if (!name_ok) continue;
      auto [it, inserted] = params_.emplace(p.name, p);
      if (!inserted) {
        Error(p.pos, "duplicate param " + Quote(p.name) + " (first at " + At(it->second.pos) + ")");
        continue;
      }
      wf->params.push_back(std::move(p));
    }
  }

  // ---- steps, phase 2 ----

  void ReadStep(const YamlNode& n, bool is_finally) {
    std::string_view what = is_finally ? "finally step" : "step";
    if (n.kind != YamlNode::Kind::kMap) {
      Error(n.pos, std::string(is_finally ? "finally" : "steps") + " entries must be maps, not " +
                       n.Described());
      return;
    }
    StepInfo s;
    s.map_pos = n.pos;
    s.def.is_finally = is_finally;
    s.def.pos = n.pos;
    std::vector<std::string> allowed = {"id",   "action", "needs",  "forEach",
                                        "with", "retry",  "timeout"};
    if (is_finally) allowed.push_back("if");
    for (const YamlEntry& e : n.entries) {
      if (e.key == "if" && !is_finally) {
        Error(e.key_pos, "\"if\" is only allowed on finally steps");
      } else if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end()) {
        Error(e.key_pos, "unknown key " + Quote(e.key) + " in " + std::string(what) +
                             "; expected one of: " + JoinList(allowed));
      }
    }

    s.def.id = RequiredString(n, "id", what);
    if (!s.def.id.empty()) {
      s.def.pos = n.Find("id")->pos;
      if (IsName(s.def.id)) {
        s.has_id = true;
      } else {
        Error(s.def.pos, "bad step id " + Quote(s.def.id) + ": use letters, digits, '_' and '-'");
      }
    }

    s.def.action = RequiredString(n, "action", what);
    const ActionSpec* spec = nullptr;
    if (!s.def.action.empty()) {
      spec = actions_.FindAction(s.def.action);
      if (spec == nullptr) Error(n.Find("action")->pos, "unknown action " + Quote(s.def.action));
    }

    if (const YamlNode* needs = n.Find("needs")) ReadNeeds(*needs, &s);

    if (const YamlNode* fe = n.Find("forEach")) {
      s.has_for_each = true;
      ReadForEach(*fe, &s);
    }

    if (const YamlNode* with = n.Find("with")) {
      if (with->kind != YamlNode::Kind::kMap) {
        Error(with->pos, "\"with\" must be a map, not " + with->Described());
      } else {
        s.def.with = with->ToValue();
        CollectRefUses(*with, /*in_for_each=*/false, &s.refs);
      }
    }
    if (spec != nullptr) CheckWith(*spec, n, &s);

    if (const YamlNode* retry = n.Find("retry")) ReadRetry(*retry, &s.def.retry);

    if (auto t = ReadDuration(n, "timeout", "30s")) {
      if (t->count() <= 0) {
        Error(n.Find("timeout")->pos, "timeout must be greater than 0");
      } else {
        s.def.timeout = *t;
      }
    }

    if (is_finally) {
      if (const YamlNode* cond = n.Find("if")) ReadCondition(*cond, &s);
    }
    steps_.push_back(std::move(s));
  }

  void ReadNeeds(const YamlNode& needs, StepInfo* s) {
    if (needs.kind != YamlNode::Kind::kList) {
      Error(needs.pos, "\"needs\" must be a list of step ids, not " + needs.Described());
      return;
    }
    for (const YamlNode& e : needs.items) {
      if (e.kind != YamlNode::Kind::kScalar || !e.scalar.is_string()) {
        Error(e.pos, "needs entries must be step ids, not " + e.Described());
        continue;
      }
      const std::string& id = e.scalar.as_string();
      bool dup = false;
      for (const auto& [prev, pos] : s->needs) dup = dup || prev == id;
      if (dup) {
        Error(e.pos, "step " + Quote(id) + " is listed twice in needs");
        continue;
      }
      s->needs.emplace_back(id, e.pos);
    }
  }

  void ReadForEach(const YamlNode& fe, StepInfo* s) {
    if (fe.kind == YamlNode::Kind::kList) {
      s->def.for_each = fe.ToValue();
      CollectRefUses(fe, /*in_for_each=*/true, &s->refs);
      return;
    }
    bool exact_ref = false;
    if (fe.kind == YamlNode::Kind::kScalar && fe.scalar.is_string()) {
      const std::string& text = fe.scalar.as_string();
      Result<std::vector<RefPath>> refs = CollectRefs(fe.scalar);
      exact_ref = refs.ok() && refs->size() == 1 && text.size() >= 3 &&
                  text.compare(0, 2, "$(") == 0 && text.back() == ')' &&
                  (*refs)[0].text == text.substr(2, text.size() - 3);
      if (!refs.ok() && text.compare(0, 2, "$(") == 0) {
        Error(fe.pos, refs.status().message());  // e.g. a bad path: say what is wrong with it
        return;
      }
      if (exact_ref) {
        s->def.for_each = fe.scalar;
        s->refs.push_back(RefUse{(*refs)[0], fe.pos, /*in_for_each=*/true});
        return;
      }
    }
    Error(fe.pos, "\"forEach\" must be a list or a single \"$(...)\" reference, not " +
                      (fe.scalar.is_string() ? Quote(fe.text) : fe.Described()));
  }

  void CheckWith(const ActionSpec& spec, const YamlNode& step, StepInfo* s) {
    const YamlNode* with = step.Find("with");
    if (with != nullptr && with->kind != YamlNode::Kind::kMap) return;  // reported already
    if (with != nullptr) {
      for (const YamlEntry& e : with->entries) {
        if (std::find(spec.with_keys.begin(), spec.with_keys.end(), e.key) ==
            spec.with_keys.end()) {
          Error(e.key_pos,
                "action " + Quote(spec.name) + " does not take " + Quote(e.key) +
                    (spec.with_keys.empty() ? "; it takes nothing"
                                            : "; it takes: " + JoinList(spec.with_keys)));
        }
      }
    }
    for (const std::string& key : spec.required) {
      if (with == nullptr || with->Find(key) == nullptr) {
        Error(with != nullptr ? with->pos : s->map_pos,
              "action " + Quote(spec.name) + " requires " + Quote(key) + " in with");
      }
    }
  }

  void ReadRetry(const YamlNode& retry, RetryPolicy* policy) {
    if (retry.kind != YamlNode::Kind::kMap) {
      Error(retry.pos, "\"retry\" must be a map, not " + retry.Described());
      return;
    }
    CheckKeys(retry, "retry", {"limit", "backoff", "factor", "maxBackoff", "jitter"});
    if (const YamlNode* limit = retry.Find("limit")) {
      if (limit->kind != YamlNode::Kind::kScalar || !limit->scalar.is_int()) {
        Error(limit->pos, "\"limit\" must be an int, not " + limit->Described());
      } else if (limit->scalar.as_int() < 0) {
        Error(limit->pos, "retry limit must be >= 0, not " + limit->text);
      } else if (limit->scalar.as_int() > kMaxRetryLimit) {
        Error(limit->pos,
              "retry limit must be <= " + std::to_string(kMaxRetryLimit) + ", not " + limit->text);
      } else {
        policy->limit = static_cast<int>(limit->scalar.as_int());
      }
    }
    std::optional<std::chrono::milliseconds> backoff = ReadDuration(retry, "backoff", "1s");
    if (backoff) policy->backoff = *backoff;
    std::optional<std::chrono::milliseconds> max_backoff = ReadDuration(retry, "maxBackoff", "1m");
    if (max_backoff) policy->max_backoff = *max_backoff;
    if (backoff && max_backoff && *max_backoff < *backoff) {
      Error(retry.Find("maxBackoff")->pos, "maxBackoff (" + FormatDuration(*max_backoff) +
                                               ") is less than backoff (" +
                                               FormatDuration(*backoff) + ")");
    }
    if (const YamlNode* factor = retry.Find("factor")) {
      if (factor->kind != YamlNode::Kind::kScalar || !factor->scalar.is_number()) {
        Error(factor->pos, "\"factor\" must be a number, not " + factor->Described());
      } else {
        double f = factor->scalar.as_double();
        if (!(f >= 1)) {  // also NaN
          Error(factor->pos, "retry factor must be >= 1, not " + factor->text);
        } else if (f > kMaxRetryFactor) {
          Error(factor->pos, "retry factor must be <= 100, not " + factor->text);
        } else {
          policy->factor = f;
        }
      }
    }
    if (const YamlNode* jitter = retry.Find("jitter")) {
      std::string j = jitter->scalar.is_string() ? jitter->scalar.as_string() : "";
      if (jitter->kind == YamlNode::Kind::kScalar && j == "none") {
        policy->jitter = Jitter::kNone;
      } else if (jitter->kind == YamlNode::Kind::kScalar && j == "full") {
        policy->jitter = Jitter::kFull;
      } else {
        Error(jitter->pos, "retry jitter must be none or full, not " +
                               (jitter->kind == YamlNode::Kind::kScalar ? Quote(jitter->text)
                                                                        : jitter->Described()));
      }
    }
  }

  void ReadCondition(const YamlNode& cond, StepInfo* s) {
    s->if_pos = cond.pos;
    const std::string text = cond.kind == YamlNode::Kind::kScalar && cond.scalar.is_string()
                                 ? cond.scalar.as_string()
                                 : "";
    RunCondition& c = s->def.condition;
    if (text == "always") {
      c.kind = RunCondition::Kind::kAlways;
    } else if (text == "succeeded") {
      c.kind = RunCondition::Kind::kSucceeded;
    } else if (text == "failed") {
      c.kind = RunCondition::Kind::kFailed;
    } else if (text.size() > 9 && text.compare(0, 8, "started(") == 0 && text.back() == ')' &&
               IsName(std::string_view(text).substr(8, text.size() - 9))) {
      c.kind = RunCondition::Kind::kStarted;
      c.step = text.substr(8, text.size() - 9);
      s->started = c.step;
    } else {
      std::string shown =
          cond.kind == YamlNode::Kind::kScalar ? Quote(cond.text) : cond.Described();
      Error(cond.pos,
            "bad if " + shown + ": expected always, succeeded, failed or started(<step id>)");
    }
  }

  // Every reference in the string scalars under `n`, with the scalar's position. A malformed
  // reference is reported here.
  void CollectRefUses(const YamlNode& n, bool in_for_each, std::vector<RefUse>* out) {
    switch (n.kind) {
      case YamlNode::Kind::kScalar: {
        if (!n.scalar.is_string()) return;
        // Reference by reference (not CollectRefs on the whole string), so that one bad
        // reference does not hide the problems of the others.
        const std::string& s = n.scalar.as_string();
        for (size_t i = 0; i < s.size();) {
          if (s.compare(i, 3, "$$(") == 0) {
            i += 3;
          } else if (s.compare(i, 2, "$(") == 0) {
            size_t close = s.find(')', i + 2);
            if (close == std::string::npos) {
              Error(n.pos, "unterminated \"$(\" in " + Quote(s));
              return;
            }
            Result<RefPath> r = ParseRefPath(std::string_view(s).substr(i + 2, close - i - 2));
            if (r.ok()) {
              out->push_back(RefUse{std::move(r).value(), n.pos, in_for_each});
            } else {
              Error(n.pos, r.status().message());
            }
            i = close + 1;
          } else {
            ++i;
          }
        }
        return;
      }
      case YamlNode::Kind::kList:
        for (const YamlNode& e : n.items) CollectRefUses(e, in_for_each, out);
        return;
      case YamlNode::Kind::kMap:
        for (const YamlEntry& e : n.entries) CollectRefUses(e.value, in_for_each, out);
        return;
    }
  }

  const ActionCatalog& actions_;
  std::vector<Diagnostic>* diags_;
  internal::ParamIndex params_;
  std::vector<StepInfo> steps_;
};

}  // namespace

Result<Workflow> LoadWorkflow(std::string_view text, std::string_view file_name,
                              const ActionCatalog& actions, std::vector<Diagnostic>* diagnostics) {
  std::vector<Diagnostic> diags;
  Workflow wf;
  try {
    std::optional<internal::YamlNode> root = internal::ParseYaml(text, &diags);
    if (root) Loader(actions, &diags).Load(*root, &wf);
  } catch (const std::exception& e) {  // e.g. bad_alloc: still no exception out of the API
    diags.push_back(Diagnostic{"", SourcePos{1, 1}, std::string("cannot load: ") + e.what()});
  }
  if (diags.empty()) {
    wf.source_text = std::string(text);
    wf.hash = Sha256Hex(text);
    return wf;
  }
  std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.pos.line != b.pos.line ? a.pos.line < b.pos.line : a.pos.column < b.pos.column;
  });
  std::string message;
  for (Diagnostic& d : diags) {
    d.file = std::string(file_name);
    if (!message.empty()) message += "\n";
    message += d.ToString();
  }
  if (diagnostics != nullptr) diagnostics->insert(diagnostics->end(), diags.begin(), diags.end());
  return InvalidArgumentError(std::move(message));
}

}  // namespace brfed
