// Prefetcher: worker threads that sample batches from a Table ahead of the consumer into a
// bounded queue, so that a training loop's Next() usually finds a batch ready (the K-batch
// prefetch pipeline of the SSD tier's exact sampling mode; the Python binding's
// strata.Prefetcher and strata.torch's prefetch=N are this class).
//
//   worker thread(s) ──Table::Sample──> [ batch | batch | ... ]  (at most `capacity` batches
//        ^  wait for room                      │                  queued + being sampled)
//        └──────────── Next() pops one <───────┘
//
// Semantics (what "sampled ahead" means):
// * A batch is planned — its items chosen, their probabilities and importance weights computed,
//   their times_sampled incremented — when a worker samples it, not when Next() returns it. So a
//   priority update that arrives after a batch was planned does not change that batch: the
//   consumer may see batches up to `capacity` batches stale, the same staleness as Reverb's
//   sampler-side prefetch. Lower `capacity` for fresher batches, raise it to hide more latency.
// * An item removed (evicted, deleted, expired) after its batch was planned is still delivered,
//   with its content as sampled; its key is then stale, so a later UpdatePriorities /
//   UpdateScores / Delete reports it missing and never applies to the item that reuses the slot.
// * Batches count as sampled when planned: the table's rate limiter, info().sampled,
//   times_sampled and max_times_sampled see them then. Batches dropped by Close() were sampled
//   all the same.
// * Tables with storage (storage_dir): Table::Sample picks the batch under the table lock and
//   reads its cold items (io_uring) after releasing it, so each worker's batch has its reads in
//   flight while the consumer works on earlier batches: `threads` workers keep up to `threads`
//   batches of reads in flight (never more than `capacity` batches queued + being sampled).
// * With one worker, batches arrive in the order they were sampled; with several, in the order
//   they finished.
//
// Ownership: the Prefetcher owns its threads and the queued batches; Next() hands one to the
// caller by swapping it into the caller's SampleBatch, and takes the caller's previous batch back
// to sample into later (its buffers are reused when nobody else holds them, as with
// Table::Sample). It borrows the Table, which must outlive it.
//
// Lifecycle: Create starts the threads -> Next() any number of times -> Close() (optional; the
// destructor calls it) stops the threads, joins them, drops queued batches and wakes waiting
// consumers. Workers stop on their own after the `num_batches`-th batch, or at the first error
// from the table (e.g. the table was closed): no new batch is started, the ones being sampled
// finish, and the error reaches the consumers after every batch queued, then on every later call.
//
// Thread safety: Next, Close, stats and options may be called from any threads at once (several
// consumers share the queue; each batch goes to one of them). Workers call only Table::Sample,
// never user code, so Close may be called with any lock held that Table::Sample does not take.
#ifndef STRATA_PREFETCHER_H_
#define STRATA_PREFETCHER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "strata/batch.h"
#include "strata/table.h"

namespace strata {

struct PrefetchOptions {
  size_t batch_size = 1;    // >= 1, as SampleOptions::batch_size
  bool replacement = true;  // as SampleOptions::replacement
  // Importance-weight exponent, as SampleOptions::beta (negative: the sampler's own). Fixed for
  // the prefetcher's life; to anneal it, replace the prefetcher (queued batches keep theirs).
  double beta = -1;
  size_t capacity = 2;       // >= 1: batches queued or being sampled ahead of the consumer
  int threads = 1;           // >= 1 worker threads
  uint64_t num_batches = 0;  // batches to deliver in all, then Next() reports the end; 0: no end
  // A worker waiting on the table's rate limiter wakes this often to see whether Close() was
  // called (the table has no way to cancel one caller's wait): Close() returns within about
  // this long (plus the sample in progress).
  absl::Duration poll = absl::Milliseconds(20);
};

class Prefetcher {
 public:
  // Starts options.threads workers sampling from `table`. InvalidArgument for a null table,
  // batch_size, capacity or threads < 1, a NaN or infinite beta, or a poll that is not positive
  // and finite; Internal if a thread cannot be started (the ones started are joined).
  static absl::StatusOr<std::unique_ptr<Prefetcher>> Create(Table* table, PrefetchOptions options);

  ~Prefetcher();  // Close()
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // Pops the oldest queued batch into `*out`, waiting up to `timeout` for one (the previous
  // content of `*out` goes back to the workers for reuse). Returns OK with the batch; otherwise
  // `*out` is unchanged and the status is:
  //   OutOfRange once num_batches were delivered (the end; Table::Sample never returns it);
  //   the table's error that stopped the workers (e.g. Cancelled / FailedPrecondition when the
  //     table was closed, InvalidArgument for a batch larger than the table without
  //     replacement), once every batch sampled before it was delivered, then on every later call;
  //   DeadlineExceeded if no batch arrived in time (nothing is lost: a later call gets it);
  //   Cancelled once Close() was called, also waking a caller that was waiting.
  // Blocks. Use one SampleBatch per consumer thread.
  absl::Status Next(SampleBatch* out, absl::Duration timeout = absl::InfiniteDuration());

  // Stops the workers (a sample in progress finishes, or gives up within options.poll if it
  // waits on the rate limiter), joins them, drops the queued batches and wakes callers of Next,
  // which return Cancelled. Idempotent; a concurrent caller returns once the threads are joined.
  void Close();

  struct Stats {
    uint64_t sampled = 0;    // batches taken from the table
    uint64_t delivered = 0;  // batches returned by Next
    size_t queued = 0;       // batches waiting in the queue
    size_t sampling = 0;     // batches being sampled by workers now (queued + sampling <= capacity)
    size_t running = 0;      // workers not yet exited
    bool closed = false;     // Close() was called
  };
  Stats stats() const;

  const PrefetchOptions& options() const;

 private:
  struct State;
  explicit Prefetcher(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace strata

#endif  // STRATA_PREFETCHER_H_
