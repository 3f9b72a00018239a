#include "manager/events.h"

#include "steps/protocol/conditions.h"
#include "steps/protocol/format.h"

namespace brfed::manager {

using nlohmann::json;

Status RecordEvent(kube::Client* client, TimePoint now, const ObjectEvent& e) {
  std::string ns = protocol::StringAt(e.object, {"metadata", "namespace"});
  std::string name = protocol::StringAt(e.object, {"metadata", "name"});
  std::string stamp = protocol::FormatKubeTime(now);
  json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"generateName", name + "."}, {"namespace", ns}}},
      {"involvedObject",
       {{"apiVersion", e.object.value("apiVersion", "federation.pingcap.com/v1alpha1")},
        {"kind", e.object.value("kind", "")},
        {"name", name},
        {"namespace", ns},
        {"uid", protocol::StringAt(e.object, {"metadata", "uid"})},
        {"resourceVersion", protocol::StringAt(e.object, {"metadata", "resourceVersion"})}}},
      {"reason", e.reason},
      {"message", e.message.substr(0, 1024)},
      {"type", e.type},
      {"source", {{"component", "br-federation-manager"}}},
      {"reportingComponent", "br-federation-manager"},
      {"firstTimestamp", stamp},
      {"lastTimestamp", stamp},
      {"count", 1}};
  return client->Create(kube::kEvents, ns, event).status();
}

}  // namespace brfed::manager
