// Small helpers shared by the plain-main() engine benchmarks: flags of the form --name=value,
// a scratch directory on the disk under test, run ids, and the result table every benchmark
// prints:
//
//   metric                     measured     baseline     ratio   target   result
//   durable transitions/s      95,000       120,000      0.79x   >= 0.7x  PASS
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace brfed::bench {

// Run id number `i`: 36 characters, like the Kubernetes uids that name real runs.
inline std::string RunId(uint64_t i) {
  char id[64];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012llu",
                static_cast<unsigned long long>(i));
  return id;
}

// Run id number `i` as a Kubernetes uid looks: random-looking hex (a version-4 UUID), so ids in
// sorted order are in no relation to the order the runs were made in. Deterministic.
inline std::string RandomRunId(uint64_t i) {
  auto mix = [](uint64_t x) {  // splitmix64's finalizer
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  const uint64_t a = mix(2 * i + 1), b = mix(2 * i + 2);
  char id[64];
  std::snprintf(
      id, sizeof id, "%08llx-%04llx-4%03llx-8%03llx-%012llx",
      static_cast<unsigned long long>(a >> 32), static_cast<unsigned long long>((a >> 16) & 0xffff),
      static_cast<unsigned long long>(a & 0xfff), static_cast<unsigned long long>(b >> 52),
      static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return id;
}

// The value of --name=value in argv, or `fallback`.
inline std::string Flag(int argc, char** argv, std::string_view name, std::string fallback) {
  std::string prefix = "--" + std::string(name) + "=";
  for (int i = 1; i < argc; ++i) {
    std::string_view a(argv[i]);
    if (a.starts_with(prefix)) return std::string(a.substr(prefix.size()));
  }
  return fallback;
}

inline uint64_t FlagInt(int argc, char** argv, std::string_view name, uint64_t fallback) {
  std::string v = Flag(argc, argv, name, "");
  return v.empty() ? fallback : std::strtoull(v.c_str(), nullptr, 10);
}

// A fresh directory under --dir (default $TMPDIR or /tmp): the disk being measured.
inline std::string ScratchDir(int argc, char** argv, const char* prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = Flag(argc, argv, "dir", tmp != nullptr && *tmp != '\0' ? tmp : "/tmp");
  std::string templ = base + "/" + prefix + "-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    std::perror(("mkdtemp " + templ).c_str());
    std::exit(2);
  }
  return templ;
}

inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// "1,234,567"
inline std::string Grouped(double v) {
  std::string digits = std::to_string(static_cast<long long>(v + 0.5));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

inline std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

struct Row {
  std::string metric, measured, baseline, ratio, target;
  bool pass = false;
};

// The element whose key(e) is the median (the lower middle one for an even count); sorts *v by
// it. REQUIRES: !v->empty().
template <typename T, typename Key>
const T& MedianBy(std::vector<T>* v, Key key) {
  std::sort(v->begin(), v->end(), [&key](const T& a, const T& b) { return key(a) < key(b); });
  return (*v)[(v->size() - 1) / 2];
}

// Prints the rows as a table; returns 0 when every row passed, 1 otherwise.
inline int PrintRows(const std::vector<Row>& rows) {
  std::printf("\n%-40s %14s %14s %9s %10s  %s\n", "metric", "measured", "baseline", "ratio",
              "target", "result");
  bool all = true;
  for (const Row& r : rows) {
    std::printf("%-40s %14s %14s %9s %10s  %s\n", r.metric.c_str(), r.measured.c_str(),
                r.baseline.c_str(), r.ratio.c_str(), r.target.c_str(), r.pass ? "PASS" : "MISS");
    all = all && r.pass;
  }
  return all ? 0 : 1;
}

}  // namespace brfed::bench
