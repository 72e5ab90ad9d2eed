#include "limit/rate_limiter.h"

#include <cassert>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace strata::internal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

absl::Status Invalid(const char* field, absl::string_view expected, double got) {
  return absl::InvalidArgumentError(
      absl::StrCat("RateLimiterOptions.", field, " must be ", expected, ", got ", got));
}

absl::Status InsertTimeout() {
  return absl::DeadlineExceededError("timed out waiting for the rate limiter to admit an insert");
}

absl::Status SampleTimeout(size_t taken, size_t n) {
  return absl::DeadlineExceededError(absl::StrCat(
      "timed out waiting for the rate limiter to admit samples (had ", taken, " of ", n, ")"));
}

}  // namespace

// Window width. A state admits neither an insert nor a sample when
//     diff + spi > max_diff   and   diff - 1 < min_diff,
// i.e. when diff lies in the open interval (max_diff - spi, min_diff + 1). Validate rejects any
// window for which a diff the counters can produce lies there (min_size_to_sample is not part of
// the argument: below it inserts are always admitted).
//  - spi a whole number: diff = inserts * spi - samples is always an integer, and no integer lies
//    in the interval iff floor(max_diff) - ceil(min_diff) >= spi. For integral bounds that is
//    width >= spi = max(1, spi), which admits Queue(1).
//  - otherwise diff can take values arbitrarily close to any real (more so after Reconfigure
//    changes spi), so the interval must be empty: width >= spi + 1. Reverb's SampleToInsertRatio
//    requires width >= 2 * max(1, spi), which implies both.
// max(1, spi) alone is not enough: spi = 1, window [0.5, 1.5] blocks both sides at diff = 1, and
// spi = 0.3, window [0, 1] at diff = 0.9.
absl::Status RateLimiter::Validate(const RateLimiterOptions& options) {
  const double spi = options.samples_per_insert;
  const double lo = options.min_diff, hi = options.max_diff;
  if (!std::isfinite(spi) || !(spi > 0)) {
    return Invalid("samples_per_insert", "finite and > 0", spi);
  }
  if (options.min_size_to_sample < 1) {
    return Invalid("min_size_to_sample", ">= 1", static_cast<double>(options.min_size_to_sample));
  }
  if (std::isnan(lo) || lo == kInf) return Invalid("min_diff", "a number < +inf", lo);
  if (std::isnan(hi) || hi == -kInf) return Invalid("max_diff", "a number > -inf", hi);
  if (lo > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("RateLimiterOptions.min_diff (", lo, ") must be <= max_diff (", hi, ")"));
  }
  if (std::isfinite(lo) && std::isfinite(hi)) {
    const bool whole = spi == std::floor(spi);
    const bool ok = whole ? std::floor(hi) - std::ceil(lo) >= spi : hi - lo >= spi + 1;
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("RateLimiterOptions.max_diff - min_diff (", hi, " - ", lo,
                       ") is too narrow for samples_per_insert ", spi, ": ",
                       whole ? "floor(max_diff) - ceil(min_diff) must be >= samples_per_insert"
                             : "max_diff - min_diff must be >= samples_per_insert + 1",
                       ", or some diff would block both inserts and samples forever"));
    }
  }
  return absl::OkStatus();
}

RateLimiter::RateLimiter(const RateLimiterOptions& options, Mutex* mu, const size_t* table_size,
                         const bool* closed)
    : mu_(mu), table_size_(table_size), closed_(closed), options_(options) {
  assert(Validate(options).ok());
}

double RateLimiter::diff() const {
  return static_cast<double>(inserts_) * options_.samples_per_insert -
         static_cast<double>(samples_);
}

bool RateLimiter::CanInsert(size_t admitted) const {
  const uint64_t size = *table_size_ + admitted;
  return size < static_cast<uint64_t>(options_.min_size_to_sample) ||
         diff() + options_.samples_per_insert <= options_.max_diff;
}

bool RateLimiter::CanSample() const {
  return *table_size_ >= static_cast<uint64_t>(options_.min_size_to_sample) &&
         diff() - 1 >= options_.min_diff;
}

bool RateLimiter::InsertReadyOrClosed() const { return *closed_ || CanInsert(0); }

bool RateLimiter::SampleReadyOrClosed() const { return *closed_ || CanSample(); }

absl::StatusOr<size_t> RateLimiter::AcquireInserts(size_t n, absl::Time deadline) {
  if (n == 0) return absl::InvalidArgumentError("AcquireInserts: n must be >= 1");
  if (*closed_) return absl::FailedPreconditionError("table is closed");
  if (!CanInsert(0)) {
    if (deadline <= absl::Now()) return InsertTimeout();
    ++insert_waits_;
    ++waiting_inserts_;
    const absl::Time start = absl::Now();
    mu_->AwaitInterruptibly(
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return InsertReadyOrClosed(); }, deadline);
    insert_wait_time_ += absl::Now() - start;
    --waiting_inserts_;
    if (*closed_) return absl::CancelledError("table closed while waiting to insert");
    if (!CanInsert(0)) return InsertTimeout();
  }
  size_t admitted = 0;
  while (admitted < n && CanInsert(admitted)) {
    ++inserts_;
    ++admitted;
  }
  return admitted;
}

absl::Status RateLimiter::AcquireSamples(size_t n, absl::Time deadline) {
  if (n == 0) return absl::InvalidArgumentError("AcquireSamples: n must be >= 1");
  if (*closed_) return absl::FailedPreconditionError("table is closed");
  size_t taken = 0;
  bool waited = false;
  while (true) {
    while (taken < n && CanSample()) {
      ++samples_;
      ++taken;
    }
    if (taken == n) return absl::OkStatus();
    if (deadline <= absl::Now()) {
      samples_ -= static_cast<int64_t>(taken);
      return SampleTimeout(taken, n);
    }
    // Wait holding the credits taken so far: they lower diff, which is what lets the inserts this
    // batch is waiting for through.
    if (!waited) ++sample_waits_;
    waited = true;
    ++waiting_samples_;
    const absl::Time start = absl::Now();
    mu_->AwaitInterruptibly(
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return SampleReadyOrClosed(); }, deadline);
    sample_wait_time_ += absl::Now() - start;
    --waiting_samples_;
    if (*closed_) {
      samples_ -= static_cast<int64_t>(taken);
      return absl::CancelledError("table closed while waiting to sample");
    }
    if (!CanSample()) {
      samples_ -= static_cast<int64_t>(taken);
      return SampleTimeout(taken, n);
    }
  }
}

void RateLimiter::ReleaseSamples(size_t n) {
  assert(static_cast<int64_t>(n) <= samples_);
  samples_ -= static_cast<int64_t>(n);
}

void RateLimiter::ReleaseInserts(size_t n) {
  assert(static_cast<int64_t>(n) <= inserts_);
  inserts_ -= static_cast<int64_t>(n);
}

absl::Status RateLimiter::Reconfigure(const RateLimiterOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  options_ = options;
  return absl::OkStatus();
}

RateLimiterInfo RateLimiter::info() const {
  RateLimiterInfo info;
  info.options = options_;
  info.inserts = inserts_;
  info.samples = samples_;
  info.diff = diff();
  info.waiting_inserts = waiting_inserts_;
  info.waiting_samples = waiting_samples_;
  info.insert_waits = insert_waits_;
  info.sample_waits = sample_waits_;
  info.insert_wait_seconds = absl::ToDoubleSeconds(insert_wait_time_);
  info.sample_wait_seconds = absl::ToDoubleSeconds(sample_wait_time_);
  return info;
}

}  // namespace strata::internal
