// Watch events and the decoder for a watch response body (one JSON event per line).
//
//   internal::WatchDecoder decoder;
//   decoder.Feed(chunk, [&](WatchEvent e) { ...; return true; });   // per curl write
//
// The decoder is not thread-safe; one per stream.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "brfed/status.h"

namespace brfed::kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

std::string_view WatchEventTypeName(WatchEventType t);

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  nlohmann::json object;  // the object; for kError a Status; for kBookmark only metadata

  // object.metadata.resourceVersion, or "".
  std::string ResourceVersion() const;
};

// The resourceVersion of an object, or "" when it has none.
std::string ResourceVersionOf(const nlohmann::json& object);
// "namespace/name" (or "name" for cluster-scoped objects).
std::string KeyOf(const nlohmann::json& object);

namespace internal {

// Splits a byte stream into lines and decodes each as a watch event.
class WatchDecoder {
 public:
  // Called per decoded event; return false to stop decoding.
  using Sink = std::function<bool(WatchEvent&&)>;

  // Feeds bytes. Returns false when the sink asked to stop or a line was malformed; then
  // status() says which (OK for a sink stop).
  bool Feed(std::string_view bytes, const Sink& sink);
  const Status& status() const { return status_; }

  // Largest accepted event line.
  static constexpr size_t kMaxLine = 64u << 20;

 private:
  bool DecodeLine(std::string_view line, const Sink& sink);
  std::string pending_;
  Status status_;
};

}  // namespace internal
}  // namespace brfed::kube
