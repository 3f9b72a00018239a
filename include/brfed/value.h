// Value: a JSON-like tree (null, bool, int, double, string, list, map) for workflow params,
// step inputs (`with`) and step outputs. Maps are ordered by key, so a Value's JSON text is
// deterministic and can be journaled and compared byte for byte.
//
//   Value v = Value::Map{{"zones", Value::List{"a", "b"}}, {"retries", 3}};
//   std::string json = v.ToJson();                 // {"retries":3,"zones":["a","b"]}
//   Result<Value> back = Value::FromJson(json);    // == v
//   const Value* zones = v.Find("zones");          // nullptr when absent or not a map
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "brfed/status.h"

namespace brfed {

class Value {
 public:
  using List = std::vector<Value>;
  using Map = std::map<std::string, Value, std::less<>>;
  enum class Type { kNull, kBool, kInt, kDouble, kString, kList, kMap };

  Value() = default;  // null
  Value(std::nullptr_t) {}                                 // NOLINT
  Value(bool b) : v_(b) {}                                 // NOLINT
  Value(int i) : v_(static_cast<int64_t>(i)) {}            // NOLINT
  Value(int64_t i) : v_(i) {}                              // NOLINT
  Value(double d) : v_(d) {}                               // NOLINT
  Value(std::string s) : v_(std::move(s)) {}               // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}        // NOLINT
  Value(const char* s) : v_(std::string(s)) {}             // NOLINT
  Value(List l) : v_(std::move(l)) {}                      // NOLINT
  Value(Map m) : v_(std::move(m)) {}                       // NOLINT

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_double() const { return type() == Type::kDouble; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return type() == Type::kString; }
  bool is_list() const { return type() == Type::kList; }
  bool is_map() const { return type() == Type::kMap; }

  // REQUIRES: the matching is_*() is true.
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return is_int() ? static_cast<double>(as_int()) : std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const List& as_list() const { return std::get<List>(v_); }
  List& as_list() { return std::get<List>(v_); }
  const Map& as_map() const { return std::get<Map>(v_); }
  Map& as_map() { return std::get<Map>(v_); }

  // *this = other, without the variant's general copy for the values most records carry
  // (null and {}), which recovery assigns for every record it folds.
  void Assign(const Value& other);
  // *this = Map{}, keeping the map this may be already.
  void SetEmptyMap();

  // The member `key` of a map; nullptr when this is not a map or has no such key.
  const Value* Find(std::string_view key) const;

  // Compact JSON with keys in order. Doubles that are integral keep a ".0".
  std::string ToJson() const;
  // Parses JSON text; errors are kInvalidArgument naming the offset.
  static Result<Value> FromJson(std::string_view text);

  // The text a `$(path)` reference inside a longer string is replaced by: a string as is,
  // null as "", anything else as its JSON.
  std::string ToText() const;

  // "null", "bool", "int", "double", "string", "list", "map".
  static std::string_view TypeName(Type t);

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

 private:
  std::variant<std::nullptr_t, bool, int64_t, double, std::string, List, Map> v_;
};

}  // namespace brfed
