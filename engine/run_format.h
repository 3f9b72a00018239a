// Rendering of journal records and run views: one stable text form for `brfedctl replay` /
// `inspect` and the golden scenario files, and a Value (JSON) form for scripts.
//
//   FormatOptions o{.relative_to = view.started_at};      // "+1.5s" instead of RFC 3339
//   std::cout << FormatRunText(view, o);
//   std::cout << FormatEventLine(event, o) << "\n";        // "3 AttemptFailed t=+1s snap[0] ..."
//   std::string json = RunViewToValue(view).ToJson();
//
// The text forms are part of the golden files: change them only together with a rewrite of
// tests/unit/engine/testdata. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "brfed/engine.h"
#include "brfed/env.h"
#include "brfed/journal.h"
#include "brfed/value.h"

namespace brfed {

struct FormatOptions {
  // When set, times print as a signed offset from this point ("+1m30s"); otherwise as RFC 3339
  // UTC with milliseconds ("2026-01-02T03:04:05.678Z").
  std::optional<TimePoint> relative_to;
};

std::string FormatTime(TimePoint t, const FormatOptions& options);

// "<seq> <Type> t=<time> <fields>", one line, no newline. Strings are JSON-quoted.
std::string FormatEventLine(const Event& e, const FormatOptions& options);

// The run header and a table of its step instances; every line ends with "\n" and none is
// empty.
std::string FormatRunText(const RunView& view, const FormatOptions& options);

// JSON-ready forms; times are Unix milliseconds.
Value EventToValue(const Event& e);
Value RunViewToValue(const RunView& view);

}  // namespace brfed
