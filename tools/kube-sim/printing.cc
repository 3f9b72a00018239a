// Patches and server-side Table printing.
#include <cctype>

#include "tools/kube-sim/internal.h"

namespace brfed::kubesim::internal {

using json = nlohmann::json;

void ApplyMergePatch(json& target, const json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null()) {
      target.erase(it.key());
    } else {
      ApplyMergePatch(target[it.key()], *it);
    }
  }
}

Status ApplyJsonPatch(json& target, const json& ops) {
  if (!ops.is_array()) {
    return FailedPreconditionError("json: cannot unmarshal object into Go value of type "
                                   "jsonpatch.Patch");
  }
  for (const auto& op : ops) {
    if (!op.is_object() || !op.contains("op") || !op["op"].is_string() || !op.contains("path") ||
        !op["path"].is_string()) {
      return FailedPreconditionError("the JSON patch operation " + op.dump() +
                                     " is missing op or path");
    }
  }
  try {
    json patched = target.patch(ops);
    target = std::move(patched);
  } catch (const json::exception& e) {
    std::string what = e.what();
    // "[json.exception.other_error.501] unsuccessful: {...}" → keep the human part.
    size_t close = what.find("] ");
    std::string msg = close == std::string::npos ? what : what.substr(close + 2);
    if (msg.rfind("unsuccessful", 0) == 0) msg = "testing value failed: " + msg;
    return InvalidArgumentError(msg);
  }
  return Status::OK();
}

namespace {

// Splits ".a.b[0].c" into steps.
struct PathStep {
  enum class Kind { kField, kIndex, kAll, kFilter } kind = Kind::kField;
  std::string field;
  long index = 0;
  std::string filter_field;  // @.type
  json filter_value;
  bool filter_equal = true;
};

PathStep MakeStep(PathStep::Kind kind, std::string field) {
  PathStep st;
  st.kind = kind;
  st.field = std::move(field);
  return st;
}

bool ParsePath(std::string_view p, std::vector<PathStep>* out) {
  std::string s(p);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (s.size() >= 2 && s.front() == '{' && s.back() == '}') s = s.substr(1, s.size() - 2);
  if (!s.empty() && s[0] == '$') s.erase(0, 1);
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
      size_t start = i;
      while (i < s.size() && s[i] != '.' && s[i] != '[') ++i;
      if (i == start) return false;
      out->push_back(MakeStep(PathStep::Kind::kField, s.substr(start, i - start)));
    } else if (s[i] == '[') {
      size_t close = s.find(']', i);
      if (close == std::string::npos) return false;
      std::string inner = s.substr(i + 1, close - i - 1);
      i = close + 1;
      if (inner == "*") {
        out->push_back(MakeStep(PathStep::Kind::kAll, ""));
      } else if (!inner.empty() && (inner[0] == '\'' || inner[0] == '"')) {
        out->push_back(MakeStep(PathStep::Kind::kField, inner.substr(1, inner.size() - 2)));
      } else if (inner.rfind("?(@.", 0) == 0 && inner.back() == ')') {
        std::string expr = inner.substr(4, inner.size() - 5);
        PathStep st = MakeStep(PathStep::Kind::kFilter, "");
        size_t op = expr.find("==");
        size_t neq = expr.find("!=");
        size_t oplen = 2;
        if (neq != std::string::npos && (op == std::string::npos || neq < op)) {
          op = neq;
          st.filter_equal = false;
        }
        if (op == std::string::npos) return false;
        st.filter_field = expr.substr(0, op);
        while (!st.filter_field.empty() && st.filter_field.back() == ' ') st.filter_field.pop_back();
        std::string v = expr.substr(op + oplen);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        if (!v.empty() && (v.front() == '"' || v.front() == '\'')) {
          st.filter_value = v.substr(1, v.size() - 2);
        } else {
          st.filter_value = json::parse(v, nullptr, false);
          if (st.filter_value.is_discarded()) st.filter_value = v;
        }
        out->push_back(std::move(st));
      } else {
        char* end = nullptr;
        long idx = std::strtol(inner.c_str(), &end, 10);
        if (end == inner.c_str() || *end != '\0') return false;
        PathStep st = MakeStep(PathStep::Kind::kIndex, "");
        st.index = idx;
        out->push_back(std::move(st));
      }
    } else {
      // A bare leading field ("status.phase").
      size_t start = i;
      while (i < s.size() && s[i] != '.' && s[i] != '[') ++i;
      out->push_back(MakeStep(PathStep::Kind::kField, s.substr(start, i - start)));
    }
  }
  return true;
}

const json* FieldOf(const json& o, const std::string& dotted) {
  const json* cur = &o;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string part =
        dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

}  // namespace

std::vector<json> EvalJsonPath(const json& root, std::string_view path) {
  std::vector<PathStep> steps;
  if (!ParsePath(path, &steps)) return {};
  std::vector<const json*> cur{&root};
  for (const PathStep& st : steps) {
    std::vector<const json*> next;
    for (const json* v : cur) {
      switch (st.kind) {
        case PathStep::Kind::kField:
          if (v->is_object()) {
            auto it = v->find(st.field);
            if (it != v->end()) next.push_back(&*it);
          }
          break;
        case PathStep::Kind::kIndex:
          if (v->is_array()) {
            long n = static_cast<long>(v->size());
            long idx = st.index < 0 ? n + st.index : st.index;
            if (idx >= 0 && idx < n) next.push_back(&(*v)[static_cast<size_t>(idx)]);
          }
          break;
        case PathStep::Kind::kAll:
          if (v->is_array() || v->is_object()) {
            for (const auto& e : *v) next.push_back(&e);
          }
          break;
        case PathStep::Kind::kFilter:
          if (v->is_array()) {
            for (const auto& e : *v) {
              const json* f = FieldOf(e, st.filter_field);
              bool eq = f != nullptr && *f == st.filter_value;
              if (eq == st.filter_equal) next.push_back(&e);
            }
          }
          break;
      }
    }
    cur = std::move(next);
  }
  std::vector<json> out;
  for (const json* v : cur) out.push_back(*v);
  return out;
}

json BuildTable(const ResourceInfo& info, const std::vector<json>& objects, IncludeObject include,
                std::chrono::system_clock::time_point now, bool with_column_definitions) {
  std::vector<PrinterColumn> cols = info.printer_columns;
  if (cols.empty()) {
    cols.push_back({"Age", "date", "",
                    "Custom resource definition column (in JSONPath format): "
                    ".metadata.creationTimestamp",
                    ".metadata.creationTimestamp", 0});
  }
  json table = {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", json::object()}};
  if (with_column_definitions) {
    json defs = json::array();
    defs.push_back({{"name", "Name"},
                    {"type", "string"},
                    {"format", "name"},
                    {"description", "Name must be unique within a namespace. Is required when "
                                    "creating resources, although some resources may allow a "
                                    "client to request the generation of an appropriate name "
                                    "automatically. Name is primarily intended for creation "
                                    "idempotence and configuration definition. Cannot be "
                                    "updated."},
                    {"priority", 0}});
    for (const auto& c : cols) {
      defs.push_back({{"name", c.name},
                      {"type", c.type},
                      {"format", c.format},
                      {"description", c.description},
                      {"priority", c.priority}});
    }
    table["columnDefinitions"] = std::move(defs);
  } else {
    table["columnDefinitions"] = json::array();
  }
  json rows = json::array();
  for (const json& o : objects) {
    json cells = json::array();
    cells.push_back(o.contains("metadata") ? o["metadata"].value("name", "") : "");
    for (const auto& c : cols) {
      std::vector<json> vals = EvalJsonPath(o, c.json_path);
      if (vals.empty() || vals[0].is_null()) {
        cells.push_back(nullptr);
        continue;
      }
      const json& v = vals[0];
      if (c.type == "date") {
        std::optional<std::chrono::system_clock::time_point> t;
        if (v.is_string()) t = ParseTime(v.get<std::string>());
        if (t) {
          cells.push_back(HumanDuration(now - *t));
        } else {
          cells.push_back(v.is_string() ? v : json(v.dump()));
        }
      } else if (c.type == "string") {
        std::string text;
        for (size_t i = 0; i < vals.size(); ++i) {
          if (i) text += " ";
          text += vals[i].is_string() ? vals[i].get<std::string>() : vals[i].dump();
        }
        cells.push_back(text);
      } else if (c.type == "integer" || c.type == "number") {
        cells.push_back(v.is_number() ? v : json(nullptr));
      } else if (c.type == "boolean") {
        cells.push_back(v.is_boolean() ? v : json(nullptr));
      } else {
        cells.push_back(v);
      }
    }
    json row = {{"cells", std::move(cells)}};
    if (include == IncludeObject::kObject) {
      row["object"] = o;
    } else if (include == IncludeObject::kMetadata) {
      json md = o.value("metadata", json::object());
      md.erase("managedFields");
      row["object"] = {{"kind", "PartialObjectMetadata"},
                       {"apiVersion", "meta.k8s.io/v1"},
                       {"metadata", std::move(md)}};
    }
    rows.push_back(std::move(row));
  }
  table["rows"] = std::move(rows);
  return table;
}

void MarkCrdEstablished(Store* store, const std::string& name) {
  const ResourceKey crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions"};
  std::string now = FormatTime(std::chrono::system_clock::now());
  store
      ->Mutate(
          crds, "", name,
          [&](json& crd) {
            json& st = crd["status"];
            st["conditions"] = json::array(
                {{{"type", "NamesAccepted"}, {"status", "True"}, {"reason", "NoConflicts"},
                  {"message", "no conflicts found"}, {"lastTransitionTime", now}},
                 {{"type", "Established"}, {"status", "True"}, {"reason", "InitialNamesAccepted"},
                  {"message", "the initial names have been accepted"},
                  {"lastTransitionTime", now}}});
            st["acceptedNames"] =
                crd.contains("spec") ? crd["spec"].value("names", json::object()) : json::object();
            json versions = json::array();
            if (crd.contains("spec") && crd["spec"].contains("versions")) {
              for (const auto& v : crd["spec"]["versions"]) {
                if (v.value("storage", false)) versions.push_back(v.value("name", ""));
              }
            }
            st["storedVersions"] = versions;
            return Status::OK();
          },
          /*status_subresource=*/true)
      .status()
      .IgnoreError();
}

}  // namespace brfed::kubesim::internal
