// StringHash: hashes std::string and std::string_view alike, so an unordered container keyed
// by std::string (with std::equal_to<>) is searched with a view, without building a string.
//
//   std::unordered_map<std::string, int, StringHash, std::equal_to<>> m;
//   m.find(std::string_view("key"));
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace brfed {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace brfed
