#include "tools/brfedctl/cli.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "steps/register.h"

namespace brfed::ctl {

Result<std::unique_ptr<StepRegistry>> MakeRegistry() {
  auto registry = std::make_unique<StepRegistry>();
  RETURN_IF_ERROR(RegisterTestSteps(registry.get()));
  // The federation actions too, so the manager's workflows validate and its journal's runs
  // replay. brfedctl never runs them: it has no data planes to lend them.
  RETURN_IF_ERROR(steps::RegisterFederationSteps(registry.get()));
  return registry;
}

std::string FormatTime(TimePoint t) {
  if (t == TimePoint{}) return "-";
  int64_t ms = ToUnixMillis(t);
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int millis = static_cast<int>(ms - static_cast<int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string FormatOffset(TimePoint t, TimePoint base) {
  if (t == TimePoint{}) return "-";
  int64_t ms = (t - base).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%lld.%03llds", ms < 0 ? "-" : "+",
                static_cast<long long>(std::llabs(ms) / 1000),
                static_cast<long long>(std::llabs(ms) % 1000));
  return buf;
}

Result<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return NotFoundError("no such file");
  if (!std::filesystem::is_regular_file(status)) return InvalidArgumentError("not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return NotFoundError(std::string("cannot open: ") + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return UnavailableError("read failed");
  return text;
}

int PrintError(const Status& s) {
  std::cerr << "brfedctl: " << s.message() << "\n";
  return kExitError;
}

}  // namespace brfed::ctl
