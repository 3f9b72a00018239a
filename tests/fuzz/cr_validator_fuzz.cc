// Fuzzes the federation-object validator and member construction (steps/protocol): any JSON
// a user can apply must get a verdict, never a crash; a valid verdict must build members.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "steps/protocol/member_state.h"
#include "steps/protocol/members.h"
#include "steps/protocol/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json obj = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) return 0;
  static const std::set<std::string> kContexts = {"k8s-1", "k8s-2", "k8s-3"};
  if (!brfed::protocol::ValidateVolumeBackup(obj, kContexts)) {
    size_t n = obj["spec"]["clusters"].size();
    for (size_t i = 0; i < n; ++i) {
      nlohmann::json m = brfed::protocol::BuildBackupMember(obj, i, "uid", i == 0);
      (void)brfed::protocol::ParseBackupMember(m, "k8s-1");
    }
  }
  if (!brfed::protocol::ValidateVolumeRestore(obj, kContexts)) {
    size_t n = obj["spec"]["clusters"].size();
    for (size_t i = 0; i < n; ++i) {
      nlohmann::json m = brfed::protocol::BuildRestoreMember(obj, i, "uid");
      (void)brfed::protocol::ParseRestoreMember(m, "k8s-1");
    }
  }
  // Arbitrary objects read as members, too.
  (void)brfed::protocol::ParseBackupMember(obj, "k8s-1");
  (void)brfed::protocol::ParseRestoreMember(obj, "k8s-1");
  return 0;
}
