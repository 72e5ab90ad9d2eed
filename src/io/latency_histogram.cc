#include "io/latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace strata::internal {

int LatencyHistogram::BucketFor(double micros) {
  if (!(micros >= 1.0)) return 0;  // also NaN
  if (micros >= std::ldexp(1.0, kOctaves)) return kNumBuckets - 1;
  int exp;
  const double mantissa =
      std::frexp(micros, &exp);  // micros = mantissa * 2^exp, mantissa in [0.5, 1)
  const int octave = exp - 1;    // micros in [2^octave, 2^(octave+1))
  const int sub = std::min(kSubBuckets - 1, static_cast<int>((mantissa * 2 - 1) * kSubBuckets));
  return 1 + octave * kSubBuckets + sub;
}

double LatencyHistogram::BucketLower(int b) {
  if (b <= 0) return 0;
  if (b >= kNumBuckets - 1) return std::ldexp(1.0, kOctaves);
  const int octave = (b - 1) / kSubBuckets;
  const int sub = (b - 1) % kSubBuckets;
  return std::ldexp(1.0 + static_cast<double>(sub) / kSubBuckets, octave);
}

double LatencyHistogram::BucketUpper(int b) {
  if (b >= kNumBuckets - 1) return std::numeric_limits<double>::infinity();
  return BucketLower(b + 1);
}

uint64_t LatencyHistogram::count() const {
  uint64_t n = 0;
  for (const auto& b : buckets_) n += b.load(std::memory_order_relaxed);
  return n;
}

double LatencyHistogram::Percentile(double p) const {
  std::array<uint64_t, kNumBuckets> snap;
  uint64_t total = 0;
  for (int b = 0; b < kNumBuckets; ++b) {
    snap[b] = buckets_[b].load(std::memory_order_relaxed);
    total += snap[b];
  }
  if (total == 0) return 0;
  p = std::clamp(std::isnan(p) ? 0.0 : p, 0.0, 100.0);
  // The rank (1-based) of the sample that is the p-th percentile.
  const double rank = std::max(1.0, std::ceil(p / 100.0 * static_cast<double>(total)));
  uint64_t below = 0;
  for (int b = 0; b < kNumBuckets; ++b) {
    if (snap[b] == 0 || static_cast<double>(below + snap[b]) < rank) {
      below += snap[b];
      continue;
    }
    if (b == kNumBuckets - 1) return BucketLower(b);
    // Spread the bucket's samples evenly over it and take the middle of the rank's share.
    const double frac = (rank - static_cast<double>(below) - 0.5) / static_cast<double>(snap[b]);
    return BucketLower(b) + frac * (BucketUpper(b) - BucketLower(b));
  }
  return BucketLower(kNumBuckets - 1);  // not reached: rank <= total
}

void LatencyHistogram::Clear() {
  for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
}

}  // namespace strata::internal
