// Prefetcher (include/strata/prefetcher.h): worker threads sampling into a bounded queue.
//
// One mutex guards the queue and counters. Waits use Mutex::AwaitWithDeadline, whose waiters
// re-check their condition whenever the mutex is released, so no state change needs an explicit
// signal: a consumer popping a batch makes room for a waiting worker, a worker queueing one (or
// recording an error, or exiting) wakes waiting consumers, Close wakes everyone.
//
// Bound: a worker claims a slot (queued + sampling < capacity) before it samples, so the table
// never has more than `capacity` batches taken ahead of the consumer.
#include "strata/prefetcher.h"

#include <atomic>
#include <cmath>
#include <deque>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "util/mutex.h"

namespace strata {

using internal::Mutex;
using internal::MutexLock;

struct Prefetcher::State {
  State(Table* t, const PrefetchOptions& o) : table(t), options(o) {}

  void Work() ABSL_LOCKS_EXCLUDED(mu);

  bool Stopping() const { return stop.load(std::memory_order_relaxed); }
  bool Finished() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return options.num_batches != 0 && claimed >= options.num_batches;
  }
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return queue.size() + sampling < options.capacity;
  }
  // What a consumer waits for: a batch, or a reason not to wait any longer. After an error, the
  // batches still being sampled are waited for (no new ones start), so that the consumer gets
  // every batch, then the error on every later call.
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return !queue.empty() || closed || running == 0 || (!error.ok() && sampling == 0);
  }

  Table* const table;
  const PrefetchOptions options;

  mutable Mutex mu;
  std::deque<SampleBatch> queue ABSL_GUARDED_BY(mu);  // oldest first
  // Batches handed back by Next (the consumer's previous ones), sampled into again so that their
  // buffers are reused; at most `capacity`.
  std::vector<SampleBatch> spare ABSL_GUARDED_BY(mu);
  size_t sampling ABSL_GUARDED_BY(mu) = 0;   // batches being sampled by workers
  uint64_t claimed ABSL_GUARDED_BY(mu) = 0;  // batches workers started (toward num_batches)
  uint64_t sampled ABSL_GUARDED_BY(mu) = 0;
  uint64_t delivered ABSL_GUARDED_BY(mu) = 0;
  int running ABSL_GUARDED_BY(mu) = 0;     // workers not yet exited
  absl::Status error ABSL_GUARDED_BY(mu);  // the first worker error; sticky
  bool closed ABSL_GUARDED_BY(mu) = false;

  // Set under mu (by Close or the first error) so that waiters see it; read without the lock by
  // a worker retrying its sample after each poll interval.
  std::atomic<bool> stop{false};

  Mutex join_mu;  // serializes Close's joins; never held with mu
  std::vector<std::thread> threads ABSL_GUARDED_BY(join_mu);
};

void Prefetcher::State::Work() {
  const SampleOptions sample{.batch_size = options.batch_size,
                             .replacement = options.replacement,
                             .timeout = options.poll,
                             .beta = options.beta};
  for (;;) {
    // Declared before the lock: a batch dropped because of Close is freed without it.
    SampleBatch batch;
    {
      // Claim a slot first, so that queued + sampling batches never exceed the capacity.
      MutexLock l(&mu);
      mu.AwaitWithDeadline(
          [this] {
            mu.AssertHeld();
            return Stopping() || Finished() || HasRoom();
          },
          absl::InfiniteFuture());
      if (Stopping() || Finished()) break;
      ++sampling;
      ++claimed;
      if (!spare.empty()) {
        batch = std::move(spare.back());
        spare.pop_back();
      }
    }
    // The table lock is taken inside Sample only to plan the batch and copy resident items; cold
    // items are read after it is released, so other workers plan and read meanwhile.
    absl::Status s;
    do {
      s = table->Sample(sample, &batch);
    } while (absl::IsDeadlineExceeded(s) && !Stopping());
    if (absl::IsOutOfRange(s)) {  // reserved for the end of the stream in Next
      s = absl::InternalError(absl::StrCat("prefetch: the table returned ", s.ToString()));
    }
    MutexLock l(&mu);
    --sampling;
    if (s.ok()) {
      ++sampled;
      if (!closed) queue.push_back(std::move(batch));
    } else if (!Stopping()) {  // the first error stops every worker and reaches the consumers
      error = s;
      stop.store(true, std::memory_order_relaxed);
    }
  }
  MutexLock l(&mu);
  --running;  // the last one out may end the stream: waiting consumers re-check on release
}

absl::StatusOr<std::unique_ptr<Prefetcher>> Prefetcher::Create(Table* table,
                                                               PrefetchOptions options) {
  if (table == nullptr) return absl::InvalidArgumentError("prefetch: table is null");
  if (options.batch_size < 1 || options.capacity < 1 || options.threads < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prefetch: batch_size, capacity and threads must be >= 1; got batch_size=",
        options.batch_size, ", capacity=", options.capacity, ", threads=", options.threads));
  }
  if (!std::isfinite(options.beta)) {
    return absl::InvalidArgumentError(
        absl::StrCat("prefetch: beta must be finite, got ", options.beta));
  }
  if (options.poll <= absl::ZeroDuration() || options.poll == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prefetch: poll must be positive and finite, got ", absl::FormatDuration(options.poll)));
  }
  auto owned = std::make_unique<State>(table, options);
  State* state = owned.get();
  std::unique_ptr<Prefetcher> p(new Prefetcher(std::move(owned)));
  try {
    for (int i = 0; i < options.threads; ++i) {
      {
        MutexLock l(&state->mu);
        ++state->running;
      }
      try {
        MutexLock j(&state->join_mu);
        state->threads.emplace_back([state] { state->Work(); });
      } catch (...) {
        MutexLock l(&state->mu);
        --state->running;
        throw;
      }
    }
  } catch (const std::system_error& e) {
    // p's destructor stops and joins the threads already started.
    return absl::InternalError(absl::StrCat("prefetch: cannot start a thread: ", e.what()));
  }
  return p;
}

Prefetcher::Prefetcher(std::unique_ptr<State> state) : state_(std::move(state)) {}

Prefetcher::~Prefetcher() { Close(); }

absl::Status Prefetcher::Next(SampleBatch* out, absl::Duration timeout) {
  if (out == nullptr) return absl::InvalidArgumentError("prefetch: Next(nullptr)");
  State& s = *state_;
  // A year is as good as forever, and keeps the deadline arithmetic far from overflow.
  const absl::Time deadline =
      timeout >= absl::Hours(24 * 365) ? absl::InfiniteFuture() : absl::Now() + timeout;
  SampleBatch discard;  // declared before the lock: a batch not kept is freed without it
  MutexLock l(&s.mu);
  if (!s.mu.AwaitWithDeadline(
          [&s] {
            s.mu.AssertHeld();
            return s.Ready();
          },
          deadline)) {
    return absl::DeadlineExceededError(
        absl::StrCat("prefetch: no batch within ", absl::FormatDuration(timeout)));
  }
  if (s.closed) return absl::CancelledError("the prefetcher is closed");
  if (!s.queue.empty()) {
    SampleBatch& front = s.queue.front();
    std::swap(*out, front);  // `front` now holds the caller's previous batch
    if (front.num_fields() > 0 && s.spare.size() < s.options.capacity) {
      s.spare.push_back(std::move(front));
    } else {
      discard = std::move(front);
    }
    s.queue.pop_front();
    ++s.delivered;
    return absl::OkStatus();  // releasing the lock lets a worker waiting for room go on
  }
  if (!s.error.ok()) return s.error;
  return absl::OutOfRangeError(
      absl::StrCat("prefetch: all ", s.options.num_batches, " batches were delivered"));
}

void Prefetcher::Close() {
  State& s = *state_;
  // Declared before the locks: the dropped batches are freed without them.
  std::deque<SampleBatch> dropped;
  std::vector<SampleBatch> spare;
  {
    MutexLock l(&s.mu);
    s.closed = true;
    s.stop.store(true, std::memory_order_relaxed);
    dropped.swap(s.queue);
    spare.swap(s.spare);
  }  // releasing mu wakes waiting workers (they exit) and consumers (Cancelled)
  MutexLock j(&s.join_mu);
  for (std::thread& t : s.threads) t.join();
  s.threads.clear();
}

Prefetcher::Stats Prefetcher::stats() const {
  const State& s = *state_;
  MutexLock l(&s.mu);
  return {s.sampled, s.delivered, s.queue.size(), s.sampling, static_cast<size_t>(s.running),
          s.closed};
}

const PrefetchOptions& Prefetcher::options() const { return state_->options; }

}  // namespace strata
