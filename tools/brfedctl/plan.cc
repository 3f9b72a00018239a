// brfedctl plan [--kubeconfig FILE] [--workflows-dir DIR] [--dot] CR.yaml
//
// The step graph a VolumeBackup or VolumeRestore would run, without a cluster: the CR is read
// (every VolumeBackup / VolumeRestore document of the file), validated as the manager
// validates it (steps/protocol/validate.h), and the workflow of its kind — built in, or from
// --workflows-dir as the manager's -workflows-dir — is expanded: one row per step instance
// (forEach over spec.clusters), in dependency order, then the finally steps with their `if:`.
// --dot prints the same graph in Graphviz DOT.
//
// The data-plane contexts a CR may name come from --kubeconfig (the manager's
// -federation-kubeconfig-path); without it that one check is skipped.
//
// Exit codes: 0 every CR is valid; 1 a CR is invalid (its reason and message are printed);
// 2 no answer (unreadable file, no federation object in it, bad workflows).

#include <yaml-cpp/yaml.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "brfed/workflow.h"
#include "engine/expr.h"
#include "engine/runtime_params.h"
#include "kube/kubeconfig.h"
#include "manager/kinds.h"
#include "steps/protocol/validate.h"
#include "tools/brfedctl/args.h"
#include "tools/brfedctl/cli.h"
#include "tools/brfedctl/table.h"

namespace brfed::ctl {
namespace {

using nlohmann::json;

constexpr char kUsage[] =
    "usage: brfedctl plan [--kubeconfig FILE] [--workflows-dir DIR] [--dot] CR.yaml";

// A plain YAML scalar as Kubernetes reads it (YAML 1.2 core schema): null, bool, int, float,
// otherwise a string. Quoted scalars are strings.
json PlainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  bool digits = s.find_first_not_of("0123456789+-") == std::string::npos &&
                s.find_first_of("0123456789") != std::string::npos;
  if (digits) {
    try {
      size_t used = 0;
      long long v = std::stoll(s, &used);
      if (used == s.size()) return static_cast<int64_t>(v);
    } catch (const std::exception&) {
      // Out of range: falls through to a float or a string.
    }
  }
  bool numeric = s.find_first_not_of("0123456789+-.eE") == std::string::npos &&
                 s.find_first_of("0123456789") != std::string::npos;
  if (numeric) {
    try {
      size_t used = 0;
      double d = std::stod(s, &used);
      if (used == s.size()) return d;
    } catch (const std::exception&) {
      // Not a number after all.
    }
  }
  return s;
}

Result<json> ToJson(const YAML::Node& n, const std::string& file, int depth) {
  auto at = [&](const YAML::Node& node) {
    return file + ":" + std::to_string(node.Mark().line + 1) + ":" +
           std::to_string(node.Mark().column + 1);
  };
  if (depth > 64) return InvalidArgumentError(at(n) + ": nested too deeply");
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return json(nullptr);
    case YAML::NodeType::Scalar:
      if (n.Tag() == "!") return json(n.Scalar());
      return PlainScalar(n.Scalar());
    case YAML::NodeType::Sequence: {
      json list = json::array();
      for (const YAML::Node& e : n) {
        ASSIGN_OR_RETURN(json v, ToJson(e, file, depth + 1));
        list.push_back(std::move(v));
      }
      return list;
    }
    case YAML::NodeType::Map: {
      json map = json::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar())
          return InvalidArgumentError(at(kv.first) + ": map keys must be scalars");
        ASSIGN_OR_RETURN(json v, ToJson(kv.second, file, depth + 1));
        if (!map.emplace(kv.first.Scalar(), std::move(v)).second) {
          return InvalidArgumentError(at(kv.first) + ": duplicate key \"" + kv.first.Scalar() +
                                      "\"");
        }
      }
      return map;
    }
  }
  return InvalidArgumentError(at(n) + ": unsupported YAML node");
}

// Every VolumeBackup and VolumeRestore document of the file, in order.
Result<std::vector<json>> ReadObjects(const std::string& file) {
  Result<std::string> text = ReadFile(file);
  if (!text.ok()) return text.status().WithContext(file);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(*text);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                                std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  std::vector<json> objects;
  for (const YAML::Node& doc : docs) {
    ASSIGN_OR_RETURN(json obj, ToJson(doc, file, 0));
    if (!obj.is_object()) continue;
    std::string kind = obj.value("kind", json()).is_string() ? obj["kind"].get<std::string>() : "";
    if (kind == "VolumeBackup" || kind == "VolumeRestore") objects.push_back(std::move(obj));
  }
  if (objects.empty()) {
    return InvalidArgumentError(file + ": no VolumeBackup or VolumeRestore in the file");
  }
  return objects;
}

std::string Str(const json& obj, std::initializer_list<const char*> path) {
  const json* at = &obj;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return "";
    at = &(*at)[key];
  }
  return at->is_string() ? at->get<std::string>() : "";
}

// The params the manager starts the run with (manager/controller.cc RunParams): the object's
// identity, labels, annotations and spec.
json RunParams(const json& obj) {
  json meta = {{"name", Str(obj, {"metadata", "name"})},
               {"namespace", Str(obj, {"metadata", "namespace"})},
               {"uid", Str(obj, {"metadata", "uid"})}};
  const json& m = obj.contains("metadata") ? obj["metadata"] : json();
  for (const char* key : {"labels", "annotations"}) {
    if (m.is_object() && m.contains(key) && m[key].is_object()) meta[key] = m[key];
  }
  json spec = obj.contains("spec") ? obj["spec"] : json::object();
  return {{"object",
           {{"apiVersion", Str(obj, {"apiVersion"})},
            {"kind", Str(obj, {"kind"})},
            {"metadata", std::move(meta)},
            {"spec", std::move(spec)}}}};
}

std::string ConditionText(const RunCondition& c) {
  switch (c.kind) {
    case RunCondition::Kind::kAlways:
      return "always";
    case RunCondition::Kind::kSucceeded:
      return "succeeded";
    case RunCondition::Kind::kFailed:
      return "failed";
    case RunCondition::Kind::kStarted:
      return "started(" + c.step + ")";
  }
  return "";
}

// One step instance of the plan.
struct Row {
  const StepDef* step = nullptr;
  int item = -1;      // forEach index, -1 for a plain step
  std::string label;  // "execute[1]" / "initialize"
  std::string where;  // the data plane it acts on, or what decides that
};

struct PlanGraph {
  std::vector<Row> rows;  // main steps in dependency order, then finally
  std::map<std::string, std::vector<size_t>> by_step;  // step id -> its rows
};

// Where a step that is not a forEach acts, for the actions whose target the CR decides.
std::string WhereOf(const std::string& action, const json& clusters) {
  std::string first =
      clusters.is_array() && !clusters.empty() ? Str(clusters[0], {"k8sClusterName"}) : "";
  if (action == "backup.initialize" || action == "backup.resume-gc") return first;
  if (action == "backup.teardown") return "every member";
  if (action == "backup.finalize") return "control plane";
  if (action == "restore.data") return "smallest resolved ts";
  return "-";
}

// Steps of one section, ordered so that each comes after what it needs (ties: file order).
std::vector<const StepDef*> DependencyOrder(const std::vector<StepDef>& steps) {
  std::vector<const StepDef*> order;
  std::set<std::string> placed;
  while (order.size() < steps.size()) {
    bool progressed = false;
    for (const StepDef& s : steps) {
      if (placed.count(s.id) != 0) continue;
      bool ready = true;
      for (const std::string& n : s.needs) ready = ready && placed.count(n) != 0;
      if (!ready) continue;
      order.push_back(&s);
      placed.insert(s.id);
      progressed = true;
      break;
    }
    if (!progressed) break;  // a cycle: the loader rejects those, never reached
  }
  return order;
}

Result<PlanGraph> Expand(const Workflow& wf, const Value& params, const json& obj) {
  PlanGraph g;
  const json& clusters = obj["spec"]["clusters"];
  Scope scope;
  scope.params = &params;
  auto add = [&](const std::vector<StepDef>& section) -> Status {
    for (const StepDef* s : DependencyOrder(section)) {
      if (!s->for_each) {
        g.by_step[s->id].push_back(g.rows.size());
        g.rows.push_back({s, -1, s->id, WhereOf(s->action, clusters)});
        continue;
      }
      Result<Value> resolved = Resolve(*s->for_each, scope);
      if (!resolved.ok()) return resolved.status().WithContext("step " + s->id + " forEach");
      const Value& items = *resolved;
      if (!items.is_list()) {
        return InvalidArgumentError("step " + s->id + " forEach: not a list but a " +
                                    std::string(Value::TypeName(items.type())));
      }
      const Value::List& list = items.as_list();
      for (size_t i = 0; i < list.size(); ++i) {
        const Value* name = list[i].Find("k8sClusterName");
        std::string where =
            name != nullptr && name->is_string() ? name->as_string() : list[i].ToText();
        g.by_step[s->id].push_back(g.rows.size());
        g.rows.push_back({s, static_cast<int>(i), s->id + "[" + std::to_string(i) + "]", where});
      }
    }
    return Status::OK();
  };
  RETURN_IF_ERROR(add(wf.steps));
  RETURN_IF_ERROR(add(wf.finally_steps));
  return g;
}

std::string NeedsText(const StepDef& s, const PlanGraph& g) {
  if (s.needs.empty()) return "-";
  std::string out;
  for (const std::string& n : s.needs) {
    auto it = g.by_step.find(n);
    size_t count = it == g.by_step.end() ? 0 : it->second.size();
    bool fan = it != g.by_step.end() && count > 0 && g.rows[it->second[0]].item >= 0;
    out += out.empty() ? "" : ", ";
    out += fan ? n + "[*] (" + std::to_string(count) + ")" : n;
  }
  return out;
}

std::string RetryText(const StepDef& s) {
  if (s.retry.limit == 0) return "-";
  return std::to_string(s.retry.limit) + "x from " + FormatDuration(s.retry.backoff);
}

void PrintTable(const std::string& title, const PlanGraph& g, const json& obj,
                const std::string& wf_source, const Workflow& wf) {
  std::cout << title << ": valid\n"
            << "workflow " << wf.name << " (" << wf_source << ", sha256 " << wf.hash.substr(0, 12)
            << "); run id: the object's uid"
            << (Str(obj, {"metadata", "uid"}).empty() ? ""
                                                      : " (" + Str(obj, {"metadata", "uid"}) + ")")
            << "\n\n";
  Table main({"STEP", "CLUSTER", "ACTION", "NEEDS", "TIMEOUT", "RETRY"});
  Table fin({"STEP", "CLUSTER", "ACTION", "NEEDS", "IF", "TIMEOUT", "RETRY"});
  for (const Row& r : g.rows) {
    const StepDef& s = *r.step;
    std::string timeout = s.timeout ? FormatDuration(*s.timeout) : "-";
    if (s.is_finally) {
      fin.AddRow({r.label, r.where, s.action, NeedsText(s, g), ConditionText(s.condition), timeout,
                  RetryText(s)});
    } else {
      main.AddRow({r.label, r.where, s.action, NeedsText(s, g), timeout, RetryText(s)});
    }
  }
  main.Print(std::cout);
  if (fin.rows() > 0) {
    std::cout << "\nfinally (once the steps above have ended, whatever their outcome):\n";
    fin.Print(std::cout);
  }
}

std::string Quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    if (c == '\n') {
      q += "\\n";
      continue;
    }
    q += c;
  }
  return q + "\"";
}

void PrintDot(const std::string& title, const PlanGraph& g) {
  std::cout << "digraph " << Quote(title) << " {\n  label=" << Quote(title)
            << ";\n  labelloc=t;\n  rankdir=LR;\n"
            << "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n";
  auto nodes = [&](bool finally_section, const std::string& indent) {
    std::string open_step;
    for (const Row& r : g.rows) {
      if (r.step->is_finally != finally_section) continue;
      if (r.item >= 0 && open_step != r.step->id) {
        if (!open_step.empty()) std::cout << indent << "}\n";
        open_step = r.step->id;
        std::cout << indent << "subgraph " << Quote("cluster_" + r.step->id) << " {\n"
                  << indent << "  label=" << Quote(r.step->id + " (forEach)") << ";\n";
      } else if (r.item < 0 && !open_step.empty()) {
        std::cout << indent << "}\n";
        open_step.clear();
      }
      std::string label = r.label + "\n" + r.step->action;
      if (r.where != "-") label += "\n" + r.where;
      if (r.step->is_finally) label += "\nif: " + ConditionText(r.step->condition);
      std::cout << indent << (open_step.empty() ? "" : "  ") << Quote(r.label)
                << " [label=" << Quote(label) << "];\n";
    }
    if (!open_step.empty()) std::cout << indent << "}\n";
  };
  nodes(false, "  ");
  bool has_finally = false;
  for (const Row& r : g.rows) has_finally = has_finally || r.step->is_finally;
  if (has_finally) {
    std::cout << "  subgraph cluster_finally {\n    label=\"finally\";\n    style=dashed;\n";
    nodes(true, "    ");
    std::cout << "  }\n";
  }
  for (const Row& r : g.rows) {
    for (const std::string& n : r.step->needs) {
      auto it = g.by_step.find(n);
      if (it == g.by_step.end()) continue;
      for (size_t from : it->second) {
        std::cout << "  " << Quote(g.rows[from].label) << " -> " << Quote(r.label) << ";\n";
      }
    }
  }
  std::cout << "}\n";
}

// The data-plane contexts: those of --kubeconfig, or (no file) the CR's own cluster names, so
// that the context check passes and every other check still runs.
Result<std::set<std::string>> Contexts(const Args& args, const json& obj) {
  std::set<std::string> contexts;
  if (std::optional<std::string> path = args.Get("kubeconfig")) {
    ASSIGN_OR_RETURN(kube::Kubeconfig kc, kube::LoadKubeconfigFile(*path));
    for (const std::string& name : kube::ContextNames(kc)) contexts.insert(name);
    return contexts;
  }
  const json* clusters =
      obj.contains("spec") && obj["spec"].is_object() && obj["spec"].contains("clusters")
          ? &obj["spec"]["clusters"]
          : nullptr;
  if (clusters != nullptr && clusters->is_array()) {
    for (const json& c : *clusters) {
      std::string name = Str(c, {"k8sClusterName"});
      if (!name.empty()) contexts.insert(name);
    }
  }
  return contexts;
}

}  // namespace

int Plan(const std::vector<std::string>& argv) {
  Result<Args> args =
      Args::Parse("plan", argv, {{"kubeconfig", true}, {"workflows-dir", true}, {"dot", false}});
  if (!args.ok()) return PrintError(args.status());
  if (args->positional().size() != 1) return PrintError(InvalidArgumentError(kUsage));
  const std::string& file = args->positional()[0];

  Result<std::vector<json>> objects = ReadObjects(file);
  if (!objects.ok()) return PrintError(objects.status());
  Result<std::unique_ptr<StepRegistry>> registry = MakeRegistry();
  if (!registry.ok()) return PrintError(registry.status());
  std::string dir = args->Get("workflows-dir").value_or("");
  Result<manager::Workflows> workflows = manager::LoadWorkflows(**registry, dir);
  if (!workflows.ok()) return PrintError(workflows.status());

  int exit_code = kExitOk;
  bool first = true;
  for (const json& obj : *objects) {
    bool backup = obj["kind"] == "VolumeBackup";
    std::string title =
        obj["kind"].get<std::string>() + " " +
        (Str(obj, {"metadata", "namespace"}).empty() ? ""
                                                     : Str(obj, {"metadata", "namespace"}) + "/") +
        Str(obj, {"metadata", "name"});
    if (!first && !args->Has("dot")) std::cout << "\n---\n\n";
    first = false;

    Result<std::set<std::string>> contexts = Contexts(*args, obj);
    if (!contexts.ok()) return PrintError(contexts.status().WithContext("plan --kubeconfig"));
    std::optional<protocol::Invalid> bad = backup ? protocol::ValidateVolumeBackup(obj, *contexts)
                                                  : protocol::ValidateVolumeRestore(obj, *contexts);
    if (bad) {
      std::cout << title << ": invalid\n  reason:  " << bad->reason
                << "\n  message: " << bad->message << "\n";
      exit_code = kExitNo;
      continue;
    }
    const Workflow& wf = backup ? *workflows->volume_backup : *workflows->volume_restore;
    std::string source =
        dir.empty() ? "built in" : dir + (backup ? "/volume-backup.yaml" : "/volume-restore.yaml");
    Result<Value> raw = Value::FromJson(RunParams(obj).dump());
    if (!raw.ok()) return PrintError(raw.status().WithContext(title));
    Result<Value> params = ApplyParams(wf, *raw);
    if (!params.ok()) return PrintError(params.status().WithContext(title + ": params"));
    Result<PlanGraph> graph = Expand(wf, *params, obj);
    if (!graph.ok()) return PrintError(graph.status().WithContext(title));
    if (args->Has("dot")) {
      PrintDot(title + " (" + wf.name + ")", *graph);
    } else {
      PrintTable(title, *graph, obj, source, wf);
    }
  }
  return exit_code;
}

}  // namespace brfed::ctl
