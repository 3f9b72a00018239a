// Resolution of `$(path)` references in workflow values.
//
//   MapOutputs outputs(&outputs_by_step);
//   Scope scope{.params = &params, .item = &item, .outputs = &outputs};
//   Result<Value> with = Resolve(step.with, scope);
//
// Paths: `params.<name>[.<key>|[<index>]]...`, `item[...]`, `steps.<id>.outputs[...]`.
// A string that is exactly "$(path)" takes the referenced value with its type; "$(path)"
// inside a longer string is replaced by the value's text (Value::ToText). "$$(" escapes a
// literal "$(". For a forEach step, `steps.<id>.outputs` is the list of its items' outputs in
// item order, and `steps.<id>.outputs.<key>` the list of each item's `<key>`.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/status.h"
#include "brfed/value.h"

namespace brfed {

// A parsed `$(...)` path: its head ("params", "item", "steps") and the accessors after it.
struct RefPath {
  struct Part {
    bool is_index = false;
    std::string key;  // when !is_index
    int64_t index = 0;
  };
  std::string text;  // as written, without "$(" and ")"
  std::string head;  // "params" | "item" | "steps"
  std::vector<Part> parts;
};

// Parses "params.clusters[0].name". kInvalidArgument naming what is wrong.
Result<RefPath> ParseRefPath(std::string_view text);

// Every reference in a value tree (for validation), in document order. kInvalidArgument for
// an unterminated "$(" or a bad path.
Result<std::vector<RefPath>> CollectRefs(const Value& v);

// Where `steps.<id>.outputs` come from: a map for a plain step, a list of maps for a forEach
// step. The machine answers from its own state instead of keeping a copy of every output.
class StepOutputs {
 public:
  // The outputs of step `id`, or nullptr when it has none (unknown, or not done).
  virtual const Value* Find(std::string_view id) const = 0;

 protected:
  ~StepOutputs() = default;
};

// StepOutputs held in a map (tests and tools). The map must outlive it.
class MapOutputs final : public StepOutputs {
 public:
  explicit MapOutputs(const std::map<std::string, Value, std::less<>>* map) : map_(map) {}
  const Value* Find(std::string_view id) const override {
    auto it = map_->find(id);
    return it == map_->end() ? nullptr : &it->second;
  }

 private:
  const std::map<std::string, Value, std::less<>>* map_;
};

struct Scope {
  const Value* params = nullptr;  // map
  const Value* item = nullptr;    // null when not in a forEach step
  const StepOutputs* outputs = nullptr;
};

// True when `v` holds no "$(" in any string (no reference, no escape): Resolve would return
// it unchanged, whatever the scope.
bool IsLiteral(const Value& v);

// Resolves every reference in `v`. kInvalidArgument (naming the path) for a missing key, an
// index out of range, or a reference to something the scope lacks.
Result<Value> Resolve(const Value& v, const Scope& scope);

}  // namespace brfed
