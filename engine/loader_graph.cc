// Phase 3 of LoadWorkflow: the cross-references between steps (see loader_internal.h).
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/loader_internal.h"

namespace brfed::internal {
namespace {

class GraphChecker {
 public:
  GraphChecker(std::vector<StepInfo>* steps, const ParamIndex& params,
               std::vector<Diagnostic>* diags)
      : steps_(*steps), params_(params), diags_(diags) {}

  void Run() {
    // Ids: the first step with an id owns it.
    for (size_t i = 0; i < steps_.size(); ++i) {
      const StepInfo& s = steps_[i];
      if (!s.has_id) continue;
      auto [it, inserted] = index_.emplace(s.def.id, i);
      if (!inserted) {
        Error(s.def.pos, "duplicate step id " + Quote(s.def.id) + " (first at " +
                             At(steps_[it->second].def.pos) + ")");
      }
    }
    // Needs: resolved into edges within a section.
    edges_.assign(steps_.size(), {});
    for (size_t i = 0; i < steps_.size(); ++i) {
      StepInfo& s = steps_[i];
      for (const auto& [id, pos] : s.needs) {
        auto it = index_.find(id);
        if (it == index_.end()) {
          Error(pos, "needs unknown step " + Quote(id));
          continue;
        }
        const StepInfo& dep = steps_[it->second];
        if (dep.def.is_finally && !s.def.is_finally) {
          Error(pos, "step " + Quote(s.def.id) + " cannot need finally step " + Quote(id));
          continue;
        }
        if (!dep.def.is_finally && s.def.is_finally) {
          Error(pos, "finally step " + Quote(s.def.id) + " cannot need main step " + Quote(id) +
                         "; finally steps run after the main steps ended");
          continue;
        }
        if (s.has_id) s.def.needs.push_back(id);
        if (IsOwner(i)) edges_[i].push_back(it->second);
      }
    }
    ReportCycles();
    for (size_t i = 0; i < steps_.size(); ++i) {
      StepInfo& s = steps_[i];
      if (!s.started.empty()) {
        auto it = index_.find(s.started);
        if (it == index_.end() || steps_[it->second].def.is_finally) {
          Error(s.if_pos, "if: started(" + s.started + ") must name a main step");
        }
      }
      for (const RefUse& r : s.refs) CheckRef(i, r);
    }
  }

  // Whether step i is the one its id refers to (not a later duplicate).
  bool IsOwner(size_t i) const {
    if (!steps_[i].has_id) return false;
    auto it = index_.find(steps_[i].def.id);
    return it != index_.end() && it->second == i;
  }

  // One diagnostic per strongly connected component that holds a cycle, naming the steps of
  // one cycle through its first step (in file order).
  void ReportCycles() {
    size_t n = steps_.size();
    // Tarjan's algorithm, iterative: the graph comes from the input and may be deep.
    std::vector<int> order(n, -1), low(n, 0), comp(n, -1);
    std::vector<bool> on_stack(n, false);
    std::vector<size_t> stack;
    int counter = 0, comps = 0;
    for (size_t root = 0; root < n; ++root) {
      if (order[root] != -1) continue;
      std::vector<std::pair<size_t, size_t>> call;  // (node, next edge)
      call.emplace_back(root, 0);
      order[root] = low[root] = counter++;
      stack.push_back(root);
      on_stack[root] = true;
      while (!call.empty()) {
        auto& [v, next] = call.back();
        if (next < edges_[v].size()) {
          size_t w = edges_[v][next++];
          if (order[w] == -1) {
            order[w] = low[w] = counter++;
            stack.push_back(w);
            on_stack[w] = true;
            call.emplace_back(w, 0);
          } else if (on_stack[w]) {
            low[v] = std::min(low[v], order[w]);
          }
          continue;
        }
        size_t done = v;
        call.pop_back();
        if (!call.empty()) low[call.back().first] = std::min(low[call.back().first], low[done]);
        if (low[done] == order[done]) {
          size_t w;
          do {
            w = stack.back();
            stack.pop_back();
            on_stack[w] = false;
            comp[w] = comps;
          } while (w != done);
          ++comps;
        }
      }
    }
    std::vector<bool> reported(static_cast<size_t>(comps), false);
    for (size_t v = 0; v < n; ++v) {
      size_t c = static_cast<size_t>(comp[v]);
      if (reported[c]) continue;
      std::vector<size_t> cycle = CycleThrough(v, comp);
      if (cycle.empty()) continue;
      reported[c] = true;
      std::string text = "cycle: ";
      for (size_t u : cycle) text += steps_[u].def.id + " -> ";
      text += steps_[v].def.id;
      Error(steps_[v].def.pos, text);
    }
  }

  // The shortest path v -> ... -> v within v's component (v excluded at the end), or empty.
  std::vector<size_t> CycleThrough(size_t v, const std::vector<int>& comp) const {
    std::vector<size_t> parent(steps_.size(), SIZE_MAX);
    std::vector<size_t> queue = {v};
    std::vector<bool> seen(steps_.size(), false);
    seen[v] = true;
    for (size_t qi = 0; qi < queue.size(); ++qi) {
      size_t u = queue[qi];
      for (size_t w : edges_[u]) {
        if (w == v) {
          std::vector<size_t> path;
          for (size_t x = u; x != SIZE_MAX; x = parent[x]) path.push_back(x);
          std::reverse(path.begin(), path.end());
          return path;
        }
        if (seen[w] || comp[w] != comp[v]) continue;
        seen[w] = true;
        parent[w] = u;
        queue.push_back(w);
      }
    }
    return {};
  }

  // Steps reachable from step i through needs (memoized).
  const std::vector<bool>& Upstream(size_t i) {
    auto it = upstream_.find(i);
    if (it != upstream_.end()) return it->second;
    std::vector<bool> seen(steps_.size(), false);
    std::vector<size_t> queue = edges_[i];
    for (size_t w : queue) seen[w] = true;
    for (size_t qi = 0; qi < queue.size(); ++qi) {
      for (size_t w : edges_[queue[qi]]) {
        if (!seen[w]) {
          seen[w] = true;
          queue.push_back(w);
        }
      }
    }
    return upstream_.emplace(i, std::move(seen)).first->second;
  }

  void CheckRef(size_t i, const RefUse& r) {
    const StepInfo& s = steps_[i];
    std::string ref = "$(" + r.path.text + ")";
    if (r.path.head == "params") {
      const std::string& name = r.path.parts[0].key;
      auto it = params_.find(name);
      if (it == params_.end()) {
        Error(r.pos, ref + ": no param " + Quote(name) + " is declared");
        return;
      }
      ParamType t = it->second.type;
      if (r.in_for_each && r.path.parts.size() == 1 && s.def.for_each &&
          s.def.for_each->is_string() && t != ParamType::kList && t != ParamType::kAny) {
        Error(r.pos, "forEach over param " + Quote(name) + " of type " +
                         std::string(ParamTypeName(t)) + "; it must be a list");
      }
      return;
    }
    if (r.path.head == "item") {
      if (r.in_for_each) {
        Error(r.pos, ref + ": forEach cannot reference item");
      } else if (!s.has_for_each) {
        Error(r.pos, ref + ": item is only defined in a forEach step");
      }
      return;
    }
    // steps.<id>.outputs...
    const std::string& id = r.path.parts[0].key;
    auto it = index_.find(id);
    if (it == index_.end()) {
      Error(r.pos, ref + ": no step " + Quote(id));
      return;
    }
    // A later duplicate of an id (reported already) has no place in the graph.
    if (!IsOwner(i) && s.has_id) return;
    const StepInfo& target = steps_[it->second];
    bool upstream = false;
    if (s.def.is_finally && !target.def.is_finally) {
      upstream = true;  // every main step has ended before a finally step runs
    } else if (s.def.is_finally == target.def.is_finally && IsOwner(i)) {
      upstream = Upstream(i)[it->second];
    }
    if (!upstream) {
      Error(r.pos, ref + ": step " + Quote(id) + " is not upstream of " + Quote(s.def.id) +
                       " (not reachable through needs)");
    }
  }

 private:
  void Error(SourcePos pos, std::string reason) {
    diags_->push_back(Diagnostic{"", pos, std::move(reason)});
  }

  std::vector<StepInfo>& steps_;
  const ParamIndex& params_;
  std::vector<Diagnostic>* diags_;
  std::map<std::string, size_t, std::less<>> index_;  // id -> first step with it
  std::vector<std::vector<size_t>> edges_;            // needs, by step index
  std::map<size_t, std::vector<bool>> upstream_;      // memoized Upstream()
};

}  // namespace

void CheckStepGraph(std::vector<StepInfo>* steps, const ParamIndex& params,
                    std::vector<Diagnostic>* diags) {
  GraphChecker(steps, params, diags).Run();
}

}  // namespace brfed::internal
