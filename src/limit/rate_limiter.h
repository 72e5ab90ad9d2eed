// RateLimiter: paces a table's inserts against its samples.
//
// What it is. One RateLimiter belongs to one table and lives as long as it. It keeps two
// per-item counters, `inserts` and `samples`, and from them
//
//     diff = inserts * samples_per_insert - samples
//
// An insert of one item is admitted while diff + samples_per_insert <= max_diff, or while the
// table holds fewer than min_size_to_sample items. A sample of one item is admitted while the
// table holds at least min_size_to_sample items and diff - 1 >= min_diff. A call that cannot be
// admitted waits, with the table mutex released, until it can, its deadline passes
// (DeadlineExceeded) or the table closes (Cancelled).
//
// Ownership. The limiter borrows three things from its table, all of which must outlive it: the
// table mutex `*mu`, and the table's item count and closed flag, both guarded by `*mu`. It reads
// the last two inside its wait conditions. Mutex re-evaluates every waiter's condition
// whenever the mutex is released, so a table change (an insert, a removal, a close) wakes exactly
// the waiters it unblocks without any explicit signal.
//
//     Table ──owns──> RateLimiter
//       │ mu_ ◄──────── mu_          (borrowed; every method runs with it held)
//       │ size_ ◄────── table_size_  (read in conditions)
//       │ closed_ ◄──── closed_      (read in conditions)
//
// Thread-safety: externally synchronized. Every method requires `*mu` held; the blocking ones
// release it while they wait (Mutex::AwaitWithDeadline) and hold it again on return. In
// TSan builds the waits also annotate the hand-off (libabsl is not instrumented; see the .cc).
//
// Why it cannot deadlock the way Reverb tables did. Reverb users reported three ways a table
// froze for good; each is closed off here by one rule:
//
//  1. The diff window is too narrow, or the diff sits outside it (a limiter restored from a
//     checkpoint, or reconfigured). Validate() rejects any window in which some reachable diff
//     would admit neither an insert nor a sample. With such a window, wherever diff lands, one
//     side can always move it back: above max_diff only samples run, below min_diff only inserts
//     run, and nothing else needs to happen for the other side to resume.
//  2. A sample batch larger than the error buffer. Credits are taken item by item, not n at once:
//     a batch takes what the window allows, waits holding those credits (which in turn lets
//     inserts through), and takes more as inserts arrive. The call is still all-or-nothing: on
//     DeadlineExceeded or Cancelled every credit it took is given back, so the counters read as
//     if the call had never happened.
//  3. min_size_to_sample never reached because inserts are blocked (samplers wait for size,
//     inserters wait for samples — e.g. after items were deleted while diff was at max_diff).
//     Inserts are always admitted while the table holds fewer than min_size_to_sample items,
//     counting the items admitted earlier in the same call.
//
// Reconfigure() swaps the options on a live table and keeps the counters, so diff is recomputed
// with the new samples_per_insert and may land outside the new window; by (1) that self-corrects.
// Closing the table (setting `*closed` under `*mu`) wakes every waiter with Cancelled; calls made
// after that fail with FailedPrecondition.
//
// Credits given back (ReleaseSamples, or a timed-out batch) can leave diff above max_diff for a
// while; inserts then wait until samples bring it back, as in (1).
#ifndef STRATA_LIMIT_RATE_LIMITER_H_
#define STRATA_LIMIT_RATE_LIMITER_H_

#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "strata/rate_limiter.h"
#include "util/mutex.h"

namespace strata::internal {

class RateLimiter {
 public:
  // `options` must pass Validate() (asserted; the table validates user input before building one).
  // `mu`, `table_size` and `closed` are borrowed and must outlive the limiter; the last two are
  // guarded by `*mu`.
  RateLimiter(const RateLimiterOptions& options, Mutex* mu, const size_t* table_size,
              const bool* closed);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // OK if `options` can be used; otherwise InvalidArgument naming the field and what was
  // expected: samples_per_insert finite and > 0; min_size_to_sample >= 1; min_diff and max_diff
  // not NaN, min_diff < +inf, max_diff > -inf, min_diff <= max_diff; and, when both are finite,
  // a window wide enough that every diff the counters can reach admits an insert or a sample
  // (derivation in the .cc): floor(max_diff) - ceil(min_diff) >= samples_per_insert when that is
  // a whole number (for whole bounds: width >= max(1, spi); Queue(1) passes), otherwise
  // max_diff - min_diff >= samples_per_insert + 1. Reverb's SampleToInsertRatio rule,
  // error_buffer >= max(1, spi), implies both.
  [[nodiscard]] static absl::Status Validate(const RateLimiterOptions& options);

  // Waits until at least one insert can be admitted, then admits as many as allowed, up to `n`,
  // and counts them as inserted; the caller inserts exactly that many items right away, still
  // holding *mu (or gives the rest back with ReleaseInserts). Returns the number admitted, in
  // [1, n]. Blocks until `deadline` (absl::InfiniteFuture() for none); an insert that can be
  // admitted at once succeeds even if the deadline has passed.
  // Errors: InvalidArgument if n == 0; FailedPrecondition if the table is closed on entry;
  // Cancelled if it closes while waiting; DeadlineExceeded if `deadline` passes first. On error
  // nothing was admitted.
  [[nodiscard]] absl::StatusOr<size_t> AcquireInserts(size_t n, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);

  // Admits `n` samples, item by item, waiting whenever the next one cannot be admitted. Blocks
  // until `deadline` (absl::InfiniteFuture() for none). All-or-nothing: OK means n credits were
  // taken; on any error none are held.
  // Errors: InvalidArgument if n == 0; FailedPrecondition if the table is closed on entry;
  // Cancelled if it closes while waiting; DeadlineExceeded if `deadline` passes first.
  [[nodiscard]] absl::Status AcquireSamples(size_t n, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);

  // Give back credits acquired but not used (a sample that then failed validation, an insert that
  // was rejected). `n` must not exceed what the caller acquired.
  void ReleaseSamples(size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);
  void ReleaseInserts(size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);

  // Replaces the options, keeping the counters; waiters re-evaluate as soon as *mu is released.
  // InvalidArgument (and no change) if `options` fails Validate().
  [[nodiscard]] absl::Status Reconfigure(const RateLimiterOptions& options)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);

  // A snapshot of the options and counters.
  // Sets the admission counters (a table reopened from storage restores them).
  void RestoreCounters(int64_t inserts, int64_t samples) ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_) {
    inserts_ = inserts;
    samples_ = samples;
  }
  RateLimiterInfo info() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);

  // The borrowed mutex. clang's -Wthread-safety cannot see that the caller's own mutex member
  // and `mu_` are the same object; `limiter.mu()->AssertHeld();` (a cheap runtime check) tells it.
  Mutex* mu() const ABSL_LOCK_RETURNED(*mu_) { return mu_; }

 private:
  double diff() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);
  // Whether one more insert can be admitted, `admitted` having been admitted earlier in this call
  // (and so not yet in *table_size_).
  bool CanInsert(size_t admitted) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);
  bool CanSample() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);
  // Wait conditions (evaluated by Mutex with *mu_ held).
  bool InsertReadyOrClosed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);
  bool SampleReadyOrClosed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu_);

  Mutex* const mu_;
  const size_t* const table_size_ ABSL_PT_GUARDED_BY(*mu_);
  const bool* const closed_ ABSL_PT_GUARDED_BY(*mu_);

  // Protected by *mu_.
  RateLimiterOptions options_ ABSL_GUARDED_BY(*mu_);
  int64_t inserts_ ABSL_GUARDED_BY(*mu_) = 0;
  int64_t samples_ ABSL_GUARDED_BY(*mu_) = 0;
  int64_t waiting_inserts_ ABSL_GUARDED_BY(*mu_) = 0;
  int64_t waiting_samples_ ABSL_GUARDED_BY(*mu_) = 0;
  int64_t insert_waits_ ABSL_GUARDED_BY(*mu_) = 0;
  int64_t sample_waits_ ABSL_GUARDED_BY(*mu_) = 0;
  absl::Duration insert_wait_time_ ABSL_GUARDED_BY(*mu_);
  absl::Duration sample_wait_time_ ABSL_GUARDED_BY(*mu_);
};

}  // namespace strata::internal

#endif  // STRATA_LIMIT_RATE_LIMITER_H_
