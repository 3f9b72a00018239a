// Time, uid and selector helpers declared in store.h.
#include <cctype>
#include <cstdio>
#include <ctime>
#include <random>

#include "tools/kube-sim/store.h"

namespace brfed::kubesim {

std::string FormatTime(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> ParseTime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)
  auto digits = [&](size_t pos, size_t n, int* out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int year, mon, day, hour, min, sec;
  if (!digits(0, 4, &year) || s.size() < 19 || s[4] != '-' || !digits(5, 2, &mon) || s[7] != '-' ||
      !digits(8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(11, 2, &hour) || s[13] != ':' || !digits(14, 2, &min) || s[16] != ':' ||
      !digits(17, 2, &sec)) {
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100000;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (scale > 0) micros += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int offset_min = 0;
  if (pos >= s.size()) return std::nullopt;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!digits(pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(pos + 4, 2, &om)) {
      return std::nullopt;
    }
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  std::time_t t = timegm(&tm);
  auto tp = std::chrono::system_clock::from_time_t(t) + std::chrono::microseconds(micros) -
            std::chrono::minutes(offset_min);
  return tp;
}

std::string HumanDuration(std::chrono::system_clock::duration d) {
  using namespace std::chrono;
  int64_t seconds = duration_cast<std::chrono::seconds>(d).count();
  auto fmt = [](const char* f, int64_t a, int64_t b = 0) {
    char buf[48];
    std::snprintf(buf, sizeof buf, f, static_cast<long long>(a), static_cast<long long>(b));
    return std::string(buf);
  };
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return fmt("%llds", seconds);
  int64_t minutes = seconds / 60;
  if (minutes < 10) {
    int64_t s = seconds % 60;
    return s == 0 ? fmt("%lldm", minutes) : fmt("%lldm%llds", minutes, s);
  }
  if (minutes < 180) return fmt("%lldm", minutes);
  int64_t hours = seconds / 3600;
  if (hours < 8) {
    int64_t m = minutes % 60;
    return m == 0 ? fmt("%lldh", hours) : fmt("%lldh%lldm", hours, m);
  }
  if (hours < 48) return fmt("%lldh", hours);
  if (hours < 24 * 8) {
    int64_t h = hours % 24;
    return h == 0 ? fmt("%lldd", hours / 24) : fmt("%lldd%lldh", hours / 24, h);
  }
  if (hours < 24 * 365 * 2) return fmt("%lldd", hours / 24);
  if (hours < 24 * 365 * 8) {
    int64_t dy = (hours / 24) % 365;
    return dy == 0 ? fmt("%lldy", hours / 24 / 365) : fmt("%lldy%lldd", hours / 24 / 365, dy);
  }
  return fmt("%lldy", hours / 24 / 365);
}

std::string NewUid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kAdded:
      return "ADDED";
    case EventType::kModified:
      return "MODIFIED";
    case EventType::kDeleted:
      return "DELETED";
  }
  return "UNKNOWN";
}

std::string ResourceKey::GroupResource() const {
  return group.empty() ? plural : plural + "." + group;
}
std::string ResourceKey::GroupVersion() const {
  return group.empty() ? version : group + "/" + version;
}

// ---------------------------------------------------------------- selectors

namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Splits on commas that are not inside parentheses.
Result<std::vector<std::string>> SplitTerms(std::string_view text) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') {
      if (--depth < 0) return FailedPreconditionError("unbalanced parentheses");
    }
    if (c == ',' && depth == 0) {
      out.push_back(Trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (depth != 0) return FailedPreconditionError("unbalanced parentheses");
  out.push_back(Trim(cur));
  if (out.size() == 1 && out[0].empty()) out.clear();
  return out;
}

bool ValidLabelKey(std::string_view k) {
  if (k.empty() || k.size() > 316) return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == '/')) {
      return false;
    }
  }
  return true;
}

bool ValidLabelValue(std::string_view v) {
  if (v.size() > 63) return false;
  for (char c : v) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<LabelSelector> LabelSelector::Parse(std::string_view text) {
  LabelSelector sel;
  auto terms = SplitTerms(text);
  if (!terms.ok()) {
    return FailedPreconditionError("unable to parse requirement: " + terms.status().message());
  }
  for (const std::string& term : *terms) {
    auto bad = [&](const std::string& why) {
      return FailedPreconditionError("unable to parse requirement: " + why + ": \"" + term +
                                     "\"");
    };
    if (term.empty()) return bad("empty requirement");
    Requirement r;
    if (term[0] == '!') {
      r.op = Requirement::Op::kNotExists;
      r.key = Trim(std::string_view(term).substr(1));
      if (!ValidLabelKey(r.key)) return bad("invalid label key");
      sel.reqs_.push_back(std::move(r));
      continue;
    }
    size_t paren = term.find('(');
    if (paren != std::string::npos) {
      if (term.back() != ')') return bad("expected ')'");
      std::string head = Trim(std::string_view(term).substr(0, paren));
      size_t sp = head.find_last_of(" \t");
      if (sp == std::string::npos) return bad("expected 'in' or 'notin'");
      std::string op = Trim(std::string_view(head).substr(sp + 1));
      r.key = Trim(std::string_view(head).substr(0, sp));
      if (op == "in") {
        r.op = Requirement::Op::kIn;
      } else if (op == "notin") {
        r.op = Requirement::Op::kNotIn;
      } else {
        return bad("expected 'in' or 'notin'");
      }
      if (!ValidLabelKey(r.key)) return bad("invalid label key");
      std::string inner = term.substr(paren + 1, term.size() - paren - 2);
      size_t start = 0;
      while (true) {
        size_t comma = inner.find(',', start);
        std::string v = Trim(std::string_view(inner).substr(
            start, comma == std::string::npos ? std::string::npos : comma - start));
        if (!ValidLabelValue(v)) return bad("invalid label value");
        r.values.push_back(v);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      sel.reqs_.push_back(std::move(r));
      continue;
    }
    size_t ne = term.find("!=");
    size_t eq = term.find('=');
    if (ne != std::string::npos) {
      r.op = Requirement::Op::kNotEq;
      r.key = Trim(std::string_view(term).substr(0, ne));
      r.values.push_back(Trim(std::string_view(term).substr(ne + 2)));
    } else if (eq != std::string::npos) {
      r.op = Requirement::Op::kEq;
      r.key = Trim(std::string_view(term).substr(0, eq));
      size_t vstart = eq + 1;
      if (vstart < term.size() && term[vstart] == '=') ++vstart;
      r.values.push_back(Trim(std::string_view(term).substr(vstart)));
    } else {
      r.op = Requirement::Op::kExists;
      r.key = term;
    }
    if (!ValidLabelKey(r.key)) return bad("invalid label key");
    for (const auto& v : r.values) {
      if (!ValidLabelValue(v)) return bad("invalid label value");
    }
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

bool LabelSelector::Matches(const nlohmann::json& labels) const {
  for (const Requirement& r : reqs_) {
    const nlohmann::json* v = nullptr;
    if (labels.is_object()) {
      auto it = labels.find(r.key);
      if (it != labels.end() && it->is_string()) v = &*it;
    }
    auto in_values = [&] {
      for (const auto& x : r.values) {
        if (v->get_ref<const std::string&>() == x) return true;
      }
      return false;
    };
    switch (r.op) {
      case Requirement::Op::kEq:
      case Requirement::Op::kIn:
        if (v == nullptr || !in_values()) return false;
        break;
      case Requirement::Op::kNotEq:
      case Requirement::Op::kNotIn:
        if (v != nullptr && in_values()) return false;
        break;
      case Requirement::Op::kExists:
        if (v == nullptr) return false;
        break;
      case Requirement::Op::kNotExists:
        if (v != nullptr) return false;
        break;
    }
  }
  return true;
}

Result<FieldSelector> FieldSelector::Parse(std::string_view text, bool events) {
  static const char* const kEventFields[] = {
      "involvedObject.kind",       "involvedObject.namespace",       "involvedObject.name",
      "involvedObject.uid",        "involvedObject.apiVersion",      "involvedObject.resourceVersion",
      "involvedObject.fieldPath",  "reason",                         "source",
      "type",                      "reportingComponent"};
  FieldSelector sel;
  auto terms = SplitTerms(text);
  if (!terms.ok()) return terms.status();
  for (const std::string& term : *terms) {
    if (term.empty()) continue;
    Requirement r;
    size_t ne = term.find("!=");
    size_t eq = term.find('=');
    if (ne != std::string::npos) {
      r.equal = false;
      r.field = Trim(std::string_view(term).substr(0, ne));
      r.value = Trim(std::string_view(term).substr(ne + 2));
    } else if (eq != std::string::npos) {
      r.field = Trim(std::string_view(term).substr(0, eq));
      size_t vstart = eq + 1;
      if (vstart < term.size() && term[vstart] == '=') ++vstart;
      r.value = Trim(std::string_view(term).substr(vstart));
    } else {
      return FailedPreconditionError("invalid selector: '" + term +
                                     "'; can't understand '" + term + "'");
    }
    bool ok = r.field == "metadata.name" || r.field == "metadata.namespace";
    if (!ok && events) {
      for (const char* f : kEventFields) ok = ok || r.field == f;
    }
    if (!ok) return FailedPreconditionError("field label not supported: " + r.field);
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

bool FieldSelector::Matches(const nlohmann::json& object) const {
  for (const Requirement& r : reqs_) {
    std::string path = r.field == "source" ? "source.component" : r.field;
    const nlohmann::json* cur = &object;
    size_t start = 0;
    while (cur != nullptr && start <= path.size()) {
      size_t dot = path.find('.', start);
      std::string part = path.substr(start, dot == std::string::npos ? std::string::npos
                                                                      : dot - start);
      if (!cur->is_object()) {
        cur = nullptr;
        break;
      }
      auto it = cur->find(part);
      cur = it == cur->end() ? nullptr : &*it;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    std::string value;
    if (cur != nullptr) {
      if (cur->is_string()) {
        value = cur->get<std::string>();
      } else if (!cur->is_null()) {
        value = cur->dump();
      }
    }
    if ((value == r.value) != r.equal) return false;
  }
  return true;
}

}  // namespace brfed::kubesim
