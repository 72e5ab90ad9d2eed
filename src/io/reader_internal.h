// Pieces shared by the AsyncReader backends: the stats counters, the op checks and errors, and
// the synchronous path through RandomAccessFile::Read. Implemented in async_reader.cc.
#ifndef STRATA_IO_READER_INTERNAL_H_
#define STRATA_IO_READER_INTERNAL_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "io/async_reader.h"
#include "io/latency_histogram.h"

namespace strata::internal {

// The counters behind ReaderStats. Thread-safe: every field is a relaxed atomic (they are
// statistics; nothing synchronizes through them), written by whichever thread submits or
// completes an op and read by stats().
class ReaderCounters {
 public:
  explicit ReaderCounters(std::string backend) : backend_(std::move(backend)) {}

  // `n` ops were handed to the kernel or to a reading thread.
  void OnSubmit(uint64_t n);
  // `op` completed (its status is set) after `latency_us`; `op` must have been counted by
  // OnSubmit. Runs the op's on_complete, if any, after counting it.
  void OnComplete(ReadOp& op, double latency_us);
  ReaderStats Snapshot() const;

 private:
  const std::string backend_;
  std::atomic<uint64_t> submitted_{0};
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> in_flight_{0};
  std::atomic<uint64_t> max_in_flight_{0};
  std::atomic<uint64_t> bytes_{0};
  LatencyHistogram latency_;
  std::atomic<uint64_t> latency_total_ns_{0};
};

// Monotonic clock in nanoseconds, for latencies.
inline int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// OK, or InvalidArgument when `op` cannot be issued at all (no file; no dst for a non-empty read).
absl::Status CheckOp(const ReadOp& op);
// DataLoss: the file ended `done` bytes into the op.
absl::Status ShortReadError(const ReadOp& op, size_t done);
// The status for errno `err` from reading `op` (DataLoss for EIO, Internal otherwise); the
// message names the offset, the length and strerror.
absl::Status ReadErrnoError(const ReadOp& op, int err);

// Reads bytes [done, length) of `op` with one op.file->Read call on the calling thread and
// returns the op's final status: file->Read's own error unchanged, ShortReadError if it returned
// fewer bytes (end of file).
absl::Status ReadRestSync(const ReadOp& op, size_t done);
// Serves a whole op on the calling thread (CheckOp, then ReadRestSync), counted in `counters`.
void ServeSync(ReadOp& op, ReaderCounters* counters);

}  // namespace strata::internal

#endif  // STRATA_IO_READER_INTERNAL_H_
