// Interruptible waits: a caller that blocks in a table (the rate limiter, a resident table's
// minimum of items in DRAM, room in DRAM for an insert, durability) can be stopped by a check it
// installs for the duration of the call. The Python binding installs one that looks for a
// pending Ctrl-C, so that `sample()` and `insert()` raise KeyboardInterrupt within 100 ms.
//
//   {
//     strata::InterruptScope scope(+[](void*) { return stop_requested.load(); }, nullptr);
//     absl::Status s = table.Sample({.batch_size = 256}, &out);  // no time limit
//     if (scope.interrupted()) ...;  // s is DeadlineExceeded: the wait ended early
//   }
//
// While a wait of the calling thread blocks, the check runs every kInterruptPoll, without any
// table lock held. Once it returns true the scope is interrupted: the wait ends as if its
// deadline had passed (nothing the call had not finished is applied: a sample returns nothing,
// an insert keeps the items it inserted before), and every later wait in the scope returns at
// once. Waits inside the table that a caller does not block in (storage reads, the background
// threads) are never interrupted. Scopes nest (the inner one wins); one per thread at a time.
#ifndef STRATA_INTERRUPT_H_
#define STRATA_INTERRUPT_H_

#include "absl/time/time.h"

namespace strata {

inline constexpr absl::Duration kInterruptPoll = absl::Milliseconds(50);

class InterruptScope {
 public:
  using Check = bool (*)(void* arg);
  InterruptScope(Check check, void* arg);
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  // Whether the check fired during this scope.
  bool interrupted() const { return interrupted_; }

  // For the waits (util/mutex.h): the calling thread's scope, or nullptr.
  static InterruptScope* Current();
  // Runs the check unless it fired already; returns interrupted().
  bool Poll();

 private:
  Check check_;
  void* arg_;
  bool interrupted_ = false;
  InterruptScope* outer_;
};

}  // namespace strata

#endif  // STRATA_INTERRUPT_H_
