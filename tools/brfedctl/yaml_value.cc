#include "tools/brfedctl/yaml_value.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <string>

namespace brfed::ctl {
namespace {

Value PlainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Value();
  if (s == "true" || s == "True" || s == "TRUE") return Value(true);
  if (s == "false" || s == "False" || s == "FALSE") return Value(false);
  int64_t i = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && end == s.data() + s.size()) return Value(i);
  // Floats: digits with a '.' or an exponent; strtod alone would accept "inf" and hex.
  bool numeric = s.find_first_not_of("0123456789+-.eE") == std::string::npos &&
                 s.find_first_of("0123456789") != std::string::npos;
  if (numeric) {
    char* stop = nullptr;
    double d = std::strtod(s.c_str(), &stop);
    if (stop == s.c_str() + s.size()) return Value(d);
  }
  return Value(s);
}

Result<Value> Convert(const YAML::Node& n, std::string_view where, int depth) {
  auto at = [&](const YAML::Node& node) {
    return std::string(where) + ":" + std::to_string(node.Mark().line + 1) + ":" +
           std::to_string(node.Mark().column + 1);
  };
  if (depth > 64) return InvalidArgumentError(at(n) + ": nested too deeply");
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Value();
    case YAML::NodeType::Scalar:
      if (n.Tag() == "!") return Value(n.Scalar());  // quoted: always a string
      return PlainScalar(n.Scalar());
    case YAML::NodeType::Sequence: {
      Value::List list;
      for (const YAML::Node& e : n) {
        ASSIGN_OR_RETURN(Value v, Convert(e, where, depth + 1));
        list.push_back(std::move(v));
      }
      return Value(std::move(list));
    }
    case YAML::NodeType::Map: {
      Value::Map map;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) return InvalidArgumentError(at(kv.first) + ": map keys must be scalars");
        ASSIGN_OR_RETURN(Value v, Convert(kv.second, where, depth + 1));
        if (!map.emplace(kv.first.Scalar(), std::move(v)).second) {
          return InvalidArgumentError(at(kv.first) + ": duplicate key \"" + kv.first.Scalar() + "\"");
        }
      }
      return Value(std::move(map));
    }
  }
  return InvalidArgumentError(std::string(where) + ": unsupported YAML node");
}

}  // namespace

Result<Value> ParseYamlValue(std::string_view text, std::string_view where) {
  try {
    YAML::Node node = YAML::Load(std::string(text));
    return Convert(node, where, 0);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string(where) + ":" + std::to_string(e.mark.line + 1) + ":" +
                                std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

}  // namespace brfed::ctl
