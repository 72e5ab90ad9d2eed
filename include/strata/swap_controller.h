// SwapController: adapts a resident-mode table's swap settings (TableOptions::swap_ratio and
// swap_interval, changed live with Table::SetSwap) to what the storage can sustain while training
// samples from DRAM (docs/design.md, "Continual-learning runtime").
//
// Each tick measures, from the deltas of the table's TierInfo since the previous tick, the swaps
// requested, done and skipped and the mean latency of storage reads, and decides (AIMD-like):
//
//   contended: skipped > skip_fraction × requested, or (with >= min_reads reads) the mean read
//              latency > latency_factor × baseline
//     1. lengthen the interval: ×2, up to max_interval
//     2. then lower the ratio: ×0.5, down to min_ratio; while ratio < low_ratio the interval is
//        set and held at low_ratio_interval (>= max_interval)
//   calm for calm_ticks ticks in a row: one recovery step
//     1. ratio += ratio_step up to target_ratio (interval low_ratio_interval while ratio is below
//        low_ratio, max_interval from then on)
//     2. then interval -= 1 down to base_interval
//
// so every step under contention lowers the effective swap rate ratio / interval and every
// recovery step raises it. low_ratio is capped at target_ratio (a target below low_ratio is not
// held at low_ratio_interval). Every tick's decision is kept with its inputs (decisions(); one
// line each with SwapDecision::ToString, for the runtime's log).
//
// Ownership: borrows the Table, which must outlive the controller. While a controller runs it
// owns the table's swap settings: a SetSwap made by someone else is overwritten at its next change.
// Lifecycle: Create (applies target_ratio / base_interval if the table's settings differ) ->
// Tick() by hand, or Start() a thread that ticks every `period` -> Stop() (the destructor calls
// it). Thread-safety: thread-safe; ticks are serialized.
#ifndef STRATA_SWAP_CONTROLLER_H_
#define STRATA_SWAP_CONTROLLER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "strata/table.h"

namespace strata {

struct SwapControllerOptions {
  // The ratio asked for, in [min_ratio, 1]; < 0: the table's swap_ratio at creation.
  double target_ratio = -1;
  // The interval asked for (>= 1); 0: the table's swap_interval at creation.
  uint32_t base_interval = 0;
  // Contention, step 1: double the interval up to this (>= base_interval).
  uint32_t max_interval = 4;
  // Step 2: halve the ratio; while it is below low_ratio (capped at target_ratio) the interval is
  // held at low_ratio_interval (>= max_interval). The ratio never goes below min_ratio (> 0).
  double low_ratio = 0.2;
  uint32_t low_ratio_interval = 5;
  double min_ratio = 0.01;
  // Recovery: after calm_ticks (>= 1) uncontended ticks in a row, one additive step of ratio_step
  // (in (0, 1]), or of 1 off the interval once the ratio is back at the target.
  double ratio_step = 0.05;
  uint32_t calm_ticks = 2;
  // A tick is contended when more than skip_fraction (in [0, 1)) of the swaps requested in it
  // were skipped, or when its mean read latency exceeds latency_factor (>= 1) × the baseline.
  double skip_fraction = 0.05;
  double latency_factor = 3.0;
  // The baseline read latency; 0: learned as the lowest mean of an uncontended tick with at least
  // min_reads reads (so a device slow from the start is its own baseline).
  double latency_target_us = 0;
  uint64_t min_reads = 16;  // ticks with fewer completed reads say nothing about latency
  absl::Duration period = absl::Milliseconds(200);  // Start(): time between ticks (> 0)
};

// One tick: its inputs (deltas since the previous tick), the judgment and the settings after it.
struct SwapDecision {
  absl::Time time;
  uint64_t tick = 0;       // 1, 2, ...
  uint64_t requested = 0;  // swap victims chosen by Sample in the tick
  uint64_t swapped = 0;    // items swapped in
  uint64_t skipped = 0;    // victims dropped because the swapper was behind
  uint64_t reads = 0;      // storage reads completed
  double swaps_per_second = 0;
  double mean_read_latency_us = 0;  // 0 without reads
  double baseline_us = 0;           // the baseline the tick was judged against (0: none yet)
  bool contended = false;
  std::string reason;  // why contended ("" when calm)
  std::string action;  // "hold", "hold (calm 1/2)", "hold (at minimum)", "lengthen interval",
                       // "lower ratio", "recover ratio", "shorten interval"
  double ratio = 0;    // settings after the decision
  uint32_t interval = 1;

  // One line with every field, for logs.
  std::string ToString() const;
};

class SwapController {
 public:
  // InvalidArgument for a null table or bad options (naming the field and the expected range;
  // defaults resolved from the table first); FailedPrecondition unless the table has storage and
  // TierSampling::kResident; the error of Table::SetSwap when applying the initial settings.
  static absl::StatusOr<std::unique_ptr<SwapController>> Create(Table* table,
                                                                SwapControllerOptions options = {});
  ~SwapController();  // Stop()
  SwapController(const SwapController&) = delete;
  SwapController& operator=(const SwapController&) = delete;

  // Measures, decides and applies the decision with Table::SetSwap (only when the settings
  // change); the decision is appended to decisions(). Takes the table's lock briefly (info());
  // does no I/O. Returns SetSwap's error (e.g. the table was closed), in which case nothing is
  // recorded and the next tick measures from the same point.
  absl::Status Tick();

  // Starts a thread calling Tick every options().period; no-op if running. Its first tick
  // measures from the Start call (time spent stopped is not judged). The thread stops at the
  // first error of Tick, which error() then returns.
  void Start();
  // Stops and joins the thread (waits for a tick in progress). Idempotent; Start may follow.
  void Stop();

  std::vector<SwapDecision> decisions() const;  // every tick's decision, in order
  double ratio() const;                         // settings now
  uint32_t interval() const;
  absl::Status error() const;  // the error that stopped the thread; OK otherwise
  const SwapControllerOptions& options() const { return options_; }  // defaults resolved

 private:
  struct State;
  SwapController(Table* table, SwapControllerOptions options, std::unique_ptr<State> state);

  Table* const table_;
  const SwapControllerOptions options_;
  const std::unique_ptr<State> state_;  // policy, measurements, decisions, thread (own locks)
};

}  // namespace strata

#endif  // STRATA_SWAP_CONTROLLER_H_
