// Internal to the workflow loader: YAML text -> a small tree of nodes with their positions and
// typed scalars. Built from yaml-cpp's event parser, so that no yaml-cpp type escapes, aliases
// are expanded under a budget, nesting is capped, and every problem becomes a Diagnostic
// instead of an exception.
//
//   std::vector<Diagnostic> diags;
//   std::optional<YamlNode> root = internal::ParseYaml(text, &diags);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/value.h"
#include "brfed/workflow.h"

namespace brfed::internal {

struct YamlEntry;

// One YAML node. Maps keep their entries in document order; keys are always scalars (other
// keys are reported and dropped) and unique (a repeated key is reported and dropped).
struct YamlNode {
  enum class Kind { kScalar, kList, kMap };
  Kind kind = Kind::kScalar;
  SourcePos pos;
  Value scalar;      // kScalar: typed by the YAML 1.2 core schema; quoted text is a string
  std::string text;  // kScalar: the scalar as written (without quotes); "" for an empty node
  std::vector<YamlNode> items;     // kList
  std::vector<YamlEntry> entries;  // kMap

  // The value of `key` in a map, or nullptr.
  const YamlNode* Find(std::string_view key) const;
  // The tree as a Value (maps keyed by their key text).
  Value ToValue() const;
  // The Value type name of this node: "string", "int", "list", "map", ...
  std::string_view TypeName() const;
  // The type for messages: "a string", "an int", "null", ...
  std::string Described() const;
};

struct YamlEntry {
  std::string key;
  SourcePos key_pos;
  YamlNode value;
};

// Limits that keep any input cheap to load.
inline constexpr size_t kMaxYamlBytes = 1 << 20;
inline constexpr int kMaxYamlDepth = 64;
inline constexpr size_t kMaxYamlNodes = 100000;  // after alias expansion

// Parses one YAML document. Problems are appended to `diags` (with an empty `file`); returns
// nullopt when the text is not usable at all (syntax error, empty, too large or too deep).
std::optional<YamlNode> ParseYaml(std::string_view text, std::vector<Diagnostic>* diags);

}  // namespace brfed::internal
