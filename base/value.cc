#include "brfed/value.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

namespace brfed {
namespace {

// Nesting deeper than this is rejected by FromJson, so neither parsing nor destroying a parsed
// Value can exhaust the stack.
constexpr int kMaxJsonDepth = 256;

void AppendEscaped(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out->append("\\u00");
          out->push_back(kHex[(c >> 4) & 0xf]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// Shortest text that reads back as the same double; integral values keep a ".0" so the type
// survives a round trip. JSON has no NaN or infinity: they become null.
void AppendDouble(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append("null");
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  if (ec != std::errc()) {  // cannot happen with 64 bytes; stay well-formed anyway
    out->append("null");
    return;
  }
  std::string_view text(buf, static_cast<size_t>(end - buf));
  out->append(text);
  if (text.find_first_of(".eE") == std::string_view::npos) out->append(".0");
}

void AppendJson(const Value& v, std::string* out) {
  switch (v.type()) {
    case Value::Type::kNull:
      out->append("null");
      break;
    case Value::Type::kBool:
      out->append(v.as_bool() ? "true" : "false");
      break;
    case Value::Type::kInt:
      out->append(std::to_string(v.as_int()));
      break;
    case Value::Type::kDouble:
      AppendDouble(v.as_double(), out);
      break;
    case Value::Type::kString:
      AppendEscaped(v.as_string(), out);
      break;
    case Value::Type::kList: {
      out->push_back('[');
      bool first = true;
      for (const Value& e : v.as_list()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(e, out);
      }
      out->push_back(']');
      break;
    }
    case Value::Type::kMap: {
      out->push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.as_map()) {
        if (!first) out->push_back(',');
        first = false;
        AppendEscaped(k, out);
        out->push_back(':');
        AppendJson(e, out);
      }
      out->push_back('}');
      break;
    }
  }
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// A recursive-descent JSON parser (RFC 8259) with a depth limit.
class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  // Parses into a Result built up front: moving a Value into a Result trips GCC 12's
  // -Wmaybe-uninitialized false positive on std::variant.
  Result<Value> ParseDocument() {
    Result<Value> result{Value()};
    Status s = ParseValue(0, &result.value());
    if (!s.ok()) return s;
    SkipSpace();
    if (pos_ != text_.size()) return Error("trailing characters after the value");
    return result;
  }

 private:
  Status Error(std::string_view what) const {
    return InvalidArgumentError("json: offset " + std::to_string(pos_) + ": " + std::string(what));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool ConsumeWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Status ParseValue(int depth, Value* out) {
    if (depth >= kMaxJsonDepth)
      return Error("nesting deeper than " + std::to_string(kMaxJsonDepth));
    SkipSpace();
    if (pos_ >= text_.size()) return Error("unexpected end of input");
    char c = text_[pos_];
    switch (c) {
      case '{':
        return ParseObject(depth, out);
      case '[':
        return ParseArray(depth, out);
      case '"': {
        std::string s;
        RETURN_IF_ERROR(ParseString(&s));
        *out = Value(std::move(s));
        return Status::OK();
      }
      case 't':
        if (!ConsumeWord("true")) return Error("invalid literal");
        *out = Value(true);
        return Status::OK();
      case 'f':
        if (!ConsumeWord("false")) return Error("invalid literal");
        *out = Value(false);
        return Status::OK();
      case 'n':
        if (!ConsumeWord("null")) return Error("invalid literal");
        *out = Value();
        return Status::OK();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
        return Error(std::string("unexpected character '") + c + "'");
    }
  }

  Status ParseObject(int depth, Value* out) {
    ++pos_;  // '{'
    Value::Map map;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      *out = Value(std::move(map));
      return Status::OK();
    }
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("expected a string key");
      size_t key_pos = pos_;
      std::string key;
      RETURN_IF_ERROR(ParseString(&key));
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return Error("expected ':'");
      ++pos_;
      Value member;
      RETURN_IF_ERROR(ParseValue(depth + 1, &member));
      if (map.count(key) != 0) {
        pos_ = key_pos;
        return Error("duplicate key \"" + key + "\"");
      }
      map.emplace(std::move(key), std::move(member));
      SkipSpace();
      if (pos_ >= text_.size()) return Error("unterminated object");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == '}') {
        ++pos_;
        break;
      }
      return Error("expected ',' or '}'");
    }
    *out = Value(std::move(map));
    return Status::OK();
  }

  Status ParseArray(int depth, Value* out) {
    ++pos_;  // '['
    Value::List list;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      *out = Value(std::move(list));
      return Status::OK();
    }
    while (true) {
      Value e;
      RETURN_IF_ERROR(ParseValue(depth + 1, &e));
      list.push_back(std::move(e));
      SkipSpace();
      if (pos_ >= text_.size()) return Error("unterminated array");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == ']') {
        ++pos_;
        break;
      }
      return Error("expected ',' or ']'");
    }
    *out = Value(std::move(list));
    return Status::OK();
  }

  Status ParseHex4(uint32_t* cp) {
    if (text_.size() - pos_ < 4) return Error("short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<uint32_t>(h - 'A' + 10);
      } else {
        --pos_;
        return Error("bad hex digit in \\u escape");
      }
    }
    *cp = v;
    return Status::OK();
  }

  Status ParseString(std::string* out) {
    ++pos_;  // '"'
    while (true) {
      if (pos_ >= text_.size()) return Error("unterminated string");
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return Status::OK();
      }
      if (static_cast<unsigned char>(c) < 0x20) return Error("control character in string");
      if (c != '\\') {
        out->push_back(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= text_.size()) return Error("unterminated escape");
      char e = text_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          RETURN_IF_ERROR(ParseHex4(&cp));
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (text_.substr(pos_, 2) != "\\u") return Error("unpaired surrogate");
            pos_ += 2;
            uint32_t lo = 0;
            RETURN_IF_ERROR(ParseHex4(&lo));
            if (lo < 0xdc00 || lo > 0xdfff) return Error("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return Error("unpaired surrogate");
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          --pos_;
          return Error("bad escape");
      }
    }
  }

  Status ParseNumber(Value* out) {
    size_t start = pos_;
    bool is_float = false;
    if (text_[pos_] == '-') ++pos_;
    auto digits = [&] {
      size_t b = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ - b;
    };
    size_t int_start = pos_;
    size_t n = digits();
    if (n == 0) return Error("bad number");
    if (n > 1 && text_[int_start] == '0') {
      pos_ = start;
      return Error("leading zero in number");
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      is_float = true;
      if (digits() == 0) return Error("bad number: no digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      is_float = true;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) return Error("bad number: no exponent digits");
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (!is_float) {
      int64_t i = 0;
      auto [p, ec] = std::from_chars(first, last, i);
      if (ec == std::errc() && p == last) {
        *out = Value(i);
        return Status::OK();
      }
      // Out of the int64 range: read it as a double, as JavaScript would.
    }
    double d = 0;
    auto [p, ec] = std::from_chars(first, last, d);
    if (ec == std::errc::result_out_of_range) {
      pos_ = start;
      return Error("number out of range");
    }
    if (ec != std::errc() || p != last) {
      pos_ = start;
      return Error("bad number");
    }
    *out = Value(d);
    return Status::OK();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

void Value::Assign(const Value& other) {
  if (other.is_null()) {
    if (!is_null()) v_ = nullptr;
  } else if (other.is_map() && other.as_map().empty()) {
    SetEmptyMap();
  } else {
    v_ = other.v_;
  }
}

void Value::SetEmptyMap() {
  if (is_map()) {
    as_map().clear();
  } else {
    v_.emplace<Map>();
  }
}

const Value* Value::Find(std::string_view key) const {
  if (!is_map()) return nullptr;
  const Map& m = as_map();
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

std::string Value::ToJson() const {
  std::string out;
  AppendJson(*this, &out);
  return out;
}

Result<Value> Value::FromJson(std::string_view text) { return JsonParser(text).ParseDocument(); }

std::string Value::ToText() const {
  if (is_string()) return as_string();
  if (is_null()) return "";
  return ToJson();
}

std::string_view Value::TypeName(Type t) {
  switch (t) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kDouble:
      return "double";
    case Type::kString:
      return "string";
    case Type::kList:
      return "list";
    case Type::kMap:
      return "map";
  }
  return "unknown";
}

}  // namespace brfed
