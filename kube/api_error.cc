#include "kube/api_error.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "kube/util.h"

namespace brfed::kube {

Status StatusFromResponse(int http_code, std::string_view body, std::string_view context) {
  std::string reason, message;
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (internal::StringField(doc, "kind") == "Status") {
    reason = internal::StringField(doc, "reason");
    message = internal::StringField(doc, "message");
  }
  std::string text = std::string(context) + ": " + std::to_string(http_code);
  if (!reason.empty()) text += " " + reason;
  if (!message.empty()) {
    text += ": " + message;
  } else if (!doc.is_object() && !body.empty()) {
    // A non-Status body (a proxy's HTML, say): keep a short prefix for diagnosis.
    std::string snippet(body.substr(0, 200));
    for (char& c : snippet) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    text += ": " + snippet;
  }
  StatusCode code;
  switch (http_code) {
    case 400:
    case 415:
    case 422:
      code = StatusCode::kInvalidArgument;
      break;
    case 401:
      code = StatusCode::kUnauthenticated;
      break;
    case 403:
      code = StatusCode::kPermissionDenied;
      break;
    case 404:
      code = StatusCode::kNotFound;
      break;
    case 405:
      code = StatusCode::kUnimplemented;
      break;
    case 409:
      code = reason == "AlreadyExists" ? StatusCode::kAlreadyExists : StatusCode::kAborted;
      break;
    case 410:
      code = StatusCode::kOutOfRange;
      break;
    case 408:
    case 504:
      code = StatusCode::kDeadlineExceeded;
      break;
    default:
      code = IsRetryableHttpCode(http_code) ? StatusCode::kUnavailable : StatusCode::kUnknown;
  }
  return Status(code, std::move(text));
}

bool IsGone(const Status& status) { return status.code() == StatusCode::kOutOfRange; }

bool IsRetryableHttpCode(int http_code) {
  return http_code == 429 || (http_code >= 500 && http_code <= 599);
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\r' || value.back() == '\n')) {
    value.remove_suffix(1);
  }
  if (value.empty() || value.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return std::chrono::seconds(n);
}

std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    if (s.size() < 4) continue;
    for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos)) {
      text.replace(pos, s.size(), "[redacted]");
      pos += 10;
    }
  }
  return text;
}

}  // namespace brfed::kube
