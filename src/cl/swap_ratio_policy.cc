#include "cl/swap_ratio_policy.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace strata::internal {
namespace {

// Ratios are compared with this slack so that additive steps land exactly on the target.
constexpr double kEpsilon = 1e-9;

absl::Status Bad(const char* field, double value, const std::string& expected) {
  return absl::InvalidArgumentError(
      absl::StrCat("SwapControllerOptions.", field, " must be ", expected, ", got ", value));
}

}  // namespace

absl::Status ValidateSwapControllerOptions(const SwapControllerOptions& o) {
  // Negated comparisons reject NaN too.
  if (!(o.min_ratio > 0 && o.min_ratio <= 1)) return Bad("min_ratio", o.min_ratio, "in (0, 1]");
  if (!(o.target_ratio >= o.min_ratio && o.target_ratio <= 1)) {
    return Bad("target_ratio", o.target_ratio,
               absl::StrCat("in [min_ratio, 1] = [", o.min_ratio, ", 1] (a negative value takes ",
                            "the table's swap_ratio)"));
  }
  if (!(o.low_ratio >= 0 && o.low_ratio <= 1)) return Bad("low_ratio", o.low_ratio, "in [0, 1]");
  if (o.base_interval < 1) return Bad("base_interval", o.base_interval, ">= 1");
  if (o.max_interval < o.base_interval) {
    return Bad("max_interval", o.max_interval,
               absl::StrCat(">= base_interval (", o.base_interval, ")"));
  }
  if (o.low_ratio_interval < o.max_interval) {
    // Below low_ratio the interval is set to low_ratio_interval: a shorter one would raise the
    // swap rate in a step meant to lower it.
    return Bad("low_ratio_interval", o.low_ratio_interval,
               absl::StrCat(">= max_interval (", o.max_interval, ")"));
  }
  if (!(o.ratio_step > 0 && o.ratio_step <= 1)) {
    return Bad("ratio_step", o.ratio_step, "in (0, 1]");
  }
  if (o.calm_ticks < 1) return Bad("calm_ticks", o.calm_ticks, ">= 1");
  if (!(o.skip_fraction >= 0 && o.skip_fraction < 1)) {
    return Bad("skip_fraction", o.skip_fraction, "in [0, 1)");
  }
  if (!(o.latency_factor >= 1 && std::isfinite(o.latency_factor))) {
    return Bad("latency_factor", o.latency_factor, ">= 1 and finite");
  }
  if (!(o.latency_target_us >= 0 && std::isfinite(o.latency_target_us))) {
    return Bad("latency_target_us", o.latency_target_us, ">= 0 and finite (0: learned)");
  }
  if (!(o.period > absl::ZeroDuration() && o.period < absl::InfiniteDuration())) {
    return absl::InvalidArgumentError(
        absl::StrCat("SwapControllerOptions.period must be positive and finite, got ",
                     absl::FormatDuration(o.period)));
  }
  return absl::OkStatus();
}

SwapRatioPolicy::SwapRatioPolicy(const SwapControllerOptions& o)
    : o_(o),
      low_ratio_(std::min(o.low_ratio, o.target_ratio)),
      ratio_(o.target_ratio),
      interval_(o.base_interval),
      baseline_us_(o.latency_target_us) {}

SwapDecision SwapRatioPolicy::Decide(const SwapTickInput& in, absl::Time time) {
  SwapDecision d;
  d.time = time;
  d.tick = ++ticks_;
  d.requested = in.requested;
  d.swapped = in.swapped;
  d.skipped = in.skipped;
  d.reads = in.reads;
  d.swaps_per_second = in.seconds > 0 ? static_cast<double>(in.swapped) / in.seconds : 0;
  d.mean_read_latency_us = in.reads > 0 ? in.latency_total_us / static_cast<double>(in.reads) : 0;
  d.baseline_us = baseline_us_;

  // The judgment.
  const bool too_many_skips =
      in.requested > 0 &&
      static_cast<double>(in.skipped) > o_.skip_fraction * static_cast<double>(in.requested);
  const bool latency_known = in.reads >= o_.min_reads && in.reads > 0;
  const bool too_slow = latency_known && baseline_us_ > 0 &&
                        d.mean_read_latency_us > o_.latency_factor * baseline_us_;
  d.contended = too_many_skips || too_slow;
  if (too_many_skips) {
    d.reason = absl::StrFormat("skipped %d of %d requested (> %g)", in.skipped, in.requested,
                               o_.skip_fraction);
  }
  if (too_slow) {
    absl::StrAppend(&d.reason, d.reason.empty() ? "" : "; ",
                    absl::StrFormat("mean read latency %.1f us > %g x baseline %.1f us",
                                    d.mean_read_latency_us, o_.latency_factor, baseline_us_));
  }

  if (d.contended) {
    calm_ = 0;
    if (ratio_ >= low_ratio_ && interval_ < o_.max_interval) {
      interval_ = std::min(interval_ * 2, o_.max_interval);
      d.action = "lengthen interval";
    } else if (ratio_ > o_.min_ratio + kEpsilon) {
      ratio_ = std::max(ratio_ * 0.5, o_.min_ratio);
      if (ratio_ < low_ratio_) interval_ = o_.low_ratio_interval;
      d.action = "lower ratio";
    } else {
      d.action = "hold (at minimum)";
    }
  } else {
    // A calm tick with enough reads teaches the baseline (unless one was given).
    if (o_.latency_target_us == 0 && latency_known &&
        (baseline_us_ == 0 || d.mean_read_latency_us < baseline_us_)) {
      baseline_us_ = d.mean_read_latency_us;
    }
    const bool at_target = ratio_ >= o_.target_ratio - kEpsilon && interval_ <= o_.base_interval;
    if (at_target) {
      calm_ = 0;
      d.action = "hold";
    } else if (++calm_ < o_.calm_ticks) {
      d.action = absl::StrCat("hold (calm ", calm_, "/", o_.calm_ticks, ")");
    } else {
      calm_ = 0;
      if (ratio_ < o_.target_ratio - kEpsilon) {
        ratio_ = std::min(ratio_ + o_.ratio_step, o_.target_ratio);
        if (o_.target_ratio - ratio_ < kEpsilon) ratio_ = o_.target_ratio;
        interval_ =
            ratio_ < low_ratio_ ? o_.low_ratio_interval : std::min(interval_, o_.max_interval);
        d.action = "recover ratio";
      } else {
        interval_ -= 1;
        d.action = "shorten interval";
      }
    }
  }
  d.ratio = ratio_;
  d.interval = interval_;
  return d;
}

}  // namespace strata::internal
