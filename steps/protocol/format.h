// Value renderings the federation protocol fixes byte for byte (FEDERATION_PROTOCOL §2.3–2.5).
//
//   ReadableSize(1500)                      -> "1.5 kB"
//   TimeTakenText(std::chrono::seconds(62)) -> "1m2s"
//   FormatKubeTime(t)                       -> "2024-05-01T00:00:00Z"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "brfed/env.h"
#include "brfed/status.h"

namespace brfed::protocol {

// SI sizes, base 1000: "0 B", "9 B", "1.5 kB", "83 MB", "1.2 TB" (§2.5). Negative → "0 B".
std::string ReadableSize(int64_t bytes);

// Go time.Duration text after rounding to whole seconds: "0s", "45s", "2m0s", "1h2m3s" (§2.4).
std::string TimeTakenText(Duration d);

// RFC 3339 UTC with whole seconds (§2.3).
std::string FormatKubeTime(TimePoint t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)". kInvalidArgument naming the text otherwise.
Result<TimePoint> ParseKubeTime(std::string_view text);

// A decimal int64 with nothing else around it (TSOs, sizes written as strings).
std::optional<int64_t> ParseInt64(std::string_view text);

}  // namespace brfed::protocol
