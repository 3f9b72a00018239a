// YAML → JSON for the config file, CRD manifests and seed objects.
#include <cstdlib>

#include <yaml-cpp/yaml.h>

#include "tools/kube-sim/internal.h"

namespace brfed::kubesim::internal {

namespace {

using json = nlohmann::json;

json ScalarToJson(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return s;  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  // Integers and floats as YAML 1.2 core schema.
  const char* b = s.c_str();
  char* end = nullptr;
  errno = 0;
  long long i = std::strtoll(b, &end, 10);
  if (*end == '\0' && errno == 0 && std::isdigit(static_cast<unsigned char>(s.back()))) return i;
  bool looks_float = s.find_first_of("0123456789") != std::string::npos &&
                     s.find_first_not_of("0123456789+-.eE") == std::string::npos;
  if (looks_float) {
    double d = std::strtod(b, &end);
    if (*end == '\0') return d;
  }
  return s;
}

json NodeToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return ScalarToJson(n);
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& e : n) a.push_back(NodeToJson(e));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = NodeToJson(kv.second);
      return o;
    }
  }
  return nullptr;
}

}  // namespace

Result<std::vector<json>> YamlToJson(const std::string& text, const std::string& where) {
  try {
    std::vector<json> out;
    for (const YAML::Node& doc : YAML::LoadAll(text)) {
      json j = NodeToJson(doc);
      if (!j.is_null()) out.push_back(std::move(j));
    }
    return out;
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(where + ":" + std::to_string(e.mark.line + 1) + ":" +
                                std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

}  // namespace brfed::kubesim::internal
