// The thread-pool AsyncReader: a fixed pool of threads calling RandomAccessFile::Read. The
// fallback when io_uring is unavailable, and the backend that reaches MemEnv and
// FaultInjectionEnv files in parallel.
//
// A ReadAll call becomes a Batch that sits in a queue shared by all callers. Workers (and the
// calling thread, which helps instead of sleeping) claim ops from the batch at the front one at
// a time, so a batch of slow ops is spread over every idle thread, and a second caller's batch
// is taken up as soon as the first one has no unclaimed ops left.
#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "io/async_reader.h"
#include "io/reader_internal.h"
#include "util/mutex.h"

namespace strata::internal {
namespace {

// The ops of one ReadAll call. Claimed and completed through atomics, so that threads take the
// mutex only to find a batch and to announce the last completion.
struct Batch {
  explicit Batch(absl::Span<ReadOp> o) : ops(o) {}
  const absl::Span<ReadOp> ops;
  std::atomic<size_t> next{0};  // first unclaimed op; fetch_add claims one (relaxed: the
                                // span itself was published under the queue's mutex)
  std::atomic<size_t> done{0};  // ops completed; acq_rel so that the caller, seeing
                                // done == size, sees every op's status and bytes
};

class ThreadPoolReader final : public AsyncReader {
 public:
  ThreadPoolReader(int threads, std::string backend) : counters_(std::move(backend)) {
    workers_.reserve(threads);
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }

  ~ThreadPoolReader() override {
    {
      MutexLock l(&mu_);
      stop_ = true;
    }
    for (std::thread& t : workers_) t.join();
  }

  void ReadAll(absl::Span<ReadOp> ops) override ABSL_LOCKS_EXCLUDED(mu_) {
    if (ops.empty()) return;
    auto batch = std::make_shared<Batch>(ops);
    {
      MutexLock l(&mu_);
      queue_.push_back(batch);
    }
    RunBatch(batch.get());
    MutexLock l(&mu_);
    mu_.AwaitWithDeadline(
        [&batch] { return batch->done.load(std::memory_order_acquire) == batch->ops.size(); },
        absl::InfiniteFuture());
    // Workers drop an exhausted batch when they next look at the queue; do it now instead.
    auto it = std::find(queue_.begin(), queue_.end(), batch);
    if (it != queue_.end()) queue_.erase(it);
  }

  ReaderStats stats() const override { return counters_.Snapshot(); }

 private:
  void WorkerLoop() ABSL_LOCKS_EXCLUDED(mu_) {
    while (true) {
      std::shared_ptr<Batch> batch;
      {
        MutexLock l(&mu_);
        mu_.AwaitWithDeadline(
            [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return stop_ || !queue_.empty(); },
            absl::InfiniteFuture());
        if (queue_.empty()) return;  // stop_, and no caller is waiting on us
        batch = queue_.front();
        if (batch->next.load(std::memory_order_relaxed) >= batch->ops.size()) {
          queue_.pop_front();  // every op claimed; its caller waits for the last completions
          continue;
        }
      }
      RunBatch(batch.get());
    }
  }

  // Claims and reads ops of `batch` until none is left unclaimed.
  void RunBatch(Batch* batch) ABSL_LOCKS_EXCLUDED(mu_) {
    const size_t n = batch->ops.size();
    size_t i;
    while ((i = batch->next.fetch_add(1, std::memory_order_relaxed)) < n) {
      ServeSync(batch->ops[i], &counters_);
      if (batch->done.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
        // The caller may be waiting in AwaitWithDeadline: releasing the mutex makes it re-check.
        MutexLock l(&mu_);
      }
    }
  }

  ReaderCounters counters_;
  std::vector<std::thread> workers_;  // written only by the constructor

  Mutex mu_;
  // Protected by mu_.
  std::deque<std::shared_ptr<Batch>> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

std::unique_ptr<AsyncReader> NewThreadPoolReader(int threads, std::string backend) {
  return std::make_unique<ThreadPoolReader>(std::clamp(threads, 1, 256), std::move(backend));
}

std::unique_ptr<AsyncReader> NewThreadPoolReader(int threads) {
  return NewThreadPoolReader(threads, "threads");
}

}  // namespace strata::internal
