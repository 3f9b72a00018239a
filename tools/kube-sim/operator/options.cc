#include "tools/kube-sim/operator/options.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace brfed::kubesim::op {
namespace {

using std::chrono::milliseconds;

std::string FormatMs(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

Result<milliseconds> ParseDurationText(const std::string& text) {
  if (text.empty()) return InvalidArgumentError("empty duration");
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      ++i;
    }
    if (start == i) return InvalidArgumentError("bad duration \"" + text + "\"");
    std::string number = text.substr(start, i - start);
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size()) {
      return InvalidArgumentError("bad duration \"" + text + "\"");
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = text.substr(unit_start, i - unit_start);
    double scale;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s" || unit.empty()) {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60000;
    } else if (unit == "h") {
      scale = 3600000;
    } else {
      return InvalidArgumentError("bad duration unit \"" + unit + "\" in \"" + text + "\"");
    }
    if (unit.empty() && i != text.size())
      return InvalidArgumentError("bad duration \"" + text + "\"");
    total_ms += value * scale;
  }
  return milliseconds(static_cast<int64_t>(std::llround(total_ms)));
}

}  // namespace

bool IsStepName(const std::string& name) {
  for (const char* step : kStepNames) {
    if (name == step) return true;
  }
  return false;
}

std::chrono::milliseconds OperatorOptions::Delay(const std::string& step) const {
  auto it = delays.find(step);
  return it == delays.end() ? milliseconds(0) : it->second;
}

nlohmann::json OperatorOptions::ToJson() const {
  nlohmann::json d = nlohmann::json::object();
  for (const auto& [step, delay] : delays) d[step] = FormatMs(delay);
  return {{"logicalCluster", logical_cluster},
          {"stepDelay", FormatMs(step_delay)},
          {"delays", d},
          {"volumeSizeBytes", volume_size_bytes},
          {"retryFailedDelay", FormatMs(retry_failed_delay)}};
}

Result<milliseconds> ParseDuration(const nlohmann::json& value) {
  if (value.is_number()) {
    double seconds = value.get<double>();
    if (!std::isfinite(seconds) || seconds < 0) return InvalidArgumentError("negative duration");
    return milliseconds(static_cast<int64_t>(std::llround(seconds * 1000)));
  }
  if (value.is_string()) return ParseDurationText(value.get<std::string>());
  return InvalidArgumentError("a duration must be a string or a number");
}

Status MergeOperatorOptions(const nlohmann::json& config, OperatorOptions* options) {
  if (config.is_null()) return Status::OK();
  if (!config.is_object()) return InvalidArgumentError("operator: must be a mapping");
  OperatorOptions out = *options;
  for (const auto& [key, value] : config.items()) {
    if (key == "logicalCluster") {
      if (!value.is_string()) return InvalidArgumentError("operator.logicalCluster: not a string");
      out.logical_cluster = value.get<std::string>();
    } else if (key == "stepDelay" || key == "retryFailedDelay") {
      Result<milliseconds> d = ParseDuration(value);
      if (!d.ok()) return d.status().WithContext("operator." + key);
      (key == "stepDelay" ? out.step_delay : out.retry_failed_delay) = *d;
    } else if (key == "delays") {
      if (!value.is_object()) return InvalidArgumentError("operator.delays: must be a mapping");
      for (const auto& [step, delay] : value.items()) {
        if (!IsStepName(step)) return InvalidArgumentError("operator.delays: unknown step " + step);
        Result<milliseconds> d = ParseDuration(delay);
        if (!d.ok()) return d.status().WithContext("operator.delays." + step);
        out.delays[step] = *d;
      }
    } else if (key == "volumeSizeBytes") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return InvalidArgumentError("operator.volumeSizeBytes: not a non-negative integer");
      }
      out.volume_size_bytes = value.get<int64_t>();
    } else {
      return InvalidArgumentError("operator: unknown key " + key);
    }
  }
  *options = std::move(out);
  return Status::OK();
}

bool Fault::Matches(const std::string& at_step, const std::string& object_name) const {
  if (remaining == 0 || step != at_step) return false;
  return name.empty() || name == object_name;
}

nlohmann::json Fault::ToJson() const {
  nlohmann::json j = {{"phase", step}, {"count", remaining}};
  if (!condition.empty()) j["condition"] = condition;
  if (!name.empty()) j["name"] = name;
  return j;
}

Result<Fault> ParseFault(const nlohmann::json& body) {
  if (!body.is_object()) return InvalidArgumentError("fault: body must be a JSON object");
  Fault f;
  for (const auto& [key, value] : body.items()) {
    if (key == "phase" || key == "step" || key == "condition" || key == "name") {
      if (!value.is_string()) return InvalidArgumentError("fault." + key + ": not a string");
      std::string s = value.get<std::string>();
      if (key == "condition") {
        f.condition = s;
      } else if (key == "name") {
        f.name = s;
      } else {
        f.step = s;
      }
    } else if (key == "count") {
      if (!value.is_number_integer()) return InvalidArgumentError("fault.count: not an integer");
      f.remaining = value.get<int64_t>();
    } else {
      return InvalidArgumentError("fault: unknown key " + key);
    }
  }
  if (!IsStepName(f.step))
    return InvalidArgumentError("fault.phase: unknown step \"" + f.step + "\"");
  static const char* kConditions[] = {"", "Failed", "Invalid", "VolumeBackupFailed",
                                      "VolumeBackupInitializeFailed"};
  bool known = false;
  for (const char* c : kConditions) known = known || f.condition == c;
  if (!known) return InvalidArgumentError("fault.condition: unsupported \"" + f.condition + "\"");
  return f;
}

}  // namespace brfed::kubesim::op
