// Small helpers shared by the kube/ sources: base64, RFC 3339 time, URL query encoding.
//
//   ASSIGN_OR_RETURN(std::string pem, internal::Base64Decode(field_text));
//   std::optional<std::chrono::system_clock::time_point> t =
//       internal::ParseRfc3339("2024-05-01T10:00:00Z");
//   std::string q = internal::QueryEscape("app in (a,b)");  // "app+in+%28a%2Cb%29"
//
// All functions are pure and thread-safe.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "brfed/status.h"

namespace brfed::kube::internal {

// obj[key] when obj is an object and that member is a string, else "". Never throws.
std::string StringField(const nlohmann::json& obj, std::string_view key);

// Standard base64 (RFC 4648, '+' '/', padding optional, whitespace ignored).
Result<std::string> Base64Decode(std::string_view in);
std::string Base64Encode(std::string_view in);

// Parses "2006-01-02T15:04:05Z", with optional fraction and a Z or ±hh:mm offset.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view s);

// Form-encodes a query value like Go's url.QueryEscape: space → '+', reserved → %XX.
std::string QueryEscape(std::string_view s);

// Percent-encodes one path segment (object names are DNS names, so this is mostly identity).
std::string PathEscape(std::string_view s);

// Directory part of a path ("/a/b/c" → "/a/b", "c" → ".").
std::string DirName(const std::string& path);

// `path` if absolute or empty, else `dir + "/" + path`.
std::string ResolvePath(const std::string& dir, const std::string& path);

// Reads a whole file. Errors name the path, never the content.
Result<std::string> ReadFile(const std::string& path);

}  // namespace brfed::kube::internal
