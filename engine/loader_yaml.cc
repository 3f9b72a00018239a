#include "engine/loader_yaml.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <system_error>

namespace brfed::internal {
namespace {

constexpr std::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

SourcePos PosOf(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0 || m.column < 0) return SourcePos{};
  return SourcePos{m.line + 1, m.column + 1};
}

// The position just past the last character: where "unexpected end" errors belong.
SourcePos EndOf(std::string_view text) {
  SourcePos p{1, 1};
  for (char c : text) {
    if (c == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

bool AllOf(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}
bool IsDec(char c) { return c >= '0' && c <= '9'; }
bool IsOct(char c) { return c >= '0' && c <= '7'; }
bool IsHex(char c) { return IsDec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsFloatSyntax(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0;
  while (i < s.size() && IsDec(s[i])) ++i, ++int_digits;
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDec(s[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && IsDec(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

// A plain (unquoted, untagged) scalar typed by the YAML 1.2 core schema.
Value ResolvePlain(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Value();
  if (s == "true" || s == "True" || s == "TRUE") return Value(true);
  if (s == "false" || s == "False" || s == "FALSE") return Value(false);
  std::string_view body = s;
  bool negative = false;
  if (body[0] == '-' || body[0] == '+') {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (AllOf(body, IsDec)) {
    std::string digits = (negative ? "-" : "") + std::string(body);
    int64_t i = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), i);
    if (ec == std::errc() && p == digits.data() + digits.size()) return Value(i);
    // Beyond int64: fall through and read it as a float.
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    std::string_view digits = std::string_view(s).substr(2);
    int base = s[1] == 'o' ? 8 : 16;
    if (AllOf(digits, base == 8 ? IsOct : IsHex)) {
      int64_t i = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), i, base);
      if (ec == std::errc() && p == digits.data() + digits.size()) return Value(i);
      return Value(s);  // too large for int64
    }
  }
  if (body == ".inf" || body == ".Inf" || body == ".INF") {
    return Value(negative ? -std::numeric_limits<double>::infinity()
                          : std::numeric_limits<double>::infinity());
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    return Value(std::numeric_limits<double>::quiet_NaN());
  }
  if (IsFloatSyntax(s)) {
    std::string digits = (negative ? "-" : "") + std::string(body);
    double d = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
    if (ec == std::errc() && p == digits.data() + digits.size()) return Value(d);
  }
  return Value(s);
}

// Builds YamlNodes from parser events. After the first fatal problem (too deep, too many
// nodes) it ignores every further event; the parser still runs to the end of the document.
class TreeBuilder final : public YAML::EventHandler {
 public:
  TreeBuilder(std::string_view text, std::vector<Diagnostic>* diags) : text_(text), diags_(diags) {}

  bool failed() const { return failed_; }
  std::optional<YamlNode>& root() { return root_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  // yaml-cpp reports "~", "null", "Null" and "NULL" as null events without their text; the
  // text is needed when such a scalar is a map key, so read it back from the source.
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (failed_) return;
    YamlNode n;
    n.pos = PosOf(mark);
    if (mark.pos >= 0 && static_cast<size_t>(mark.pos) < text_.size()) {
      std::string_view at = text_.substr(static_cast<size_t>(mark.pos));
      for (std::string_view word : {"null", "Null", "NULL", "~"}) {
        if (at.substr(0, word.size()) == word) {
          n.text = std::string(word);
          break;
        }
      }
    }
    Finish(std::move(n), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (failed_) return;
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      Fail(PosOf(mark), "alias refers to a node that contains it");
      return;
    }
    if (nodes_ + it->second.count > kMaxYamlNodes) {
      Fail(PosOf(mark), "document too large: more than " + std::to_string(kMaxYamlNodes) +
                            " nodes after expanding aliases");
      return;
    }
    nodes_ += it->second.count;
    YamlNode copy = *it->second.node;
    Finish(std::move(copy), 0, /*count=*/false);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (failed_) return;
    YamlNode n;
    n.pos = PosOf(mark);
    n.text = value;
    if (tag == "?") {
      n.scalar = ResolvePlain(value);
    } else if (tag == "!" || tag == std::string(kCoreTagPrefix) + "str") {
      n.scalar = Value(value);
    } else if (tag.compare(0, kCoreTagPrefix.size(), kCoreTagPrefix) == 0) {
      std::string want = tag.substr(kCoreTagPrefix.size());
      n.scalar = ResolvePlain(value);
      Value::Type t = n.scalar.type();
      bool match = (want == "null" && t == Value::Type::kNull) ||
                   (want == "bool" && t == Value::Type::kBool) ||
                   (want == "int" && t == Value::Type::kInt) ||
                   (want == "float" && n.scalar.is_number());
      if (want == "float" && n.scalar.is_int()) n.scalar = Value(n.scalar.as_double());
      if (!match) {
        Report(n.pos, "\"" + value + "\" is not a valid !!" + want);
        n.scalar = Value(value);
      }
    } else {
      Report(n.pos, "unsupported tag \"" + tag + "\"");
      n.scalar = Value(value);
    }
    Finish(std::move(n), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, YamlNode::Kind::kList, "seq");
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, YamlNode::Kind::kMap, "map");
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YamlNode node;
    YAML::anchor_t anchor = 0;
    size_t first_node = 0;                // nodes_ when this node opened
    std::optional<YamlNode> pending_key;  // maps: a key waiting for its value
  };
  struct Anchored {
    std::shared_ptr<const YamlNode> node;  // shared: an anchor may be aliased many times
    size_t count = 0;                      // nodes in it
  };

  void Report(SourcePos pos, std::string reason) {
    diags_->push_back(Diagnostic{"", pos, std::move(reason)});
  }
  void Fail(SourcePos pos, std::string reason) {
    Report(pos, std::move(reason));
    failed_ = true;
  }

  bool CountNode(SourcePos pos) {
    if (++nodes_ > kMaxYamlNodes) {
      Fail(pos, "document too large: more than " + std::to_string(kMaxYamlNodes) + " nodes");
      return false;
    }
    return true;
  }

  void Open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
            YamlNode::Kind kind, std::string_view core) {
    if (failed_) return;
    SourcePos pos = PosOf(mark);
    if (stack_.size() >= static_cast<size_t>(kMaxYamlDepth)) {
      Fail(pos, "nesting deeper than " + std::to_string(kMaxYamlDepth) + " levels");
      return;
    }
    if (tag != "?" && tag != "!" && tag != std::string(kCoreTagPrefix) + std::string(core)) {
      Report(pos, "unsupported tag \"" + tag + "\"");
    }
    Frame f;
    f.node.kind = kind;
    f.node.pos = pos;
    f.anchor = anchor;
    f.first_node = nodes_;
    if (!CountNode(pos)) return;
    stack_.push_back(std::move(f));
  }

  void Close() {
    if (failed_ || stack_.empty()) return;
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.pending_key) {  // cannot happen with a well-formed event stream; keep the key
      f.node.entries.push_back({f.pending_key->text, f.pending_key->pos, YamlNode{}});
    }
    if (f.anchor != 0) {
      Remember(f.anchor, f.node, nodes_ - f.first_node);
      if (failed_) return;
    }
    Finish(std::move(f.node), 0, /*count=*/false);
  }

  // Keeps a copy of an anchored node for its aliases. The copy counts against the budget too,
  // so nested anchors cannot multiply memory.
  void Remember(YAML::anchor_t anchor, const YamlNode& node, size_t count) {
    if (nodes_ + count > kMaxYamlNodes) {
      Fail(node.pos, "document too large: more than " + std::to_string(kMaxYamlNodes) +
                         " nodes after expanding aliases");
      return;
    }
    nodes_ += count;
    anchors_[anchor] = Anchored{std::make_shared<const YamlNode>(node), count};
  }

  // Attaches a completed node to its parent (or makes it the root).
  void Finish(YamlNode n, YAML::anchor_t anchor, bool count = true) {
    if (count) {
      if (!CountNode(n.pos)) return;
      if (anchor != 0) Remember(anchor, n, 1);
      if (failed_) return;
    }
    if (stack_.empty()) {
      root_ = std::move(n);
      return;
    }
    Frame& top = stack_.back();
    if (top.node.kind == YamlNode::Kind::kList) {
      top.node.items.push_back(std::move(n));
      return;
    }
    if (!top.pending_key) {
      top.pending_key = std::move(n);
      return;
    }
    YamlNode key = std::move(*top.pending_key);
    top.pending_key.reset();
    if (key.kind != YamlNode::Kind::kScalar) {
      Report(key.pos, "map keys must be scalars, not " + key.Described());
      return;
    }
    for (const YamlEntry& e : top.node.entries) {
      if (e.key == key.text) {
        Report(key.pos, "duplicate key \"" + key.text + "\" (first at " +
                            std::to_string(e.key_pos.line) + ":" +
                            std::to_string(e.key_pos.column) + ")");
        return;
      }
    }
    // An empty value has no place of its own (yaml-cpp marks the next token): use its key's.
    if (n.kind == YamlNode::Kind::kScalar && n.scalar.is_null() && n.text.empty()) n.pos = key.pos;
    top.node.entries.push_back({std::move(key.text), key.pos, std::move(n)});
  }

  std::string_view text_;
  std::vector<Diagnostic>* diags_;
  std::vector<Frame> stack_;
  std::optional<YamlNode> root_;
  std::map<YAML::anchor_t, Anchored> anchors_;
  size_t nodes_ = 0;
  bool failed_ = false;
};

}  // namespace

const YamlNode* YamlNode::Find(std::string_view key) const {
  for (const YamlEntry& e : entries) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

Value YamlNode::ToValue() const {
  switch (kind) {
    case Kind::kScalar:
      return scalar;
    case Kind::kList: {
      Value::List list;
      list.reserve(items.size());
      for (const YamlNode& n : items) list.push_back(n.ToValue());
      return Value(std::move(list));
    }
    case Kind::kMap: {
      Value::Map map;
      for (const YamlEntry& e : entries) map.emplace(e.key, e.value.ToValue());
      return Value(std::move(map));
    }
  }
  return Value();
}

std::string_view YamlNode::TypeName() const {
  switch (kind) {
    case Kind::kScalar:
      return Value::TypeName(scalar.type());
    case Kind::kList:
      return "list";
    case Kind::kMap:
      return "map";
  }
  return "unknown";
}

std::string YamlNode::Described() const {
  std::string_view t = TypeName();
  if (t == "null") return "null";
  return (t == "int" ? "an " : "a ") + std::string(t);
}

std::optional<YamlNode> ParseYaml(std::string_view text, std::vector<Diagnostic>* diags) {
  if (text.size() > kMaxYamlBytes) {
    diags->push_back({"", SourcePos{1, 1},
                      "file too large: " + std::to_string(text.size()) + " bytes (max " +
                          std::to_string(kMaxYamlBytes) + ")"});
    return std::nullopt;
  }
  size_t before = diags->size();
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    TreeBuilder builder(text, diags);
    if (!parser.HandleNextDocument(builder)) {
      diags->push_back({"", SourcePos{1, 1}, "empty document"});
      return std::nullopt;
    }
    if (builder.failed()) return std::nullopt;
    // A second document is an error; parse it with a throwaway builder only to find where.
    std::vector<Diagnostic> ignored;
    TreeBuilder rest(text, &ignored);
    if (parser.HandleNextDocument(rest)) {
      SourcePos where = rest.root() ? rest.root()->pos : EndOf(text);
      diags->push_back({"", where, "more than one YAML document"});
      return std::nullopt;
    }
    if (!builder.root()) {
      diags->push_back({"", SourcePos{1, 1}, "empty document"});
      return std::nullopt;
    }
    std::optional<YamlNode> root = std::move(builder.root());
    return root;
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp gives up at its own depth limit with the message "bad file". The builder has
    // already reported our lower limit at the exact place; say that, not "bad file".
    if (diags->size() == before) {
      SourcePos pos = PosOf(e.mark);
      if (pos.line == 0) pos = EndOf(text);
      diags->push_back({"", pos, "nesting too deep"});
    }
  } catch (const YAML::Exception& e) {
    diags->resize(before);  // the tree is incomplete: report the syntax error alone
    SourcePos pos = PosOf(e.mark);
    if (pos.line == 0) pos = EndOf(text);
    diags->push_back({"", pos, "invalid YAML: " + e.msg});
  } catch (const std::exception& e) {
    diags->resize(before);
    diags->push_back({"", EndOf(text), std::string("cannot parse YAML: ") + e.what()});
  }
  return std::nullopt;
}

}  // namespace brfed::internal
