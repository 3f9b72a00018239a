// Internal to the workflow loader: what phase 2 (loader.cc, reading each step) hands to
// phase 3 (loader_graph.cc, checking ids, needs, cycles and references), and the helpers both
// use.
#pragma once

#include <algorithm>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "brfed/workflow.h"
#include "engine/expr.h"

namespace brfed::internal {

// Step ids and param names: what a $(...) path can spell.
inline bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}
inline bool IsName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsNameChar);
}

inline std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }
inline std::string At(SourcePos p) {
  return std::to_string(p.line) + ":" + std::to_string(p.column);
}

inline constexpr const char* kParamTypeNames[] = {"string", "int",    "bool", "double",
                                                  "list",   "object", "any"};

inline std::string_view ParamTypeName(ParamType t) {
  return kParamTypeNames[static_cast<size_t>(t)];
}

// A $(...) reference found in a step, with where it was written.
struct RefUse {
  RefPath path;
  SourcePos pos;
  bool in_for_each = false;
};

// What phase 2 learned about one step, for phase 3.
struct StepInfo {
  StepDef def;  // def.needs is filled by phase 3
  SourcePos map_pos;
  bool has_id = false;                                   // def.id is present and well-formed
  bool has_for_each = false;                             // `forEach` is present, even if invalid
  std::vector<std::pair<std::string, SourcePos>> needs;  // as written
  std::vector<RefUse> refs;
  std::string started;  // `if: started(X)`: X
  SourcePos if_pos;
};

using ParamIndex = std::map<std::string, ParamDef, std::less<>>;

// Phase 3: checks ids (duplicates), needs (unknown, across sections), cycles (one diagnostic per
// cycle, naming its steps in order), `if: started(X)` and every reference (declared params,
// `item` only in forEach steps, steps only upstream). Fills each well-formed step's def.needs.
// Diagnostics are appended to `diags` with an empty file name.
void CheckStepGraph(std::vector<StepInfo>* steps, const ParamIndex& params,
                    std::vector<Diagnostic>* diags);

}  // namespace brfed::internal
