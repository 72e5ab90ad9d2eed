// SwapRatioPolicy: the swap controller's decision logic as a pure state machine over synthetic
// measurements, so it can be tested deterministically; SwapController (swap_controller.cc) feeds
// it the table's counters. The policy is described in include/strata/swap_controller.h.
//
// A value type: copy it to try a decision without committing it. Externally synchronized.
#ifndef STRATA_CL_SWAP_RATIO_POLICY_H_
#define STRATA_CL_SWAP_RATIO_POLICY_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "strata/swap_controller.h"

namespace strata::internal {

// What the table did during one tick (deltas of its TierInfo counters).
struct SwapTickInput {
  uint64_t requested = 0;       // delta swaps_requested
  uint64_t swapped = 0;         // delta swaps
  uint64_t skipped = 0;         // delta swaps_skipped
  uint64_t reads = 0;           // delta reads_completed
  double latency_total_us = 0;  // delta read_latency_total_us
  double seconds = 0;           // length of the tick
};

// OK if `o` (with target_ratio and base_interval already resolved) is usable; else
// InvalidArgument naming the field, its value and the range expected.
absl::Status ValidateSwapControllerOptions(const SwapControllerOptions& o);

class SwapRatioPolicy {
 public:
  // Starts at (target_ratio, base_interval). `o` must be valid.
  explicit SwapRatioPolicy(const SwapControllerOptions& o);

  // Judges one tick and moves the settings; returns the decision (tick number and inputs filled,
  // `time` as given).
  SwapDecision Decide(const SwapTickInput& in, absl::Time time);

  double ratio() const { return ratio_; }
  uint32_t interval() const { return interval_; }
  double baseline_us() const { return baseline_us_; }
  // The effective swap rate: victims per sampled item, averaged over batches.
  double rate() const { return ratio_ / interval_; }

 private:
  SwapControllerOptions o_;
  double low_ratio_;  // o_.low_ratio capped at the target
  double ratio_;
  uint32_t interval_;
  double baseline_us_;  // 0: not learned yet
  uint32_t calm_ = 0;   // consecutive uncontended ticks since the last change
  uint64_t ticks_ = 0;
};

}  // namespace strata::internal

#endif  // STRATA_CL_SWAP_RATIO_POLICY_H_
