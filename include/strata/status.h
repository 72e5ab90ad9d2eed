// Status conventions for Strata.
//
// The core never throws: every fallible call returns absl::Status or absl::StatusOr<T>. The codes
// used, and what each means to a caller:
//   InvalidArgument    bad input; the message names the field and what was expected.
//   NotFound           a key that is unknown or stale (its item was removed).
//   ResourceExhausted  the table (or a tier) is full and cannot make room.
//   DeadlineExceeded   a blocking call timed out.
//   DataLoss           a checksum mismatch on stored data.
//   FailedPrecondition the table is closed; or its storage_dir cannot be used as asked (another
//                      table holds it, it holds another schema or foreign files, or was
//                      written by a newer format version).
//   Cancelled          the table was closed while the call was waiting.
//   Internal           a bug in Strata.
#ifndef STRATA_STATUS_H_
#define STRATA_STATUS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define STRATA_CONCAT_INNER_(a, b) a##b
#define STRATA_CONCAT_(a, b) STRATA_CONCAT_INNER_(a, b)

// Returns early from the enclosing function when `expr` yields a non-OK absl::Status.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status strata_status_ = (expr);          \
    if (!strata_status_.ok()) return strata_status_; \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates the absl::StatusOr `expr`; on error returns its status,
// otherwise move-assigns the value to `lhs` (which may be a declaration: `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  STRATA_ASSIGN_OR_RETURN_IMPL_(STRATA_CONCAT_(strata_statusor_, __LINE__), lhs, expr)
#define STRATA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#endif  // STRATA_STATUS_H_
