#include "strata/interrupt.h"

namespace strata {
namespace {

thread_local InterruptScope* current = nullptr;

}  // namespace

InterruptScope::InterruptScope(Check check, void* arg) : check_(check), arg_(arg), outer_(current) {
  current = this;
}

InterruptScope::~InterruptScope() { current = outer_; }

InterruptScope* InterruptScope::Current() { return current; }

bool InterruptScope::Poll() {
  if (!interrupted_ && check_ != nullptr && check_(arg_)) interrupted_ = true;
  return interrupted_;
}

}  // namespace strata
