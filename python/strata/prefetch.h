// Prefetcher: C++ threads that sample batches from a Table ahead of the consumer into a bounded
// queue, so that a training loop's next() usually finds a batch ready and Python threads are not
// involved. Included only by _strata.cc (strata._strata.Prefetcher; strata.torch uses it).
//
//   worker thread(s) ──Table::Sample──> [ batch | batch | ... ]  (at most `capacity` batches
//        ^  wait for room                      │                  queued + being sampled)
//        └──────────── Next() pops one <───────┘  (the Python caller waits with the GIL released)
//
// Ownership: the Prefetcher owns its threads and the queued SampleBatches; a popped batch belongs
// to the caller. It borrows the Table, which must outlive it (the binding keeps the Python table
// alive for as long as the prefetcher exists).
//
// Lifecycle: Create starts the threads -> Next() any number of times -> Close() (optional; the
// destructor calls it) stops the threads, joins them, drops queued batches and wakes waiting
// consumers. A worker stops on its own after the `num_batches`-th batch, or at the first error
// from the table (e.g. the table was closed), which then reaches the consumer after the batches
// queued before it. Thread-safe: Next, Close and stats may be called from any thread.
//
// Workers never touch Python objects and never need the GIL, so joining them with the GIL held
// cannot deadlock.
#ifndef STRATA_PYTHON_PREFETCH_H_
#define STRATA_PYTHON_PREFETCH_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "strata/batch.h"
#include "strata/table.h"

#pragma GCC visibility push(hidden)
namespace strata::python {

struct PrefetchOptions {
  size_t batch_size = 1;     // >= 1
  bool replacement = true;   // as SampleOptions::replacement
  size_t capacity = 2;       // >= 1: batches queued or being sampled ahead of the consumer
  int threads = 1;           // >= 1 worker threads
  uint64_t num_batches = 0;  // batches to deliver in all, then Next() reports the end; 0: no end
  // A worker waiting on the table's rate limiter wakes this often to see whether Close() was
  // called (the table has no other way to cancel one caller's wait): Close() returns within
  // about this long.
  absl::Duration poll = absl::Milliseconds(20);
};

class Prefetcher {
 public:
  // Starts options.threads workers sampling from `table`. InvalidArgument for batch_size,
  // capacity or threads < 1; Internal if a thread cannot be started.
  static absl::StatusOr<std::unique_ptr<Prefetcher>> Create(Table* table, PrefetchOptions options) {
    if (options.batch_size < 1 || options.capacity < 1 || options.threads < 1) {
      return absl::InvalidArgumentError("prefetch: batch_size, capacity and threads must be >= 1");
    }
    std::unique_ptr<Prefetcher> p(new Prefetcher(table, options));
    try {
      for (int i = 0; i < options.threads; ++i) {
        {
          std::lock_guard<std::mutex> l(p->mu_);
          ++p->running_;
        }
        try {
          p->threads_.emplace_back([q = p.get()] { q->Work(); });
        } catch (...) {
          std::lock_guard<std::mutex> l(p->mu_);
          --p->running_;
          throw;
        }
      }
    } catch (const std::system_error& e) {
      return absl::InternalError(absl::StrCat("prefetch: cannot start a thread: ", e.what()));
    }  // on failure the destructor stops and joins the threads already started
    return p;
  }

  ~Prefetcher() { Close(); }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // Pops the oldest queued batch, waiting up to `timeout` for one. Returns the batch; nullptr
  // once num_batches were delivered (the end); the table's error that stopped the workers (e.g.
  // Cancelled / FailedPrecondition when the table was closed, InvalidArgument for a batch larger
  // than the table without replacement), after the batches queued before it and then on every
  // later call; DeadlineExceeded if no batch arrived in time (nothing is lost: a later call gets
  // it); Cancelled once Close() was called, also waking a caller that was waiting. Blocks.
  absl::StatusOr<std::unique_ptr<SampleBatch>> Next(absl::Duration timeout) {
    std::unique_lock<std::mutex> l(mu_);
    auto ready = [&] { return !queue_.empty() || closed_ || !error_.ok() || running_ == 0; };
    if (timeout >= absl::Hours(24 * 365)) {  // as good as forever; avoids overflow in wait_for
      ready_cv_.wait(l, ready);
    } else if (!ready_cv_.wait_for(l, absl::ToChronoNanoseconds(timeout), ready)) {
      return absl::DeadlineExceededError(
          absl::StrCat("prefetch: no batch within ", absl::FormatDuration(timeout)));
    }
    if (closed_) return absl::CancelledError("the prefetcher is closed");
    if (!queue_.empty()) {
      std::unique_ptr<SampleBatch> batch = std::move(queue_.front());
      queue_.pop_front();
      ++delivered_;
      space_cv_.notify_one();
      return batch;
    }
    if (!error_.ok()) return error_;
    return std::unique_ptr<SampleBatch>();  // every worker finished: num_batches delivered
  }

  // Stops the workers (a sample in progress finishes or gives up within options.poll), joins
  // them, drops the queued batches and wakes callers of Next, which return Cancelled.
  // Idempotent; a concurrent caller returns once the threads are joined.
  void Close() {
    std::deque<std::unique_ptr<SampleBatch>> dropped;
    {
      std::lock_guard<std::mutex> l(mu_);
      closed_ = true;
      stop_.store(true, std::memory_order_relaxed);
      dropped.swap(queue_);
    }
    space_cv_.notify_all();
    ready_cv_.notify_all();
    std::lock_guard<std::mutex> join(join_mu_);
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  struct Stats {
    uint64_t sampled = 0;    // batches taken from the table
    uint64_t delivered = 0;  // batches returned by Next
    size_t queued = 0;       // batches waiting in the queue
    size_t running = 0;      // workers not yet exited
    bool closed = false;
  };
  Stats stats() const {
    std::lock_guard<std::mutex> l(mu_);
    return {sampled_, delivered_, queue_.size(), static_cast<size_t>(running_), closed_};
  }

  const PrefetchOptions& options() const { return options_; }

 private:
  Prefetcher(Table* table, PrefetchOptions options) : table_(table), options_(options) {}

  void Work() {
    SampleOptions sample{.batch_size = options_.batch_size,
                         .replacement = options_.replacement,
                         .timeout = options_.poll};
    for (;;) {
      {
        // Claim a slot first, so that queued + in-flight batches never exceed the capacity.
        std::unique_lock<std::mutex> l(mu_);
        space_cv_.wait(l, [&] { return Stopping() || Finished() || HasRoom(); });
        if (Stopping() || Finished()) break;
        ++in_flight_;
        ++claimed_;
      }
      auto batch = std::make_unique<SampleBatch>();
      absl::Status s;
      do {
        s = table_->Sample(sample, batch.get());
      } while (absl::IsDeadlineExceeded(s) && !stop_.load(std::memory_order_relaxed));
      {
        std::lock_guard<std::mutex> l(mu_);
        --in_flight_;
        if (s.ok()) {
          ++sampled_;
          if (!closed_) queue_.push_back(std::move(batch));
        } else if (!Stopping()) {  // the first error stops every worker and reaches the consumer
          error_ = s;
          stop_.store(true, std::memory_order_relaxed);
        }
      }
      if (s.ok()) {
        ready_cv_.notify_one();
      } else {
        space_cv_.notify_all();  // idle workers exit
        ready_cv_.notify_all();  // every consumer sees the error
      }
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      --running_;
    }
    ready_cv_.notify_all();  // the last one out may end the stream
  }

  bool Stopping() const { return stop_.load(std::memory_order_relaxed); }
  bool Finished() const { return options_.num_batches != 0 && claimed_ >= options_.num_batches; }
  bool HasRoom() const { return queue_.size() + in_flight_ < options_.capacity; }

  Table* const table_;
  const PrefetchOptions options_;

  mutable std::mutex mu_;
  std::condition_variable space_cv_;  // workers wait for room in the queue
  std::condition_variable ready_cv_;  // consumers wait for a batch, an error or the end
  // Protected by mu_ (std::mutex carries no thread-safety annotations):
  std::deque<std::unique_ptr<SampleBatch>> queue_;
  size_t in_flight_ = 0;  // batches being sampled by workers
  uint64_t claimed_ = 0;  // batches workers started (counts toward num_batches)
  uint64_t sampled_ = 0;
  uint64_t delivered_ = 0;
  int running_ = 0;     // workers not yet exited
  absl::Status error_;  // the first worker error; sticky
  bool closed_ = false;

  // Set under mu_ (by Close or the first error) so that condition waits see it; read without
  // the lock by a worker retrying its sample after each poll interval.
  std::atomic<bool> stop_{false};

  std::mutex join_mu_;                // serializes Close's joins; acquired after mu_ is released
  std::vector<std::thread> threads_;  // filled by Create before sharing; then by join_mu_
};

}  // namespace strata::python
#pragma GCC visibility pop

#endif  // STRATA_PYTHON_PREFETCH_H_
