#include "util/mutex.h"

#include <atomic>
#include <thread>
#include <utility>
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

TEST(MutexTest, AnInterruptScopeEndsAWaitWithinAPollAndStaysInterrupted) {
  Mutex mu;
  std::atomic<int> polls{0};
  std::atomic<bool> stop{false};
  auto check = [](void* arg) {
    auto* p = static_cast<std::pair<std::atomic<int>*, std::atomic<bool>*>*>(arg);
    ++*p->first;
    return p->second->load();
  };
  std::pair<std::atomic<int>*, std::atomic<bool>*> arg{&polls, &stop};
  InterruptScope scope(check, &arg);
  std::thread stopper([&] {
    absl::SleepFor(absl::Milliseconds(120));
    stop = true;
  });
  MutexLock l(&mu);
  const absl::Time start = absl::Now();
  // No deadline: only the check ends it, at the first poll after `stop`.
  EXPECT_FALSE(mu.AwaitInterruptibly([] { return false; }, absl::InfiniteFuture()));
  const absl::Duration waited = absl::Now() - start;
  stopper.join();
  EXPECT_TRUE(scope.interrupted());
  EXPECT_GE(waited, absl::Milliseconds(110));
  EXPECT_LT(waited, absl::Milliseconds(120) + 4 * kInterruptPoll);
  EXPECT_GE(polls.load(), 2);
  // Interrupted: later waits in the scope return at once, with their condition.
  const absl::Time again = absl::Now();
  EXPECT_FALSE(mu.AwaitInterruptibly([] { return false; }, absl::InfiniteFuture()));
  EXPECT_TRUE(mu.AwaitInterruptibly([] { return true; }, absl::InfiniteFuture()));
  EXPECT_LT(absl::Now() - again, absl::Milliseconds(20));
}

TEST(MutexTest, AwaitInterruptiblyWithoutAScopeIsAPlainWait) {
  Mutex mu;
  MutexLock l(&mu);
  EXPECT_EQ(InterruptScope::Current(), nullptr);
  const absl::Time start = absl::Now();
  EXPECT_FALSE(mu.AwaitInterruptibly([] { return false; }, start + absl::Milliseconds(30)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(29));
}

TEST(MutexTest, AnUnfiredScopeWaitsUntilTheDeadlineAndScopesNest) {
  Mutex mu;
  int polls = 0;
  InterruptScope outer(
      +[](void*) { return true; }, nullptr);
  {
    InterruptScope inner(
        +[](void* n) { return ++*static_cast<int*>(n) < 0; }, &polls);
    EXPECT_EQ(InterruptScope::Current(), &inner);
    MutexLock l(&mu);
    const absl::Time start = absl::Now();
    EXPECT_FALSE(mu.AwaitInterruptibly([] { return false; }, start + 3 * kInterruptPoll));
    EXPECT_GE(absl::Now() - start, 3 * kInterruptPoll - absl::Milliseconds(1));
    EXPECT_FALSE(inner.interrupted());
    EXPECT_GE(polls, 2);
  }
  EXPECT_EQ(InterruptScope::Current(), &outer);
  EXPECT_FALSE(outer.interrupted());  // never asked
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
