// A small measuring harness for strata_bench: per-call latencies, percentiles, peak RSS, and the
// machine's memcpy bandwidth measured in the same run (the reference the targets are ratios of).
#ifndef STRATA_BENCH_HARNESS_H_
#define STRATA_BENCH_HARNESS_H_

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace strata::bench {

inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Peak resident set of this process, bytes.
inline uint64_t PeakRssBytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;
}

// Current resident set, bytes (from /proc/self/statm).
inline uint64_t CurrentRssBytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * 4096;
}

struct Result {
  std::string name;
  double items_per_call = 0;
  int reps = 1;                 // inner calls per timed call (for calls too short to time alone)
  std::vector<double> seconds;  // per timed call

  double Percentile(double p) const {
    std::vector<double> s = seconds;
    std::sort(s.begin(), s.end());
    if (s.empty()) return 0;
    size_t i = static_cast<size_t>(p * static_cast<double>(s.size() - 1) + 0.5);
    return s[std::min(i, s.size() - 1)];
  }
  double Total() const {
    double t = 0;
    for (double x : seconds) t += x;
    return t;
  }
  double ItemsPerSecond() const { return items_per_call * reps * seconds.size() / Total(); }
  // Per inner call, seconds.
  double P50() const { return Percentile(0.5) / reps; }
  double P99() const { return Percentile(0.99) / reps; }
};

// Calls fn() `calls` times after `warmup` calls, timing each.
// With reps > 1, fn() must itself make `reps` calls; percentiles are then per inner call,
// averaged over each group of reps.
template <typename Fn>
Result Measure(std::string name, double items_per_call, int warmup, int calls, Fn&& fn,
               int reps = 1) {
  for (int i = 0; i < warmup; ++i) fn();
  Result r{std::move(name), items_per_call, reps, {}};
  r.seconds.reserve(calls);
  for (int i = 0; i < calls; ++i) {
    const double t0 = NowSeconds();
    fn();
    r.seconds.push_back(NowSeconds() - t0);
  }
  return r;
}

// memcpy bandwidth in bytes/s over a buffer far larger than the caches (copies counted once).
inline double MemcpyBandwidth(size_t bytes) {
  std::vector<char> a(bytes, 1), b(bytes, 2);
  std::memcpy(b.data(), a.data(), bytes);  // fault the pages in
  double best = 0;
  for (int i = 0; i < 5; ++i) {
    const double t0 = NowSeconds();
    std::memcpy(b.data(), a.data(), bytes);
    const double dt = NowSeconds() - t0;
    best = std::max(best, static_cast<double>(bytes) / dt);
  }
  // Keep the copy observable so it is not elided.
  if (b[bytes / 2] != 1) std::printf("?");
  return best;
}

inline void PrintHeader() {
  std::printf("%-44s %14s %12s %12s %12s\n", "case", "items/s", "p50 us", "p99 us", "calls");
}

inline void Print(const Result& r, const char* extra = "") {
  std::printf("%-44s %14.0f %12.3f %12.3f %12zu %s\n", r.name.c_str(), r.ItemsPerSecond(),
              r.P50() * 1e6, r.P99() * 1e6, r.seconds.size() * r.reps, extra);
}

}  // namespace strata::bench

#endif  // STRATA_BENCH_HARNESS_H_
