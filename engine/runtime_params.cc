#include "engine/runtime_params.h"

#include <string>

namespace brfed {
namespace {

bool Fits(ParamType type, const Value& v) {
  switch (type) {
    case ParamType::kString:
      return v.is_string();
    case ParamType::kInt:
      return v.is_int();
    case ParamType::kBool:
      return v.is_bool();
    case ParamType::kDouble:
      return v.is_number();
    case ParamType::kList:
      return v.is_list();
    case ParamType::kObject:
      return v.is_map();
    case ParamType::kAny:
      return true;
  }
  return false;
}

std::string_view TypeName(ParamType type) {
  switch (type) {
    case ParamType::kString:
      return "string";
    case ParamType::kInt:
      return "int";
    case ParamType::kBool:
      return "bool";
    case ParamType::kDouble:
      return "double";
    case ParamType::kList:
      return "list";
    case ParamType::kObject:
      return "object";
    case ParamType::kAny:
      return "any";
  }
  return "?";
}

}  // namespace

Result<Value> ApplyParams(const Workflow& workflow, const Value& params) {
  const std::string where = "workflow " + workflow.name + ": ";
  if (!params.is_null() && !params.is_map()) {
    return InvalidArgumentError(where + "params must be a map, got a " +
                                std::string(Value::TypeName(params.type())));
  }
  Value::Map in = params.is_map() ? params.as_map() : Value::Map{};
  Value::Map out;
  for (const ParamDef& def : workflow.params) {
    auto it = in.find(def.name);
    if (it == in.end()) {
      if (def.default_value.has_value()) {
        out.emplace(def.name, *def.default_value);
      } else if (def.required) {
        return InvalidArgumentError(where + "param " + def.name + " is required");
      }
      continue;
    }
    if (!Fits(def.type, it->second)) {
      return InvalidArgumentError(where + "param " + def.name + " must be a " +
                                  std::string(TypeName(def.type)) + ", got a " +
                                  std::string(Value::TypeName(it->second.type())));
    }
    Value v = def.type == ParamType::kDouble && it->second.is_int()
                  ? Value(it->second.as_double())
                  : std::move(it->second);
    out.emplace(def.name, std::move(v));
    in.erase(it);
  }
  if (!in.empty()) {
    return InvalidArgumentError(where + "param " + in.begin()->first + " is not declared");
  }
  return Value(std::move(out));
}

}  // namespace brfed
