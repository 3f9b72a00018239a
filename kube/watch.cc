#include "kube/watch.h"

#include "kube/util.h"

namespace brfed::kube {

using json = nlohmann::json;

std::string_view WatchEventTypeName(WatchEventType t) {
  switch (t) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "?";
}

std::string ResourceVersionOf(const json& object) {
  if (!object.is_object()) return "";
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) return "";
  return internal::StringField(*md, "resourceVersion");
}

std::string KeyOf(const json& object) {
  if (!object.is_object()) return "";
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) return "";
  std::string ns = internal::StringField(*md, "namespace");
  std::string name = internal::StringField(*md, "name");
  return ns.empty() ? name : ns + "/" + name;
}

std::string WatchEvent::ResourceVersion() const { return ResourceVersionOf(object); }

namespace internal {

bool WatchDecoder::Feed(std::string_view bytes, const Sink& sink) {
  if (!status_.ok()) return false;
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      if (pending_.size() + bytes.size() > kMaxLine) {
        status_ =
            InvalidArgumentError("watch event longer than " + std::to_string(kMaxLine) + " bytes");
        return false;
      }
      pending_.append(bytes);
      return true;
    }
    bool go;
    if (pending_.empty()) {
      go = DecodeLine(bytes.substr(0, nl), sink);
    } else {
      pending_.append(bytes.substr(0, nl));
      std::string line = std::move(pending_);
      pending_.clear();
      go = DecodeLine(line, sink);
    }
    if (!go) return false;
    bytes.remove_prefix(nl + 1);
  }
  return true;
}

bool WatchDecoder::DecodeLine(std::string_view line, const Sink& sink) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) return true;
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    status_ = InvalidArgumentError("watch: undecodable event (" + std::to_string(line.size()) +
                                   " bytes)");
    return false;
  }
  std::string type = StringField(doc, "type");
  WatchEvent e;
  if (type == "ADDED") {
    e.type = WatchEventType::kAdded;
  } else if (type == "MODIFIED") {
    e.type = WatchEventType::kModified;
  } else if (type == "DELETED") {
    e.type = WatchEventType::kDeleted;
  } else if (type == "BOOKMARK") {
    e.type = WatchEventType::kBookmark;
  } else if (type == "ERROR") {
    e.type = WatchEventType::kError;
  } else {
    status_ = InvalidArgumentError("watch: unknown event type \"" + type + "\"");
    return false;
  }
  auto obj = doc.find("object");
  if (obj == doc.end() || !obj->is_object()) {
    status_ = InvalidArgumentError("watch: " + type + " event without an object");
    return false;
  }
  e.object = std::move(*obj);
  return sink(std::move(e));
}

}  // namespace internal
}  // namespace brfed::kube
