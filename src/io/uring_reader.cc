// The io_uring AsyncReader (liburing 2.3).
//
// A ReadAll call borrows one ring from the reader's pool and runs the loop below on it alone,
// so concurrent callers never share a submission queue:
//
//   fill:  take a free slot for each next op (up to queue_depth slots), prepare its SQE
//   submit one io_uring_enter for every SQE prepared in this round (waiting for one completion
//          in the same syscall when there is nothing else to do)
//   sync:  while the kernel works, serve one op whose file has no descriptor via file->Read
//   reap:  drain every ready CQE in one batch; a partial transfer is resubmitted for the rest,
//          -EAGAIN / -EINTR are resubmitted as they are, 0 bytes before the end is a short read
//
// Ring pool: a mutex-guarded free list. A caller takes a free ring, or creates one while fewer
// than max_rings_ exist, or waits for one to be returned. A ring that fails in a way that leaves
// its state unknown is drained and destroyed instead of being returned.
//
// Buffers belong to the caller, and the kernel writes into them until the op's CQE is reaped, so
// ReadAll never returns (not even on a ring error) while any SQE it submitted is unreaped.
#include <liburing.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "io/async_reader.h"
#include "io/reader_internal.h"
#include "util/mutex.h"

namespace strata::internal {
namespace {

constexpr int kMaxQueueDepth = 4096;
// One SQE reads at most this much; a longer op continues as a partial transfer would.
constexpr size_t kMaxChunk = size_t{1} << 30;
// -EAGAIN / -EINTR completions and busy submissions are retried this many times per op or
// round before the op fails (or the ring is given up).
constexpr int kMaxRetries = 1000;

// One io_uring instance. Owned by the pool or by the one ReadAll call that borrowed it.
class Ring {
 public:
  static absl::StatusOr<std::unique_ptr<Ring>> Create(unsigned entries) {
    auto ring = std::unique_ptr<Ring>(new Ring());
    // COOP_TASKRUN: completions are handed over when we enter the kernel anyway, not by
    // interrupting this thread. SUBMIT_ALL: a bad SQE does not stop the rest of the batch.
    // Both need 5.18+/5.19+; older kernels reject unknown flags with EINVAL, so retry without.
    int rc = io_uring_queue_init(entries, &ring->ring_,
                                 IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL);
    if (rc == -EINVAL) rc = io_uring_queue_init(entries, &ring->ring_, 0);
    if (rc < 0) {
      return absl::InternalError(absl::StrCat("io_uring unavailable: ", std::strerror(-rc)));
    }
    ring->initialized_ = true;
    return ring;
  }

  ~Ring() {
    if (initialized_) io_uring_queue_exit(&ring_);
  }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  io_uring* get() { return &ring_; }

 private:
  Ring() = default;
  io_uring ring_{};
  bool initialized_ = false;
};

// Aborts the process: the kernel may still write into buffers the caller is about to reuse, so
// returning would corrupt memory. Reached only if io_uring_enter fails in a way the kernel
// documents for programming errors (EBADF, EFAULT, ...) while reads are in flight.
[[noreturn]] void DieInFlight(const char* what, int err) {
  std::fprintf(stderr, "strata: io_uring %s failed with reads in flight: %s\n", what,
               std::strerror(err));
  std::abort();
}

// One ReadAll call on one ring. Not thread-safe; lives on the calling thread's stack.
class RingBatch {
 public:
  RingBatch(io_uring* ring, unsigned depth, ReaderCounters* counters, absl::Span<ReadOp> ops)
      : ring_(ring), counters_(counters), ops_(ops), slots_(depth) {
    free_.reserve(depth);
    for (unsigned i = depth; i-- > 0;) free_.push_back(i);
  }

  // Completes every op. Returns false if the ring must not be reused (the ops are completed
  // anyway, through file->Read).
  bool Run();

 private:
  // An op in the kernel (or prepared for it).
  struct Slot {
    ReadOp* op = nullptr;
    size_t done = 0;  // bytes read so far
    int64_t start_ns = 0;
    int retries = 0;
  };

  // The next op at or after `*cursor` that the ring serves (`native`) or that goes through
  // file->Read (!native); nullptr when none is left. Ops that fail CheckOp or are empty
  // complete on the spot (counted with the ring's ops).
  ReadOp* NextOp(size_t* cursor, bool native);
  // Prepares the SQE that reads the rest of `slot`'s op.
  void Prepare(uint32_t slot);
  // Submits the prepared SQEs; with `wait`, also waits for one completion if none is ready.
  // False on an error that leaves the ring unusable.
  bool Submit(bool wait);
  // Processes every ready CQE. With `wait`, first waits for one (in_kernel_ must be > 0).
  // False on a wait error that leaves the ring unusable.
  bool Reap(bool wait);
  void OnCqe(uint32_t slot, int res, int64_t now);
  void Finish(uint32_t slot, absl::Status status, int64_t now);
  // After a ring error: waits for every submitted SQE, then finishes everything that is left
  // through file->Read.
  void Abandon();

  io_uring* const ring_;
  ReaderCounters* const counters_;
  const absl::Span<ReadOp> ops_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;  // slots not holding an op
  size_t ring_cursor_ = 0;      // next op to look at for the ring
  size_t sync_cursor_ = 0;      // next op to look at for file->Read
  unsigned prepared_ = 0;       // SQEs prepared and not yet accepted by io_uring_enter
  unsigned in_kernel_ = 0;      // SQEs accepted whose CQE is not reaped yet
  bool broken_ = false;         // a ring error happened: stop resubmitting
};

ReadOp* RingBatch::NextOp(size_t* cursor, bool native) {
  while (*cursor < ops_.size()) {
    ReadOp& op = ops_[(*cursor)++];
    absl::Status check = CheckOp(op);
    if (!check.ok() || op.length == 0) {
      if (!native) continue;  // the ring's cursor completes these
      counters_->OnSubmit(1);
      op.status = std::move(check);
      counters_->OnComplete(op, 0);
      continue;
    }
    if ((op.file->native_handle() >= 0) == native) return &op;
  }
  return nullptr;
}

void RingBatch::Prepare(uint32_t slot) {
  Slot& s = slots_[slot];
  io_uring_sqe* sqe = io_uring_get_sqe(ring_);
  // Never null: the SQ has at least `depth` entries and each holds at most one per slot.
  const size_t len = std::min(s.op->length - s.done, kMaxChunk);
  io_uring_prep_read(sqe, s.op->file->native_handle(), s.op->dst + s.done,
                     static_cast<unsigned>(len), s.op->offset + s.done);
  io_uring_sqe_set_data64(sqe, slot);
  ++prepared_;
}

bool RingBatch::Submit(bool wait) {
  for (int tries = 0;; ++tries) {
    const int rc = wait ? io_uring_submit_and_wait(ring_, 1) : io_uring_submit(ring_);
    if (rc > 0 || (rc == 0 && prepared_ == 0)) {
      const unsigned accepted = std::min(static_cast<unsigned>(rc), prepared_);
      prepared_ -= accepted;
      in_kernel_ += accepted;
      if (prepared_ == 0) return true;
      wait = false;  // some SQEs are left over: submit them before waiting
      continue;
    }
    if (rc == -EINTR && prepared_ == 0) return true;  // interrupted while waiting: reap instead
    // rc == 0 with SQEs pending: nothing was taken, as with EAGAIN.
    if ((rc == 0 || rc == -EAGAIN || rc == -EBUSY || rc == -EINTR) && tries < kMaxRetries) {
      // The kernel is short of resources or the CQ is full: make room by reaping.
      if (in_kernel_ > 0) {
        if (!Reap(/*wait=*/true)) return false;
      } else {
        sched_yield();
      }
      continue;
    }
    return false;
  }
}

bool RingBatch::Reap(bool wait) {
  if (wait) {
    io_uring_cqe* cqe;
    int rc;
    int tries = 0;
    while ((rc = io_uring_wait_cqe(ring_, &cqe)) < 0) {
      if ((rc != -EINTR && rc != -EAGAIN) || ++tries > kMaxRetries) return false;
    }
  }
  io_uring_cqe* cqes[64];
  unsigned n;
  while ((n = io_uring_peek_batch_cqe(ring_, cqes, 64)) > 0) {
    const int64_t now = NowNanos();
    for (unsigned i = 0; i < n; ++i) {
      --in_kernel_;
      OnCqe(static_cast<uint32_t>(io_uring_cqe_get_data64(cqes[i])), cqes[i]->res, now);
    }
    io_uring_cq_advance(ring_, n);
  }
  return true;
}

void RingBatch::OnCqe(uint32_t slot, int res, int64_t now) {
  Slot& s = slots_[slot];
  const ReadOp& op = *s.op;
  if (res > 0) {
    s.done += static_cast<size_t>(res);
    if (s.done == op.length) return Finish(slot, absl::OkStatus(), now);
    s.retries = 0;
  } else if (res == 0) {
    return Finish(slot, ShortReadError(op, s.done), now);
  } else if ((res != -EAGAIN && res != -EINTR) || ++s.retries > kMaxRetries) {
    return Finish(slot, ReadErrnoError(op, -res), now);
  }
  // A partial transfer or a retryable error: read the rest. After a ring error the rest is left
  // for Abandon, which reads it through file->Read.
  if (!broken_) Prepare(slot);
}

void RingBatch::Finish(uint32_t slot, absl::Status status, int64_t now) {
  Slot& s = slots_[slot];
  s.op->status = std::move(status);
  counters_->OnComplete(*s.op, static_cast<double>(now - s.start_ns) / 1e3);
  s.op = nullptr;
  free_.push_back(slot);
}

bool RingBatch::Run() {
  while (true) {
    // Fill: one SQE per free slot, all submitted by one io_uring_enter below.
    const int64_t now = NowNanos();
    unsigned added = 0;
    while (!free_.empty()) {
      ReadOp* op = NextOp(&ring_cursor_, /*native=*/true);
      if (op == nullptr) break;
      const uint32_t slot = free_.back();
      free_.pop_back();
      slots_[slot] = Slot{op, 0, now, 0};
      Prepare(slot);
      ++added;
    }
    if (added > 0) counters_->OnSubmit(added);
    // Serve the descriptor-less ops on this thread while the kernel works; otherwise wait for
    // completions in the same syscall as the submission.
    ReadOp* sync_op = NextOp(&sync_cursor_, /*native=*/false);
    const bool wait = sync_op == nullptr && in_kernel_ + prepared_ > 0;
    const bool submitted = (prepared_ == 0 && !wait) || Submit(wait);
    if (sync_op != nullptr) ServeSync(*sync_op, counters_);
    if (!submitted || !Reap(/*wait=*/false)) break;
    if (sync_op == nullptr && in_kernel_ + prepared_ == 0 && ring_cursor_ == ops_.size() &&
        free_.size() == slots_.size()) {
      return true;
    }
  }
  Abandon();
  return false;
}

void RingBatch::Abandon() {
  broken_ = true;
  // SQEs never accepted by the kernel are never executed: the ring is destroyed unsubmitted.
  prepared_ = 0;
  while (in_kernel_ > 0) {
    io_uring_cqe* cqe;
    const int rc = io_uring_wait_cqe(ring_, &cqe);
    if (rc == -EINTR || rc == -EAGAIN) continue;
    if (rc < 0) DieInFlight("wait", -rc);
    Reap(/*wait=*/false);
  }
  // Slots still holding an op: prepared but never submitted, or cut short by broken_.
  for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
    if (slots_[slot].op == nullptr) continue;
    Finish(slot, ReadRestSync(*slots_[slot].op, slots_[slot].done), NowNanos());
  }
  // Ops never handed to the ring, and descriptor-less ops not served yet.
  while (ReadOp* op = NextOp(&ring_cursor_, /*native=*/true)) ServeSync(*op, counters_);
  while (ReadOp* op = NextOp(&sync_cursor_, /*native=*/false)) ServeSync(*op, counters_);
}

class UringReader final : public AsyncReader {
 public:
  UringReader(unsigned depth, int max_rings, std::unique_ptr<Ring> first)
      : depth_(depth), counters_("io_uring") {
    MutexLock l(&mu_);
    max_rings_ = max_rings;
    free_.push_back(std::move(first));
    rings_ = 1;
  }

  void ReadAll(absl::Span<ReadOp> ops) override ABSL_LOCKS_EXCLUDED(mu_) {
    if (ops.empty()) return;
    std::unique_ptr<Ring> ring = AcquireRing();
    if (ring == nullptr) {
      // Every ring failed: serve the ops on this thread, as a broken ring's leftovers are.
      for (ReadOp& op : ops) ServeSync(op, &counters_);
      return;
    }
    RingBatch batch(ring->get(), depth_, &counters_, ops);
    if (!batch.Run()) ring.reset();
    ReleaseRing(std::move(ring));
  }

  ReaderStats stats() const override { return counters_.Snapshot(); }

 private:
  // A ring for the caller's exclusive use, or nullptr if no ring can be had at all.
  std::unique_ptr<Ring> AcquireRing() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      MutexLock l(&mu_);
      mu_.AwaitWithDeadline(
          [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return !free_.empty() || rings_ < max_rings_ || rings_ == 0;
          },
          absl::InfiniteFuture());
      if (!free_.empty()) {
        std::unique_ptr<Ring> ring = std::move(free_.back());
        free_.pop_back();
        return ring;
      }
      if (rings_ == 0) return nullptr;
      ++rings_;  // reserve the ring; create it without holding the lock
    }
    auto ring = Ring::Create(depth_);
    if (ring.ok()) return *std::move(ring);
    MutexLock l(&mu_);
    --rings_;
    max_rings_ = rings_;  // e.g. out of memory for rings: make do with those that exist
    if (rings_ == 0) return nullptr;
    mu_.AwaitWithDeadline(
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return !free_.empty() || rings_ == 0; },
        absl::InfiniteFuture());
    if (free_.empty()) return nullptr;
    std::unique_ptr<Ring> taken = std::move(free_.back());
    free_.pop_back();
    return taken;
  }

  // Returns `ring` to the pool; nullptr: the borrowed ring was destroyed.
  void ReleaseRing(std::unique_ptr<Ring> ring) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock l(&mu_);  // unlocking wakes the callers waiting in AcquireRing
    if (ring == nullptr) {
      --rings_;
    } else {
      free_.push_back(std::move(ring));
    }
  }

  const unsigned depth_;
  ReaderCounters counters_;

  Mutex mu_;
  // Protected by mu_.
  int max_rings_ ABSL_GUARDED_BY(mu_) = 1;  // cap on rings_
  int rings_ ABSL_GUARDED_BY(mu_) = 0;      // rings alive: free or borrowed
  std::vector<std::unique_ptr<Ring>> free_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<AsyncReader>> NewUringReader(int queue_depth, int max_rings) {
  if (queue_depth < 1 || queue_depth > kMaxQueueDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("queue_depth must be in [1, ", kMaxQueueDepth, "], got ", queue_depth));
  }
  if (max_rings < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_rings must be >= 0, got ", max_rings));
  }
  // By default enough rings for one caller per core; more callers wait for a ring.
  if (max_rings == 0) {
    max_rings = static_cast<int>(std::max(4u, std::thread::hardware_concurrency()));
  }
  auto ring = Ring::Create(static_cast<unsigned>(queue_depth));
  if (!ring.ok()) return ring.status();
  return std::make_unique<UringReader>(static_cast<unsigned>(queue_depth), max_rings,
                                       *std::move(ring));
}

}  // namespace strata::internal
