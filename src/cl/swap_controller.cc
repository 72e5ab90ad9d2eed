// SwapController (include/strata/swap_controller.h): measures a resident-mode table through
// TierInfo deltas, decides with SwapRatioPolicy, applies with Table::SetSwap.
//
// Locks: tick_mu (one tick at a time: policy and the previous measurement) is taken before mu
// (the decisions and settings readers see); Table's lock is taken under tick_mu only, by info()
// and SetSwap, and never calls back. thread_mu serializes Start/Stop and is never held by the
// thread itself.
#include "strata/swap_controller.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "cl/swap_ratio_policy.h"
#include "strata/log.h"
#include "strata/status.h"
#include "util/mutex.h"

namespace strata {

using internal::MutexLock;

std::string SwapDecision::ToString() const {
  return absl::StrFormat(
      "swap tick %d at %s: requested %d, swapped %d (%.1f/s), skipped %d, reads %d, mean read "
      "latency %.1f us, baseline %.1f us -> %s%s%s: ratio %.4g, interval %d (rate %.4g)",
      tick, absl::FormatTime("%H:%M:%E3S", time, absl::LocalTimeZone()), requested, swapped,
      swaps_per_second, skipped, reads, mean_read_latency_us, baseline_us,
      contended ? "contended, " : "calm, ", action, reason.empty() ? "" : " (" + reason + ")",
      ratio, interval, interval > 0 ? ratio / interval : 0.0);
}

struct SwapController::State {
  explicit State(const SwapControllerOptions& o) : policy(o) {}

  internal::Mutex tick_mu ABSL_ACQUIRED_BEFORE(mu);
  // Protected by tick_mu.
  internal::SwapRatioPolicy policy ABSL_GUARDED_BY(tick_mu);
  TierInfo last ABSL_GUARDED_BY(tick_mu);  // counters at the previous tick (or creation)
  absl::Time last_time ABSL_GUARDED_BY(tick_mu);

  mutable internal::Mutex mu;
  // Protected by mu.
  std::vector<SwapDecision> decisions ABSL_GUARDED_BY(mu);
  double ratio ABSL_GUARDED_BY(mu) = 0;
  uint32_t interval ABSL_GUARDED_BY(mu) = 1;
  absl::Status error ABSL_GUARDED_BY(mu);

  // The ticking thread. thread_mu serializes Start/Stop; stop_mu/stop_cv wake the thread.
  std::mutex thread_mu;
  std::thread thread;  // guarded by thread_mu
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop = false;  // guarded by stop_mu
};

absl::StatusOr<std::unique_ptr<SwapController>> SwapController::Create(
    Table* table, SwapControllerOptions options) {
  if (table == nullptr) return absl::InvalidArgumentError("SwapController: table is null");
  const TableOptions& to = table->options();
  if (to.storage_dir.empty() || to.tier_sampling != TierSampling::kResident) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "SwapController: table '%s' must have storage_dir and tier_sampling kResident", to.name));
  }
  const TableInfo info = table->info();
  if (options.target_ratio < 0) options.target_ratio = info.tier.swap_ratio;
  if (options.base_interval == 0) options.base_interval = info.tier.swap_interval;
  RETURN_IF_ERROR(internal::ValidateSwapControllerOptions(options));
  if (info.tier.swap_ratio != options.target_ratio ||
      info.tier.swap_interval != options.base_interval) {
    RETURN_IF_ERROR(table->SetSwap(options.target_ratio, options.base_interval));
  }
  auto state = std::make_unique<State>(options);
  {
    MutexLock l(&state->tick_mu);
    state->last = info.tier;
    state->last_time = absl::Now();
  }
  {
    MutexLock l(&state->mu);
    state->ratio = options.target_ratio;
    state->interval = options.base_interval;
  }
  return std::unique_ptr<SwapController>(
      new SwapController(table, std::move(options), std::move(state)));
}

SwapController::SwapController(Table* table, SwapControllerOptions options,
                               std::unique_ptr<State> state)
    : table_(table), options_(std::move(options)), state_(std::move(state)) {}

SwapController::~SwapController() { Stop(); }

absl::Status SwapController::Tick() {
  State& s = *state_;
  MutexLock tick(&s.tick_mu);
  const TierInfo now = table_->info().tier;
  const absl::Time time = absl::Now();
  // Counters only grow; a table reopened in between would not, so clamp at 0.
  auto delta = [](uint64_t a, uint64_t b) { return a >= b ? a - b : 0; };
  internal::SwapTickInput in;
  in.requested = delta(now.swaps_requested, s.last.swaps_requested);
  in.swapped = delta(now.swaps, s.last.swaps);
  in.skipped = delta(now.swaps_skipped, s.last.swaps_skipped);
  in.reads = delta(now.reads_completed, s.last.reads_completed);
  in.latency_total_us = std::max(0.0, now.read_latency_total_us - s.last.read_latency_total_us);
  in.seconds = absl::ToDoubleSeconds(time - s.last_time);

  internal::SwapRatioPolicy next = s.policy;  // committed only once applied
  SwapDecision d = next.Decide(in, time);
  if (next.ratio() != s.policy.ratio() || next.interval() != s.policy.interval()) {
    RETURN_IF_ERROR(table_->SetSwap(next.ratio(), next.interval()));
    // A decision that changed the settings (holds are not logged: decisions() keeps them).
    internal::Log(LogSeverity::kInfo, "swap",
                  absl::StrFormat("table '%s': %s: swap ratio %.4g -> %.4g, interval %d -> %d "
                                  "(mean read latency %.1f us, baseline %.1f us)",
                                  table_->options().name, d.action, s.policy.ratio(), next.ratio(),
                                  s.policy.interval(), next.interval(), d.mean_read_latency_us,
                                  d.baseline_us));
  }
  s.policy = next;
  s.last = now;
  s.last_time = time;
  MutexLock l(&s.mu);
  s.ratio = d.ratio;
  s.interval = d.interval;
  s.decisions.push_back(std::move(d));
  return absl::OkStatus();
}

void SwapController::Start() {
  State& s = *state_;
  std::lock_guard<std::mutex> t(s.thread_mu);
  if (s.thread.joinable()) return;
  {
    std::lock_guard<std::mutex> l(s.stop_mu);
    s.stop = false;
  }
  {
    MutexLock l(&s.mu);
    s.error = absl::OkStatus();
  }
  {
    // The first tick measures from now: what happened while stopped (e.g. a flush between two
    // tasks) is not judged.
    MutexLock l(&s.tick_mu);
    s.last = table_->info().tier;
    s.last_time = absl::Now();
  }
  s.thread = std::thread([this] {
    State& s = *state_;
    const auto period = absl::ToChronoNanoseconds(options_.period);
    for (;;) {
      {
        std::unique_lock<std::mutex> l(s.stop_mu);
        if (s.stop_cv.wait_for(l, period, [&s] { return s.stop; })) return;
      }
      absl::Status status = Tick();
      if (!status.ok()) {
        internal::Log(LogSeverity::kWarning, "swap",
                      absl::StrFormat("table '%s': swap controller stopped: %s",
                                      table_->options().name, status.ToString()));
        MutexLock l(&s.mu);
        s.error = std::move(status);
        return;
      }
    }
  });
}

void SwapController::Stop() {
  State& s = *state_;
  std::lock_guard<std::mutex> t(s.thread_mu);
  if (!s.thread.joinable()) return;
  {
    std::lock_guard<std::mutex> l(s.stop_mu);
    s.stop = true;
  }
  s.stop_cv.notify_all();
  s.thread.join();
  s.thread = std::thread();
}

std::vector<SwapDecision> SwapController::decisions() const {
  MutexLock l(&state_->mu);
  return state_->decisions;
}

double SwapController::ratio() const {
  MutexLock l(&state_->mu);
  return state_->ratio;
}

uint32_t SwapController::interval() const {
  MutexLock l(&state_->mu);
  return state_->interval;
}

absl::Status SwapController::error() const {
  MutexLock l(&state_->mu);
  return state_->error;
}

}  // namespace strata
