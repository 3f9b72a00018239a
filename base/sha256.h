// SHA-256 digests, for content identity (a workflow definition's hash).
//
//   std::string id = Sha256Hex(text);  // 64 lowercase hex digits
#pragma once

#include <string>
#include <string_view>

namespace brfed {

// The SHA-256 of `data` as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view data);

}  // namespace brfed
