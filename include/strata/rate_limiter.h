// Rate limiter options: how a table paces inserts against samples.
//
// The limiter keeps `diff = inserts * samples_per_insert - samples`, counted per item. A sample
// of n items is admitted item by item while the table holds at least min_size_to_sample items
// and diff - 1 >= min_diff; an insert while diff + samples_per_insert <= max_diff. A call that
// cannot be admitted waits (table lock released) until it can, its timeout passes
// (DeadlineExceeded) or the table closes (Cancelled). See docs/design.md, "Rate limiter", for why
// this cannot deadlock the way restored Reverb limiters did.
#ifndef STRATA_RATE_LIMITER_H_
#define STRATA_RATE_LIMITER_H_

#include <cstdint>
#include <limits>

namespace strata {

struct RateLimiterOptions {
  double samples_per_insert = 1.0;  // > 0
  int64_t min_size_to_sample = 1;   // >= 1
  double min_diff = -std::numeric_limits<double>::infinity();
  double max_diff = std::numeric_limits<double>::infinity();
};

// Sampling waits until the table holds `min_size` items; no other pacing.
inline RateLimiterOptions MinSize(int64_t min_size) {
  return {.samples_per_insert = 1.0, .min_size_to_sample = min_size};
}

// Each insert pays for `samples_per_insert` samples on average, within +-error_buffer.
// min_diff = spi * min_size - error_buffer, max_diff = spi * min_size + error_buffer, as in Reverb.
inline RateLimiterOptions SampleToInsertRatio(double samples_per_insert, int64_t min_size_to_sample,
                                              double error_buffer) {
  const double offset = samples_per_insert * static_cast<double>(min_size_to_sample);
  return {.samples_per_insert = samples_per_insert,
          .min_size_to_sample = min_size_to_sample,
          .min_diff = offset - error_buffer,
          .max_diff = offset + error_buffer};
}

// A bounded queue: every item is sampled exactly once (pair with Fifo() sampler, Fifo() remover
// and max_times_sampled = 1); inserts wait while `max_size` items are unsampled.
inline RateLimiterOptions Queue(int64_t max_size) {
  return {.samples_per_insert = 1.0,
          .min_size_to_sample = 1,
          .min_diff = 0.0,
          .max_diff = static_cast<double>(max_size)};
}

// The same limiter as Queue; pair it with a Lifo() sampler for a stack.
inline RateLimiterOptions Stack(int64_t max_size) { return Queue(max_size); }

// A snapshot of a limiter's counters.
struct RateLimiterInfo {
  RateLimiterOptions options;
  int64_t inserts = 0;          // items admitted for insertion over the table's life
  int64_t samples = 0;          // items admitted for sampling (returned credits subtracted)
  double diff = 0;              // inserts * samples_per_insert - samples
  int64_t waiting_inserts = 0;  // calls blocked right now
  int64_t waiting_samples = 0;
  int64_t insert_waits = 0;  // calls that had to wait at least once
  int64_t sample_waits = 0;
  double insert_wait_seconds = 0;  // total time callers spent blocked
  double sample_wait_seconds = 0;
};

}  // namespace strata

#endif  // STRATA_RATE_LIMITER_H_
