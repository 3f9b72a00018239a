// Mapping Kubernetes API errors (HTTP code + Status body) to brfed::Status.
//
//   Status s = StatusFromResponse(404, body, "k8s-1: GET /apis/.../backups/b1");
//   if (s.code() == StatusCode::kNotFound) ...
//   if (IsGone(s)) relist();                      // 410 Expired / Gone
//
// | HTTP                         | StatusCode           |
// |------------------------------|----------------------|
// | 400, 415                     | kInvalidArgument     |
// | 401                          | kUnauthenticated     |
// | 403                          | kPermissionDenied    |
// | 404                          | kNotFound            |
// | 405                          | kUnimplemented       |
// | 409 reason AlreadyExists     | kAlreadyExists       |
// | 409 other (Conflict, ...)    | kAborted             |
// | 410 (Gone, Expired)          | kOutOfRange, IsGone()|
// | 422                          | kInvalidArgument     |
// | 408, 504                     | kDeadlineExceeded    |
// | 429, 500, 502, 503, other 5xx| kUnavailable         |
// | anything else                | kUnknown             |
// The message is "<context>: <code> <reason>: <server message>". Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/status.h"

namespace brfed::kube {

Status StatusFromResponse(int http_code, std::string_view body, std::string_view context);

// True for the Status of a 410: the resourceVersion or continue token is too old; relist.
bool IsGone(const Status& status);

// True for HTTP codes the client retries itself: 429 and 5xx.
bool IsRetryableHttpCode(int http_code);

// Parses a Retry-After header value in seconds (HTTP dates are not used by Kubernetes).
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value);

// Replaces every occurrence of each secret (of 4+ characters) in `text` by "[redacted]".
std::string Scrub(std::string text, const std::vector<std::string>& secrets);

}  // namespace brfed::kube
