// LatencyHistogram: a thread-safe log-linear histogram of latencies in microseconds, for the
// per-op latency the AsyncReader backends report (ReaderStats::latency_p50_us / _p99_us).
//
// Buckets. Bucket 0 holds [0, 1) us. Every power of two from 1 us to 2^27 us (~134 s) is split
// into kSubBuckets equal sub-buckets, so a bucket is at most 25% of its lower bound wide:
// [1, 1.25), [1.25, 1.5), ..., [2^k, 2^k * 1.25), ... The last bucket holds [2^27 us, inf).
// Percentile interpolates linearly inside the bucket that holds the requested rank, so its error
// is below one bucket's width.
//
// Thread safety: thread-safe. Record is lock-free (relaxed atomic increments); Percentile reads
// the buckets one by one, so while other threads record it sees a mix of before and after, which
// is within the precision a latency percentile needs.
#ifndef STRATA_IO_LATENCY_HISTOGRAM_H_
#define STRATA_IO_LATENCY_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstdint>

namespace strata::internal {

class LatencyHistogram {
 public:
  static constexpr int kSubBuckets = 4;  // per power of two
  static constexpr int kOctaves = 27;    // [1 us, 2^27 us)
  static constexpr int kNumBuckets = 1 + kOctaves * kSubBuckets + 1;

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Counts one latency of `micros` microseconds (negative or NaN counts as 0).
  void Record(double micros) {
    buckets_[BucketFor(micros)].fetch_add(1, std::memory_order_relaxed);
  }
  // Latencies recorded so far.
  uint64_t count() const;
  // The latency below which `p` percent of the recorded ones fall (p is clamped to [0, 100]),
  // interpolated inside its bucket; 0 when nothing was recorded. A rank in the last (open)
  // bucket returns that bucket's lower bound, 2^27 us.
  double Percentile(double p) const;
  // Forgets everything recorded. Not atomic with respect to concurrent Record calls.
  void Clear();

  // The bucket `micros` falls into, and the bounds [BucketLower(b), BucketUpper(b)) of bucket b
  // (BucketUpper of the last bucket is infinity). Exposed for tests.
  static int BucketFor(double micros);
  static double BucketLower(int b);
  static double BucketUpper(int b);

 private:
  std::array<std::atomic<uint64_t>, kNumBuckets> buckets_{};
};

}  // namespace strata::internal

#endif  // STRATA_IO_LATENCY_HISTOGRAM_H_
