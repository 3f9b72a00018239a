#include "engine/expr.h"

#include <charconv>
#include <system_error>

namespace brfed {
namespace {

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// One piece of a string value: literal text, or a reference.
struct Piece {
  bool is_ref = false;
  std::string text;  // literal text (escapes undone), or the reference path as written
};

// Splits a string into literal text and references. "$$(" is a literal "$(".
Status Split(std::string_view s, std::vector<Piece>* pieces) {
  std::string literal;
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 3, "$$(") == 0) {
      literal.append("$(");
      i += 3;
      continue;
    }
    if (s.compare(i, 2, "$(") == 0) {
      size_t close = s.find(')', i + 2);
      if (close == std::string_view::npos) {
        return InvalidArgumentError("unterminated \"$(\" in " + Quote(s));
      }
      if (!literal.empty()) pieces->push_back({false, std::move(literal)});
      literal.clear();
      pieces->push_back({true, std::string(s.substr(i + 2, close - i - 2))});
      i = close + 1;
      continue;
    }
    literal.push_back(s[i]);
    ++i;
  }
  if (!literal.empty()) pieces->push_back({false, std::move(literal)});
  return Status::OK();
}

Status CollectInto(const Value& v, std::vector<RefPath>* refs) {
  switch (v.type()) {
    case Value::Type::kString: {
      std::vector<Piece> pieces;
      RETURN_IF_ERROR(Split(v.as_string(), &pieces));
      for (const Piece& p : pieces) {
        if (!p.is_ref) continue;
        Result<RefPath> path = ParseRefPath(p.text);
        if (!path.ok()) return path.status();
        refs->push_back(std::move(path).value());
      }
      return Status::OK();
    }
    case Value::Type::kList:
      for (const Value& e : v.as_list()) RETURN_IF_ERROR(CollectInto(e, refs));
      return Status::OK();
    case Value::Type::kMap:
      for (const auto& [k, e] : v.as_map()) RETURN_IF_ERROR(CollectInto(e, refs));
      return Status::OK();
    default:
      return Status::OK();
  }
}

std::string PartText(const RefPath::Part& p) {
  return p.is_index ? "[" + std::to_string(p.index) + "]" : "." + p.key;
}

// Applies parts[from...] to `v`. `where` is the path walked so far, for messages.
Result<Value> Walk(const RefPath& path, size_t from, Value v, std::string where) {
  for (size_t i = from; i < path.parts.size(); ++i) {
    const RefPath::Part& part = path.parts[i];
    if (part.is_index) {
      if (!v.is_list()) {
        return InvalidArgumentError("$(" + path.text + "): " + where + " is a " +
                                    std::string(Value::TypeName(v.type())) +
                                    ", not a list, and has no index " + std::to_string(part.index));
      }
      const Value::List& list = v.as_list();
      if (part.index < 0 || static_cast<uint64_t>(part.index) >= list.size()) {
        return InvalidArgumentError("$(" + path.text + "): index " + std::to_string(part.index) +
                                    " is out of range of " + where + " (" +
                                    std::to_string(list.size()) + " items)");
      }
      Value next = list[static_cast<size_t>(part.index)];
      v = std::move(next);
    } else {
      const Value* member = v.Find(part.key);
      if (member == nullptr) {
        if (!v.is_map()) {
          return InvalidArgumentError("$(" + path.text + "): " + where + " is a " +
                                      std::string(Value::TypeName(v.type())) +
                                      ", not a map, and has no key " + Quote(part.key));
        }
        return InvalidArgumentError("$(" + path.text + "): " + where + " has no key " +
                                    Quote(part.key));
      }
      Value next = *member;
      v = std::move(next);
    }
    where += PartText(part);
  }
  return v;
}

Result<Value> Lookup(const RefPath& path, const Scope& scope) {
  if (path.head == "params") {
    if (scope.params == nullptr) {
      return InvalidArgumentError("$(" + path.text + "): no params in scope");
    }
    const Value* p = scope.params->Find(path.parts[0].key);
    if (p == nullptr) {
      return InvalidArgumentError("$(" + path.text + "): no param " + Quote(path.parts[0].key));
    }
    return Walk(path, 1, *p, "params." + path.parts[0].key);
  }
  if (path.head == "item") {
    if (scope.item == nullptr) {
      return InvalidArgumentError("$(" + path.text + "): no item outside a forEach step");
    }
    return Walk(path, 0, *scope.item, "item");
  }
  // steps.<id>.outputs...
  const std::string& id = path.parts[0].key;
  if (scope.outputs == nullptr) {
    return InvalidArgumentError("$(" + path.text + "): no step outputs in scope");
  }
  const Value* found = scope.outputs->Find(id);
  if (found == nullptr) {
    return InvalidArgumentError("$(" + path.text + "): step " + Quote(id) + " has no outputs");
  }
  std::string where = "steps." + id + ".outputs";
  const Value& outputs = *found;
  // A forEach step's outputs are a list, one map per item; a key right after `outputs`
  // projects it to the list of each item's value for that key.
  if (outputs.is_list() && path.parts.size() > 2 && !path.parts[2].is_index) {
    const std::string& key = path.parts[2].key;
    Value::List projected;
    projected.reserve(outputs.as_list().size());
    for (size_t i = 0; i < outputs.as_list().size(); ++i) {
      const Value* member = outputs.as_list()[i].Find(key);
      if (member == nullptr) {
        return InvalidArgumentError("$(" + path.text + "): " + where + "[" + std::to_string(i) +
                                    "] has no key " + Quote(key));
      }
      projected.push_back(*member);
    }
    return Walk(path, 3, Value(std::move(projected)), where + "." + key);
  }
  return Walk(path, 2, outputs, where);
}

Status ResolveInto(const Value& v, const Scope& scope, Value* out) {
  switch (v.type()) {
    case Value::Type::kString: {
      std::vector<Piece> pieces;
      RETURN_IF_ERROR(Split(v.as_string(), &pieces));
      if (pieces.size() == 1 && pieces[0].is_ref) {  // exactly "$(path)": keep the type
        ASSIGN_OR_RETURN(RefPath path, ParseRefPath(pieces[0].text));
        ASSIGN_OR_RETURN(*out, Lookup(path, scope));
        return Status::OK();
      }
      std::string text;
      for (const Piece& p : pieces) {
        if (!p.is_ref) {
          text += p.text;
          continue;
        }
        ASSIGN_OR_RETURN(RefPath path, ParseRefPath(p.text));
        ASSIGN_OR_RETURN(Value found, Lookup(path, scope));
        text += found.ToText();
      }
      *out = Value(std::move(text));
      return Status::OK();
    }
    case Value::Type::kList: {
      Value::List list;
      list.reserve(v.as_list().size());
      for (const Value& e : v.as_list()) {
        Value r;
        RETURN_IF_ERROR(ResolveInto(e, scope, &r));
        list.push_back(std::move(r));
      }
      *out = Value(std::move(list));
      return Status::OK();
    }
    case Value::Type::kMap: {
      Value::Map map;
      for (const auto& [k, e] : v.as_map()) {
        Value r;
        RETURN_IF_ERROR(ResolveInto(e, scope, &r));
        map.emplace(k, std::move(r));
      }
      *out = Value(std::move(map));
      return Status::OK();
    }
    default:
      *out = v;
      return Status::OK();
  }
}

}  // namespace

bool IsLiteral(const Value& v) {
  switch (v.type()) {
    case Value::Type::kString:
      return v.as_string().find("$(") == std::string::npos;
    case Value::Type::kList:
      for (const Value& e : v.as_list()) {
        if (!IsLiteral(e)) return false;
      }
      return true;
    case Value::Type::kMap:
      for (const auto& [k, e] : v.as_map()) {
        if (!IsLiteral(e)) return false;
      }
      return true;
    default:
      return true;
  }
}

Result<RefPath> ParseRefPath(std::string_view text) {
  RefPath path;
  path.text = std::string(text);
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("bad reference $(" + path.text + "): " + std::string(why));
  };
  size_t i = 0;
  while (i < text.size() && IsKeyChar(text[i])) ++i;
  path.head = std::string(text.substr(0, i));
  if (path.head != "params" && path.head != "item" && path.head != "steps") {
    return bad("must start with params, item or steps");
  }
  while (i < text.size()) {
    RefPath::Part part;
    if (text[i] == '.') {
      size_t start = ++i;
      while (i < text.size() && IsKeyChar(text[i])) ++i;
      if (i == start) return bad("expected a key after '.'");
      part.key = std::string(text.substr(start, i - start));
    } else if (text[i] == '[') {
      size_t start = ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      if (i == start || i >= text.size() || text[i] != ']') {
        return bad("expected a non-negative integer index in [...]");
      }
      auto [p, ec] = std::from_chars(text.data() + start, text.data() + i, part.index);
      if (ec != std::errc()) return bad("index out of range");
      part.is_index = true;
      ++i;  // ']'
    } else {
      return bad(std::string("unexpected character '") + text[i] + "'");
    }
    path.parts.push_back(std::move(part));
  }
  if (path.head == "params" && (path.parts.empty() || path.parts[0].is_index)) {
    return bad("expected params.<name>");
  }
  if (path.head == "steps" && (path.parts.size() < 2 || path.parts[0].is_index ||
                               path.parts[1].is_index || path.parts[1].key != "outputs")) {
    return bad("expected steps.<id>.outputs");
  }
  return path;
}

Result<std::vector<RefPath>> CollectRefs(const Value& v) {
  std::vector<RefPath> refs;
  RETURN_IF_ERROR(CollectInto(v, &refs));
  return refs;
}

Result<Value> Resolve(const Value& v, const Scope& scope) {
  Result<Value> result{Value()};
  Status s = ResolveInto(v, scope, &result.value());
  if (!s.ok()) return s;
  return result;
}

}  // namespace brfed
