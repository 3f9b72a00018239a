#include "steps/protocol/conditions.h"

#include <nlohmann/json.hpp>

#include "steps/protocol/format.h"

namespace brfed::protocol {

using nlohmann::json;

void SetCondition(json* status, std::string_view type, std::string_view reason,
                  std::string_view message, TimePoint now) {
  if (!status->is_object()) *status = json::object();
  json cond = {{"type", type}, {"status", "True"}, {"lastTransitionTime", FormatKubeTime(now)}};
  if (!reason.empty()) cond["reason"] = reason;
  if (!message.empty()) cond["message"] = message;
  (*status)["phase"] = type;
  json& conds = (*status)["conditions"];
  if (!conds.is_array()) conds = json::array();
  for (json& c : conds) {
    if (c.is_object() && c.value("type", "") == type) {
      if (c.value("status", "") == "True" && c.contains("lastTransitionTime")) {
        cond["lastTransitionTime"] = c["lastTransitionTime"];
      }
      c = std::move(cond);
      return;
    }
  }
  conds.push_back(std::move(cond));
}

std::optional<json> FindCondition(const json& obj, std::string_view type) {
  if (!obj.is_object()) return std::nullopt;
  auto st = obj.find("status");
  if (st == obj.end() || !st->is_object()) return std::nullopt;
  auto conds = st->find("conditions");
  if (conds == st->end() || !conds->is_array()) return std::nullopt;
  for (const json& c : *conds) {
    if (!c.is_object()) continue;
    auto t = c.find("type");
    if (t != c.end() && t->is_string() && t->get_ref<const std::string&>() == type) return c;
  }
  return std::nullopt;
}

bool IsConditionTrue(const json& obj, std::string_view type) {
  auto c = FindCondition(obj, type);
  if (!c) return false;
  auto s = c->find("status");
  return s != c->end() && s->is_string() && s->get_ref<const std::string&>() == "True";
}

std::string StringAt(const json& obj, std::initializer_list<std::string_view> path) {
  const json* cur = &obj;
  for (std::string_view key : path) {
    if (!cur->is_object()) return "";
    auto it = cur->find(key);
    if (it == cur->end()) return "";
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

}  // namespace brfed::protocol
