// NewAsyncReader (backend choice) and the pieces shared by the backends (reader_internal.h).
#include "io/async_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "io/reader_internal.h"
#include "strata/status.h"

namespace strata::internal {

void ReaderCounters::OnSubmit(uint64_t n) {
  submitted_.fetch_add(n, std::memory_order_relaxed);
  const uint64_t now = in_flight_.fetch_add(n, std::memory_order_relaxed) + n;
  uint64_t seen = max_in_flight_.load(std::memory_order_relaxed);
  while (now > seen &&
         !max_in_flight_.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}

void ReaderCounters::OnComplete(ReadOp& op, double latency_us) {
  if (op.status.ok()) {
    bytes_.fetch_add(op.length, std::memory_order_relaxed);
  } else {
    failed_.fetch_add(1, std::memory_order_relaxed);
  }
  latency_.Record(latency_us);
  latency_total_ns_.fetch_add(static_cast<uint64_t>(std::max(0.0, latency_us) * 1e3),
                              std::memory_order_relaxed);
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  completed_.fetch_add(1, std::memory_order_relaxed);
  if (op.on_complete != nullptr) op.on_complete(op, op.context);
}

ReaderStats ReaderCounters::Snapshot() const {
  ReaderStats s;
  s.submitted = submitted_.load(std::memory_order_relaxed);
  s.completed = completed_.load(std::memory_order_relaxed);
  s.failed = failed_.load(std::memory_order_relaxed);
  s.in_flight = in_flight_.load(std::memory_order_relaxed);
  s.max_in_flight = max_in_flight_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.latency_p50_us = latency_.Percentile(50);
  s.latency_p99_us = latency_.Percentile(99);
  s.latency_total_us = static_cast<double>(latency_total_ns_.load(std::memory_order_relaxed)) / 1e3;
  s.backend = backend_;
  return s;
}

absl::Status CheckOp(const ReadOp& op) {
  if (op.file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("read at offset ", op.offset, " length ", op.length, ": ReadOp.file is null"));
  }
  if (op.dst == nullptr && op.length > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("read at offset ", op.offset, " length ", op.length, ": ReadOp.dst is null"));
  }
  return absl::OkStatus();
}

namespace {
constexpr char kEndOfFilePayload[] = "strata.io/end_of_file";
}  // namespace

absl::Status ShortReadError(const ReadOp& op, size_t done) {
  absl::Status s =
      absl::DataLossError(absl::StrCat("short read at offset ", op.offset, " length ", op.length,
                                       ": end of file after ", done, " bytes"));
  s.SetPayload(kEndOfFilePayload, absl::Cord());
  return s;
}

bool IsEndOfFile(const absl::Status& s) { return s.GetPayload(kEndOfFilePayload).has_value(); }

absl::Status ReadErrnoError(const ReadOp& op, int err) {
  std::string msg =
      absl::StrCat("read at offset ", op.offset, " length ", op.length, ": ", std::strerror(err));
  return err == EIO ? absl::DataLossError(msg) : absl::InternalError(msg);
}

absl::Status ReadRestSync(const ReadOp& op, size_t done) {
  if (done >= op.length) return absl::OkStatus();
  // One call: RandomAccessFile::Read returns fewer bytes than asked only at end of file (and a
  // second call would count as another op in FaultInjectionEnv).
  size_t got = 0;
  RETURN_IF_ERROR(op.file->Read(op.offset + done, op.length - done, op.dst + done, &got));
  if (got < op.length - done) return ShortReadError(op, done + got);
  return absl::OkStatus();
}

void ServeSync(ReadOp& op, ReaderCounters* counters) {
  counters->OnSubmit(1);
  const int64_t start = NowNanos();
  op.status = CheckOp(op);
  if (op.status.ok()) op.status = ReadRestSync(op, 0);
  counters->OnComplete(op, static_cast<double>(NowNanos() - start) / 1e3);
}

std::unique_ptr<AsyncReader> NewAsyncReader(const AsyncReaderOptions& options) {
  const int threads = std::clamp(options.threads, 1, 256);
  if (!options.prefer_uring) return NewThreadPoolReader(threads);
  auto uring = NewUringReader(std::clamp(options.queue_depth, 1, 4096));
  if (uring.ok()) return *std::move(uring);
  return NewThreadPoolReader(threads, absl::StrCat("threads (", uring.status().message(), ")"));
}

}  // namespace strata::internal
