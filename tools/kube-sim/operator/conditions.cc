#include "tools/kube-sim/operator/conditions.h"

#include <cmath>
#include <cstdio>
#include <vector>

#include "tools/kube-sim/store.h"

namespace brfed::kubesim::op {
namespace {

nlohmann::json MakeCondition(const Condition& c, std::chrono::system_clock::time_point now) {
  nlohmann::json j = {
      {"type", c.type}, {"status", c.status}, {"lastTransitionTime", FormatTime(now)}};
  if (!c.reason.empty()) j["reason"] = c.reason;
  if (!c.message.empty()) j["message"] = c.message;
  return j;
}

nlohmann::json& Conditions(nlohmann::json& obj) {
  nlohmann::json& status = obj["status"];
  if (!status.is_object()) status = nlohmann::json::object();
  nlohmann::json& conds = status["conditions"];
  if (!conds.is_array()) conds = nlohmann::json::array();
  return conds;
}

// Shared by both rules; `keep_time_on_phase_change` distinguishes them.
void WriteCondition(nlohmann::json& obj, const Condition& c,
                    std::chrono::system_clock::time_point now, bool backup_rule) {
  nlohmann::json& conds = Conditions(obj);
  std::string old_phase = StringAt(obj, "status.phase");
  bool phase_changes = c.type != old_phase;
  if (!backup_rule || c.type != "Restart") obj["status"]["phase"] = c.type;
  nlohmann::json fresh = MakeCondition(c, now);
  for (nlohmann::json& existing : conds) {
    if (!existing.is_object() || existing.value("type", "") != c.type) continue;
    bool same_status = existing.value("status", "") == c.status;
    bool keep_time = same_status && !(backup_rule && phase_changes);
    if (keep_time && existing.contains("lastTransitionTime")) {
      fresh["lastTransitionTime"] = existing["lastTransitionTime"];
    }
    existing = std::move(fresh);
    return;
  }
  conds.push_back(std::move(fresh));
}

}  // namespace

const nlohmann::json* FindCondition(const nlohmann::json& obj, std::string_view type) {
  const nlohmann::json* conds = ValueAt(obj, "status.conditions");
  if (conds == nullptr || !conds->is_array()) return nullptr;
  for (const nlohmann::json& c : *conds) {
    if (c.is_object() && c.contains("type") && c["type"].is_string() &&
        c["type"].get<std::string>() == type) {
      return &c;
    }
  }
  return nullptr;
}

bool HasCondition(const nlohmann::json& obj, std::string_view type) {
  const nlohmann::json* c = FindCondition(obj, type);
  return c != nullptr && c->value("status", "") == "True";
}

void WriteBackupCondition(nlohmann::json& obj, const Condition& c,
                          std::chrono::system_clock::time_point now) {
  WriteCondition(obj, c, now, /*backup_rule=*/true);
}

void WriteRestoreCondition(nlohmann::json& obj, const Condition& c,
                           std::chrono::system_clock::time_point now) {
  WriteCondition(obj, c, now, /*backup_rule=*/false);
}

const nlohmann::json* ValueAt(const nlohmann::json& obj, std::string_view path) {
  const nlohmann::json* cur = &obj;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string key(path.substr(0, dot));
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return cur;
}

std::string StringAt(const nlohmann::json& obj, std::string_view path) {
  const nlohmann::json* v = ValueAt(obj, path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

bool BoolAt(const nlohmann::json& obj, std::string_view path) {
  const nlohmann::json* v = ValueAt(obj, path);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

std::string ReadableSize(int64_t bytes) {
  if (bytes < 10) return std::to_string(bytes) + " B";
  static const char* kSuffixes[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double n = static_cast<double>(bytes);
  int e = static_cast<int>(std::floor(std::log(n) / std::log(1000.0)));
  if (e > 6) e = 6;
  double v = std::floor(n / std::pow(1000.0, e) * 10 + 0.5) / 10;
  char buf[64];
  if (v < 10) {
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, kSuffixes[e]);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f %s", v, kSuffixes[e]);
  }
  return buf;
}

std::string GoDurationText(std::chrono::seconds d) {
  int64_t s = d.count();
  if (s == 0) return "0s";
  std::string sign = s < 0 ? "-" : "";
  if (s < 0) s = -s;
  int64_t h = s / 3600, m = (s / 60) % 60, sec = s % 60;
  if (h > 0)
    return sign + std::to_string(h) + "h" + std::to_string(m) + "m" + std::to_string(sec) + "s";
  if (m > 0) return sign + std::to_string(m) + "m" + std::to_string(sec) + "s";
  return sign + std::to_string(sec) + "s";
}

std::string S3Path(const nlohmann::json& spec) {
  std::string bucket = StringAt(spec, "s3.bucket");
  if (bucket.empty()) return "";
  std::vector<std::string> parts;
  for (const std::string& piece : {bucket, StringAt(spec, "s3.prefix")}) {
    size_t i = 0;
    while (i <= piece.size()) {
      size_t slash = piece.find('/', i);
      if (slash == std::string::npos) slash = piece.size();
      std::string part = piece.substr(i, slash - i);
      if (part == "..") {
        if (parts.size() > 1) parts.pop_back();
      } else if (!part.empty() && part != ".") {
        parts.push_back(part);
      }
      i = slash + 1;
    }
  }
  std::string out = "s3:/";
  for (const std::string& p : parts) out += "/" + p;
  return out;
}

}  // namespace brfed::kubesim::op
