#include "steps/protocol/format.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace brfed::protocol {

std::string ReadableSize(int64_t bytes) {
  if (bytes < 10) return std::to_string(bytes < 0 ? 0 : bytes) + " B";
  static constexpr const char* kSuffix[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double n = static_cast<double>(bytes);
  int e = static_cast<int>(std::floor(std::log(n) / std::log(1000.0)));
  if (e > 6) e = 6;
  double v = std::floor(n / std::pow(1000.0, e) * 10 + 0.5) / 10;
  char buf[64];
  std::snprintf(buf, sizeof(buf), v < 10 ? "%.1f %s" : "%.0f %s", v, kSuffix[e]);
  return buf;
}

std::string TimeTakenText(Duration d) {
  // Round half away from zero to whole seconds, as Go's Duration.Round(time.Second) does.
  int64_t ms = d.count();
  int64_t secs = ms >= 0 ? (ms + 500) / 1000 : -((-ms + 500) / 1000);
  std::string sign = secs < 0 ? "-" : "";
  if (secs < 0) secs = -secs;
  int64_t h = secs / 3600, m = secs / 60 % 60, s = secs % 60;
  if (h > 0) return sign + std::to_string(h) + "h" + std::to_string(m) + "m" + std::to_string(s) + "s";
  if (m > 0) return sign + std::to_string(m) + "m" + std::to_string(s) + "s";
  return sign + std::to_string(s) + "s";
}

std::string FormatKubeTime(TimePoint t) {
  std::time_t secs = static_cast<std::time_t>(
      std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count());
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

Result<TimePoint> ParseKubeTime(std::string_view text) {
  auto bad = [&] { return InvalidArgumentError("bad RFC 3339 time \"" + std::string(text) + "\""); };
  int y, mo, d, h, mi, s;
  if (!Digits(text, 0, 4, &y) || text.size() < 20 || text[4] != '-' || !Digits(text, 5, 2, &mo) ||
      text[7] != '-' || !Digits(text, 8, 2, &d) || (text[10] != 'T' && text[10] != 't') ||
      !Digits(text, 11, 2, &h) || text[13] != ':' || !Digits(text, 14, 2, &mi) ||
      text[16] != ':' || !Digits(text, 17, 2, &s)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
  size_t pos = 19;
  int64_t frac_ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      frac_ms += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int64_t offset_secs = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!Digits(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !Digits(text, pos + 4, 2, &om)) {
      return bad();
    }
    offset_secs = (oh * 3600 + om * 60) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_secs;
  return TimePoint(Duration(secs * 1000 + frac_ms));
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  int64_t v = 0;
  if (text.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace brfed::protocol
