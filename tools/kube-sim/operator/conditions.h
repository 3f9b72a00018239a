// Helpers over data-plane objects held as JSON: condition predicates and writes with the
// tidb-operator rules (FEDERATION_PROTOCOL §2.6, §6.1, §6.2), sizes and durations as the
// data plane renders them.
//
//   if (!HasCondition(backup, "Scheduled")) {
//     WriteBackupCondition(backup, Condition("Scheduled"), now);   // also sets status.phase
//   }
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

namespace brfed::kubesim::op {

struct Condition {
  // A condition with status "True".
  explicit Condition(std::string t, std::string r = "", std::string m = "")
      : type(std::move(t)), reason(std::move(r)), message(std::move(m)) {}
  static Condition False(std::string t) {
    Condition c(std::move(t));
    c.status = "False";
    return c;
  }

  std::string type;
  std::string status = "True";
  std::string reason;
  std::string message;
};

// The condition of `type` in obj.status.conditions, or nullptr.
const nlohmann::json* FindCondition(const nlohmann::json& obj, std::string_view type);
// True when a condition of `type` exists with status "True".
bool HasCondition(const nlohmann::json& obj, std::string_view type);

// Data-plane Backup rule: status.phase := type (unless "Restart"); a new type is appended; an
// existing one is replaced in place, keeping its lastTransitionTime when the status is the same
// and the phase does not change.
void WriteBackupCondition(nlohmann::json& obj, const Condition& c,
                          std::chrono::system_clock::time_point now);
// Restore rule (§2.6): status.phase := type; append, or replace in place keeping
// lastTransitionTime when the status is unchanged.
void WriteRestoreCondition(nlohmann::json& obj, const Condition& c,
                           std::chrono::system_clock::time_point now);

// The string at a dotted path ("spec.br.cluster"), or "" when absent or not a string.
std::string StringAt(const nlohmann::json& obj, std::string_view path);
// The value at a dotted path, or nullptr (a null json) when absent.
const nlohmann::json* ValueAt(const nlohmann::json& obj, std::string_view path);
bool BoolAt(const nlohmann::json& obj, std::string_view path);

// §2.5: "0 B", "1.5 kB", "83 MB".
std::string ReadableSize(int64_t bytes);
// Go time.Duration text of whole seconds: "0s", "45s", "2m0s", "1h2m3s".
std::string GoDurationText(std::chrono::seconds d);
// "s3://bucket/prefix" from a storage spec (bucket and prefix joined and cleaned); "" without
// an s3 bucket.
std::string S3Path(const nlohmann::json& spec);

}  // namespace brfed::kubesim::op
