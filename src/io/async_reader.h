// AsyncReader: reads many (file, offset, length, dst) requests at once, for the SSD tier's cold
// reads (Sample, Get, swap-ins, promotions), keeping a whole queue of them in flight instead of
// issuing one blocking pread after another.
//
// Backends (one .cc each):
//   io_uring  (uring_reader.cc)  batched submission to the kernel on a pool of rings; ops whose
//                                file has no OS descriptor (native_handle() == -1: MemEnv,
//                                FaultInjectionEnv) are served by file->Read on the calling
//                                thread while the ring's reads are in flight.
//   threads   (thread_reader.cc) a fixed pool of threads calling file->Read; the fallback when
//                                io_uring is unavailable (seccomp, old kernel) or not wanted.
//
// Ownership: the reader owns its rings or threads; it borrows the files and buffers named by the
// ops only for the duration of ReadAll. Destroy it only after every ReadAll returned.
// Thread safety: thread-safe. Several threads may call ReadAll at once on one reader.
#ifndef STRATA_IO_ASYNC_READER_H_
#define STRATA_IO_ASYNC_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "strata/env.h"

namespace strata::internal {

// One read request and, after ReadAll, its outcome.
struct ReadOp {
  const RandomAccessFile* file = nullptr;  // input; must outlive the ReadAll call
  uint64_t offset = 0;                     // input
  size_t length = 0;                       // input
  char* dst = nullptr;                     // input, holds `length` bytes
  // Output: OK when all `length` bytes were read into dst. Otherwise:
  //   DataLoss         a short read (end of file before `length` bytes: IsEndOfFile), or EIO;
  //   InvalidArgument  no file, or no dst for a non-empty read;
  //   Internal         any other errno (the message names offset, length and strerror);
  //   or whatever file->Read returned, unchanged, for ops served through it (injected faults).
  // dst's contents are unspecified when the status is not OK.
  absl::Status status;
  // Optional: called once the op's status is set, on the thread that completed it (the
  // caller's, or a reading thread), before ReadAll returns. Ops complete in any order and the
  // callbacks of different ops may run at the same time. Lets a caller verify or decode each
  // op while the others are still in flight. Must not call into the reader.
  void (*on_complete)(ReadOp& op, void* context) = nullptr;
  void* context = nullptr;
};

// Whether a ReadOp's status says the file ended before the op's last byte: the bytes are not
// there, so retrying cannot help (unlike EIO or an injected fault).
bool IsEndOfFile(const absl::Status& s);

// Counters since the reader was created. Each field is read separately, so while calls are in
// flight they may disagree by the ops in flight; when the reader is idle,
// submitted == completed and in_flight == 0.
struct ReaderStats {
  uint64_t submitted = 0;      // ops started: handed to the kernel or to a reading thread (an
                               // op resubmitted after a short transfer or EAGAIN counts once)
  uint64_t completed = 0;      // ops whose status was set, failed ones included
  uint64_t failed = 0;         // ops completed with a non-OK status
  uint64_t in_flight = 0;      // ops handed to the kernel or to a reading thread, not completed
  uint64_t max_in_flight = 0;  // highest in_flight seen, across concurrent callers
  uint64_t bytes = 0;          // bytes delivered by successful ops
  // Per-op latency, from the op's first submission (io_uring) or the start of its file->Read
  // (threads) to its completion being reaped; queueing in ReadAll before that is not included.
  double latency_p50_us = 0;
  double latency_p99_us = 0;
  double latency_total_us = 0;  // sum over completed ops: a window's mean latency is its delta
                                // over the delta of `completed`
  // "io_uring", "threads", or "threads (io_uring unavailable: <strerror>)".
  std::string backend;
};

class AsyncReader {
 public:
  AsyncReader() = default;
  AsyncReader(const AsyncReader&) = delete;
  AsyncReader& operator=(const AsyncReader&) = delete;
  virtual ~AsyncReader() = default;

  // Reads all ops concurrently, keeping up to the reader's queue depth in flight (io_uring; per
  // concurrent caller) or its thread count (threads, plus the calling thread, which helps), and
  // returns when every op has completed with its status set. Blocks on the device; no timeout.
  // Ops may name different files and overlap; their dst ranges must not overlap. Never throws.
  virtual void ReadAll(absl::Span<ReadOp> ops) = 0;
  virtual ReaderStats stats() const = 0;
};

struct AsyncReaderOptions {
  int queue_depth = 64;      // io_uring: ops in flight per ReadAll call, clamped to [1, 4096]
  int threads = 4;           // thread-pool backend: worker threads, clamped to [1, 256]
  bool prefer_uring = true;  // false: always the thread pool
};

// io_uring when it is available and options.prefer_uring, else the thread pool. Never fails:
// if io_uring cannot be set up (io_uring_queue_init fails, e.g. under a seccomp filter) it
// returns the thread pool with the reason in stats().backend.
std::unique_ptr<AsyncReader> NewAsyncReader(const AsyncReaderOptions& options);

// For tests and benchmarks that need a specific backend.
// The io_uring reader keeps up to `max_rings` rings (0: max(4, hardware threads)), one per
// concurrent ReadAll; more concurrent callers wait for a ring. InvalidArgument if queue_depth is
// outside [1, 4096] or max_rings < 0; Internal ("io_uring unavailable: <strerror>") if the
// first ring cannot be created.
[[nodiscard]] absl::StatusOr<std::unique_ptr<AsyncReader>> NewUringReader(int queue_depth,
                                                                          int max_rings = 0);
// `threads` is clamped to [1, 256]. The second form reports `backend` in stats().backend.
std::unique_ptr<AsyncReader> NewThreadPoolReader(int threads);
std::unique_ptr<AsyncReader> NewThreadPoolReader(int threads, std::string backend);

}  // namespace strata::internal

#endif  // STRATA_IO_ASYNC_READER_H_
