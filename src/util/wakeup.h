// Wakeup: how a background thread sleeps until it has work (or is told to stop). Notify() wakes
// it; a notification that arrives while it works is kept, so none is lost. Thread-safe.
#ifndef STRATA_UTIL_WAKEUP_H_
#define STRATA_UTIL_WAKEUP_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace strata::internal {

class Wakeup {
 public:
  void Notify() {
    {
      std::lock_guard<std::mutex> l(mu_);
      pending_ = true;
    }
    cv_.notify_one();
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  // Waits until notified or `timeout` passes (with `only_stop`, ignores notifications: a backoff
  // sleep); clears the notification. Returns false once Stop() was called.
  bool Wait(std::chrono::milliseconds timeout, bool only_stop = false) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, timeout, [&] { return stopped_ || (!only_stop && pending_); });
    if (!only_stop) pending_ = false;
    return !stopped_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopped_ = false;
};

}  // namespace strata::internal

#endif  // STRATA_UTIL_WAKEUP_H_
