#include "util/mutex.h"

#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace strata::internal {
namespace {

TEST(MutexTest, AwaitWakesWhenAnotherThreadChangesStateAndUnlocks) {
  Mutex mu;
  int value = 0;
  std::thread waiter([&] {
    MutexLock l(&mu);
    EXPECT_TRUE(mu.AwaitWithDeadline([&] { return value == 3; }, absl::InfiniteFuture()));
    EXPECT_EQ(value, 3);
  });
  for (int i = 0; i < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
    MutexLock l(&mu);
    ++value;  // no explicit signal: Unlock wakes the waiter to re-check
  }
  waiter.join();
}

TEST(MutexTest, AwaitTimesOutAtTheDeadline) {
  Mutex mu;
  MutexLock l(&mu);
  const absl::Time start = absl::Now();
  EXPECT_FALSE(mu.AwaitWithDeadline([] { return false; }, start + absl::Milliseconds(30)));
  const absl::Duration waited = absl::Now() - start;
  EXPECT_GE(waited, absl::Milliseconds(29));
  EXPECT_LT(waited, absl::Seconds(2));
}

TEST(MutexTest, ManyWaitersAllWake) {
  Mutex mu;
  bool go = false;
  int woke = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      MutexLock l(&mu);
      mu.AwaitWithDeadline([&] { return go; }, absl::InfiniteFuture());
      ++woke;
    });
  }
  absl::SleepFor(absl::Milliseconds(20));
  {
    MutexLock l(&mu);
    go = true;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(woke, 8);
}

TEST(MutexTest, ProtectsACounter) {
  Mutex mu;
  long counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        MutexLock l(&mu);
        ++counter;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 80000);
}

}  // namespace
}  // namespace strata::internal

namespace strata::internal {
namespace {

// A waiter that changes state and then waits again must wake the other waiters (absl::Mutex
// semantics), or two waiters that each wait for the other's progress deadlock.
TEST(MutexTest, WaiterThatChangesStateWakesOtherWaiters) {
  Mutex mu;
  int a = 0, b = 0;
  std::thread ta([&] {
    MutexLock l(&mu);
    for (int i = 0; i < 100; ++i) {
      ++a;
      ASSERT_TRUE(mu.AwaitWithDeadline([&] { return b >= a; }, absl::Now() + absl::Seconds(10)));
    }
  });
  std::thread tb([&] {
    MutexLock l(&mu);
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(mu.AwaitWithDeadline([&] { return a > b; }, absl::Now() + absl::Seconds(10)));
      ++b;
    }
  });
  ta.join();
  tb.join();
  EXPECT_EQ(a, 100);
  EXPECT_EQ(b, 100);
}

}  // namespace
}  // namespace strata::internal
