// ParseDuration / FormatDuration (brfed/workflow.h): Go's time.Duration text, at millisecond
// precision.
#include <cstdint>
#include <limits>
#include <string>

#include "brfed/workflow.h"

namespace brfed {
namespace {

constexpr int64_t kMaxMillis = std::numeric_limits<int64_t>::max() / 2;
constexpr int kMaxFractionDigits = 9;

struct Unit {
  std::string_view name;
  int64_t millis;
};
// Longest names first so "ms" is not read as "m".
constexpr Unit kUnits[] = {{"ms", 1}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("bad duration \"" + std::string(text) + "\": " + std::string(why));
  };
  if (text.empty()) return bad("empty");
  if (text == "0") return std::chrono::milliseconds(0);
  if (text[0] == '-') return bad("negative");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    // <integer>[.<fraction>]<unit>
    int64_t whole = 0;
    size_t start = i;
    while (i < text.size() && IsDigit(text[i])) {
      if (whole > kMaxMillis / 10) return bad("too large");
      whole = whole * 10 + (text[i] - '0');
      ++i;
    }
    size_t whole_digits = i - start;
    int64_t frac = 0;
    int64_t frac_scale = 1;
    size_t frac_digits = 0;
    if (i < text.size() && text[i] == '.') {
      ++i;
      size_t frac_start = i;
      while (i < text.size() && IsDigit(text[i])) ++i;
      frac_digits = i - frac_start;
      // Trailing zeros add nothing; drop them before counting precision.
      size_t end = i;
      while (end > frac_start && text[end - 1] == '0') --end;
      if (end - frac_start > static_cast<size_t>(kMaxFractionDigits)) {
        return bad("finer than a millisecond");
      }
      for (size_t k = frac_start; k < end; ++k) {
        frac = frac * 10 + (text[k] - '0');
        frac_scale *= 10;
      }
    }
    if (whole_digits == 0 && frac_digits == 0) return bad("expected a number");
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.compare(i, u.name.size(), u.name) == 0) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return bad("expected a unit (h, m, s or ms) after the number");
    i += unit->name.size();
    if (whole > kMaxMillis / unit->millis) return bad("too large");
    int64_t part = whole * unit->millis;
    if ((frac * unit->millis) % frac_scale != 0) return bad("finer than a millisecond");
    part += frac * unit->millis / frac_scale;
    if (total > kMaxMillis - part) return bad("too large");
    total += part;
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string sign;
  uint64_t u = static_cast<uint64_t>(ms);
  if (ms < 0) {
    sign = "-";
    u = ~u + 1;  // two's complement magnitude; safe for INT64_MIN
  }
  if (u < 1000) return sign + std::to_string(u) + "ms";
  uint64_t hours = u / 3600000;
  uint64_t minutes = (u / 60000) % 60;
  uint64_t seconds = (u / 1000) % 60;
  uint64_t millis = u % 1000;
  std::string out = sign;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  out += std::to_string(seconds);
  if (millis > 0) {
    std::string frac = std::to_string(millis);
    frac.insert(0, 3 - frac.size(), '0');
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  out += "s";
  return out;
}

}  // namespace brfed
