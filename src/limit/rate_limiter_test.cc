#include "limit/rate_limiter.h"

#include <atomic>
#include <cmath>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "strata/rate_limiter.h"
#include "util/mutex.h"
#include "util/random.h"

namespace strata::internal {
namespace {

using ::testing::HasSubstr;

// Long enough that a correct call never hits it, short enough that a deadlock fails the test
// instead of hanging it.
constexpr absl::Duration kHang = absl::Seconds(10);

absl::Time In(absl::Duration d) { return absl::Now() + d; }
absl::Time Immediately() { return absl::InfinitePast(); }  // "only if admissible right away"

using Lock = MutexLock;

// A minimal table: the mutex, item count and closed flag a RateLimiter borrows. Insert/Sample
// acquire credits and then change the size exactly as a table would.
class Harness {
 public:
  explicit Harness(const RateLimiterOptions& options) : limiter_(options, &mu_, &size_, &closed_) {}

  // Called under the lock after every successful Insert or Sample.
  void set_check(std::function<void(const RateLimiterInfo&, size_t size)> check) {
    Lock lock(&mu_);
    check_ = std::move(check);
  }

  absl::StatusOr<size_t> Insert(size_t n, absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_) {
    Lock lock(&mu_);
    limiter_.mu()->AssertHeld();
    absl::StatusOr<size_t> admitted = limiter_.AcquireInserts(n, deadline);
    if (admitted.ok()) {
      size_ += *admitted;
      if (check_) check_(limiter_.info(), size_);
    }
    return admitted;
  }
  absl::Status Insert1(absl::Time deadline) { return Insert(1, deadline).status(); }

  // Sampling leaves items in the table.
  absl::Status Sample(size_t n, absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_) {
    Lock lock(&mu_);
    limiter_.mu()->AssertHeld();
    absl::Status status = limiter_.AcquireSamples(n, deadline);
    if (status.ok() && check_) check_(limiter_.info(), size_);
    return status;
  }

  // Items deleted by the user: the limiter does not count them.
  void Remove(size_t n) ABSL_LOCKS_EXCLUDED(mu_) {
    Lock lock(&mu_);
    size_ -= n;
  }
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    Lock lock(&mu_);
    closed_ = true;
  }
  void ReleaseSamples(size_t n) ABSL_LOCKS_EXCLUDED(mu_) {
    Lock lock(&mu_);
    limiter_.mu()->AssertHeld();
    limiter_.ReleaseSamples(n);
  }
  void ReleaseInserts(size_t n) ABSL_LOCKS_EXCLUDED(mu_) {
    Lock lock(&mu_);
    limiter_.mu()->AssertHeld();
    limiter_.ReleaseInserts(n);
  }
  absl::Status Reconfigure(const RateLimiterOptions& options) ABSL_LOCKS_EXCLUDED(mu_) {
    Lock lock(&mu_);
    limiter_.mu()->AssertHeld();
    return limiter_.Reconfigure(options);
  }
  RateLimiterInfo info() ABSL_LOCKS_EXCLUDED(mu_) {
    Lock lock(&mu_);
    limiter_.mu()->AssertHeld();
    return limiter_.info();
  }
  size_t size() ABSL_LOCKS_EXCLUDED(mu_) {
    Lock lock(&mu_);
    return size_;
  }

  // Polls until `pred(info())` holds; false after kHang.
  bool AwaitInfo(const std::function<bool(const RateLimiterInfo&)>& pred) {
    const absl::Time deadline = In(kHang);
    while (absl::Now() < deadline) {
      if (pred(info())) return true;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return false;
  }
  bool AwaitWaiting(int64_t inserts, int64_t samples) {
    return AwaitInfo([&](const RateLimiterInfo& i) {
      return i.waiting_inserts == inserts && i.waiting_samples == samples;
    });
  }

 private:
  Mutex mu_;
  size_t size_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void(const RateLimiterInfo&, size_t)> check_ ABSL_GUARDED_BY(mu_);
  RateLimiter limiter_;
};

TEST(RateLimiterTest, MinSize) {
  Harness h(MinSize(3));
  absl::Status sampled;
  std::jthread sampler([&] { sampled = h.Sample(1, In(kHang)); });
  ASSERT_TRUE(h.AwaitWaiting(0, 1));
  ASSERT_TRUE(h.Insert1(Immediately()).ok());
  ASSERT_TRUE(h.Insert1(Immediately()).ok());
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(h.info().waiting_samples, 1) << "sampled with 2 < min_size items";
  EXPECT_EQ(h.info().samples, 0);
  ASSERT_TRUE(h.Insert1(Immediately()).ok());
  sampler.join();
  EXPECT_TRUE(sampled.ok()) << sampled;
  EXPECT_EQ(h.info().sample_waits, 1);
  EXPECT_GT(h.info().sample_wait_seconds, 0);

  // From here on neither side is paced.
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(h.Sample(1, Immediately()).ok()) << i;
  ASSERT_TRUE(h.Sample(5000, Immediately()).ok());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(h.Insert1(Immediately()).ok()) << i;
  EXPECT_EQ(h.info().samples, 15001);
  EXPECT_EQ(h.info().inserts, 1003);
}

struct RatioParam {
  double spi;
  int64_t min_size;
  double error_buffer;
};

class SampleToInsertRatioTest : public ::testing::TestWithParam<RatioParam> {};

TEST_P(SampleToInsertRatioTest, BlocksEachSideAtTheWindowEdge) {
  const RatioParam p = GetParam();
  const RateLimiterOptions o = SampleToInsertRatio(p.spi, p.min_size, p.error_buffer);
  ASSERT_TRUE(RateLimiter::Validate(o).ok()) << RateLimiter::Validate(o);
  Harness h(o);

  // Inserters run ahead until one more would cross max_diff.
  while (h.Insert1(Immediately()).ok()) {
  }
  RateLimiterInfo info = h.info();
  EXPECT_LE(info.diff, o.max_diff);
  EXPECT_GT(info.diff + p.spi, o.max_diff);
  EXPECT_GE(info.inserts, p.min_size);
  EXPECT_TRUE(absl::IsDeadlineExceeded(h.Insert1(Immediately())));

  // A blocked inserter waits for samples, and the samples that make room wake it.
  absl::Status inserted;
  std::jthread inserter([&] { inserted = h.Insert1(In(kHang)); });
  ASSERT_TRUE(h.AwaitWaiting(1, 0));
  while (h.info().diff + p.spi > o.max_diff) ASSERT_TRUE(h.Sample(1, Immediately()).ok());
  inserter.join();
  EXPECT_TRUE(inserted.ok()) << inserted;
  info = h.info();
  EXPECT_LE(info.diff, o.max_diff);

  // Samplers run ahead until one more would cross min_diff.
  while (h.Sample(1, Immediately()).ok()) {
  }
  info = h.info();
  EXPECT_GE(info.diff, o.min_diff);
  EXPECT_LT(info.diff - 1, o.min_diff);

  // A blocked sampler is woken by the inserts that give it credit.
  absl::Status sampled;
  std::jthread sampler([&] { sampled = h.Sample(1, In(kHang)); });
  ASSERT_TRUE(h.AwaitWaiting(0, 1));
  while (h.info().diff - 1 < o.min_diff) ASSERT_TRUE(h.Insert1(Immediately()).ok());
  sampler.join();
  EXPECT_TRUE(sampled.ok()) << sampled;
  EXPECT_EQ(h.info().insert_waits, 1);
  EXPECT_EQ(h.info().sample_waits, 1);
}

// Concurrent inserters and samplers; the window holds at every step and the ratio converges.
TEST_P(SampleToInsertRatioTest, ConcurrentRunStaysInWindow) {
  const RatioParam p = GetParam();
  const RateLimiterOptions o = SampleToInsertRatio(p.spi, p.min_size, p.error_buffer);
  Harness h(o);
  std::atomic<int64_t> violations{0};
  h.set_check([&](const RateLimiterInfo& i, size_t) {
    // No item is ever removed, so inserts only cross max_diff below min_size, where
    // diff <= spi * min_size <= max_diff anyway; once a sample happened, diff >= min_diff.
    if (i.diff > o.max_diff || (i.samples > 0 && i.diff < o.min_diff)) ++violations;
  });

  constexpr int kInserters = 2, kSamplers = 2, kInsertsEach = 1500;
  std::atomic<int> inserters_left{kInserters};
  std::vector<std::jthread> threads;
  threads.reserve(kInserters + kSamplers);
  for (int t = 0; t < kInserters; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kInsertsEach; ++i) {
        if (absl::Status s = h.Insert1(In(kHang)); !s.ok()) {
          ADD_FAILURE() << s;
          break;
        }
      }
      --inserters_left;  // even on failure, or the samplers never stop
    });
  }
  for (int t = 0; t < kSamplers; ++t) {
    threads.emplace_back([&, t] {
      // Batches of 1..3: mixes partial credits with single samples.
      for (size_t n = 1 + t;; n = n % 3 + 1) {
        const bool done = inserters_left == 0;
        if (!h.Sample(n, In(absl::Milliseconds(20))).ok() && done) break;
      }
    });
  }
  threads.clear();  // joins

  const RateLimiterInfo info = h.info();
  EXPECT_EQ(violations, 0);
  EXPECT_EQ(info.inserts, kInserters * kInsertsEach);
  EXPECT_GT(info.insert_waits, 0) << "inserters never got ahead";
  EXPECT_GT(info.sample_waits, 0) << "samplers never got ahead";
  EXPECT_EQ(info.waiting_inserts + info.waiting_samples, 0);
  // Samplers stopped only when a 3-item batch could not be admitted.
  EXPECT_GE(info.diff, o.min_diff);
  EXPECT_LT(info.diff - 3, o.min_diff);
  const double ratio = static_cast<double>(info.samples) / static_cast<double>(info.inserts);
  EXPECT_NEAR(ratio, p.spi, (p.spi * p.min_size + p.error_buffer + 3) / info.inserts);
}

INSTANTIATE_TEST_SUITE_P(Params, SampleToInsertRatioTest,
                         ::testing::Values(RatioParam{1.0, 1, 1.0}, RatioParam{3.0, 10, 3.0},
                                           RatioParam{0.5, 5, 1.0}, RatioParam{2.5, 4, 2.0}));

class QueueTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(QueueTest, InsertsBlockAfterNUnsampled) {
  const int64_t n = GetParam();
  Harness h(Queue(n));
  absl::StatusOr<size_t> batch = h.Insert(n + 5, Immediately());
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(*batch, static_cast<size_t>(n));
  EXPECT_TRUE(absl::IsDeadlineExceeded(h.Insert1(Immediately())));

  for (int round = 0; round < 3; ++round) {
    // Each sample frees exactly one slot.
    ASSERT_TRUE(h.Sample(1, Immediately()).ok());
    EXPECT_TRUE(h.Insert1(Immediately()).ok());
    EXPECT_TRUE(absl::IsDeadlineExceeded(h.Insert1(Immediately())));
  }
  // A blocked inserter is woken by a sample.
  absl::Status inserted;
  std::jthread inserter([&] { inserted = h.Insert1(In(kHang)); });
  ASSERT_TRUE(h.AwaitWaiting(1, 0));
  ASSERT_TRUE(h.Sample(1, Immediately()).ok());
  inserter.join();
  EXPECT_TRUE(inserted.ok()) << inserted;

  // Every item is sampled exactly once: n samples drain it, the next one waits.
  ASSERT_TRUE(h.Sample(n, Immediately()).ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(h.Sample(1, Immediately())));
  EXPECT_EQ(h.info().diff, 0);
}

INSTANTIATE_TEST_SUITE_P(Sizes, QueueTest, ::testing::Values(1, 3, 10));

TEST(RateLimiterTest, BatchLargerThanErrorBufferMakesProgress) {
  // Window [-1, 3]: diff never exceeds 3, yet a 20-item batch needs 20 credits. Taking them all
  // at once would wait forever; item by item, the batch lowers diff and lets inserts through.
  const RateLimiterOptions o = SampleToInsertRatio(1.0, 1, 2.0);
  Harness h(o);
  absl::Status sampled;
  std::jthread sampler([&] { sampled = h.Sample(20, In(kHang)); });
  std::jthread inserter([&] {
    for (int i = 0; i < 20; ++i) {
      if (!h.Insert1(In(kHang)).ok()) return;
    }
  });
  sampler.join();
  inserter.join();
  EXPECT_TRUE(sampled.ok()) << sampled;
  EXPECT_EQ(h.info().samples, 20);
  EXPECT_EQ(h.info().inserts, 20);
}

TEST(RateLimiterTest, TimeoutsReturnOnTimeAndLeaveCountersUnchanged) {
  constexpr absl::Duration kTimeout = absl::Milliseconds(100);
  constexpr absl::Duration kSlack = absl::Seconds(2);  // sanitizers, loaded CI machines
  Harness h(Queue(3));
  ASSERT_TRUE(h.Insert(3, Immediately()).ok());

  absl::Time start = absl::Now();
  EXPECT_TRUE(absl::IsDeadlineExceeded(h.Insert1(start + kTimeout)));
  absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, kTimeout);
  EXPECT_LT(took, kTimeout + kSlack);

  // A 5-item batch takes the 3 credits there are, waits for 2 more, then gives all back.
  start = absl::Now();
  EXPECT_TRUE(absl::IsDeadlineExceeded(h.Sample(5, start + kTimeout)));
  took = absl::Now() - start;
  EXPECT_GE(took, kTimeout);
  EXPECT_LT(took, kTimeout + kSlack);

  const RateLimiterInfo info = h.info();
  EXPECT_EQ(info.inserts, 3);
  EXPECT_EQ(info.samples, 0);
  EXPECT_EQ(info.diff, 3);
  EXPECT_EQ(info.waiting_inserts, 0);
  EXPECT_EQ(info.waiting_samples, 0);
  EXPECT_EQ(info.insert_waits, 1);
  EXPECT_EQ(info.sample_waits, 1);
  EXPECT_GE(info.insert_wait_seconds, absl::ToDoubleSeconds(kTimeout));
  EXPECT_GE(info.sample_wait_seconds, absl::ToDoubleSeconds(kTimeout));

  // The refunded credits are usable; an admissible call succeeds even past its deadline.
  EXPECT_TRUE(h.Sample(3, absl::InfinitePast()).ok());
  EXPECT_EQ(h.info().sample_waits, 1);
}

TEST(RateLimiterTest, CloseCancelsEveryWaiter) {
  // Inserters and samplers are never blocked at the same time on one limiter (that is the
  // point of Validate), so block each kind on its own table.
  Harness full(Queue(1));
  ASSERT_TRUE(full.Insert1(Immediately()).ok());
  Harness empty(MinSize(5));
  ASSERT_TRUE(empty.Insert(4, Immediately()).ok());

  constexpr int kWaiters = 3;
  std::vector<absl::Status> inserted(kWaiters), sampled(kWaiters);
  absl::Time close_time;
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kWaiters; ++i) {
      threads.emplace_back([&, i] { inserted[i] = full.Insert(1 + i, In(kHang)).status(); });
      threads.emplace_back([&, i] { sampled[i] = empty.Sample(1 + 7 * i, In(kHang)); });
    }
    ASSERT_TRUE(full.AwaitWaiting(kWaiters, 0));
    ASSERT_TRUE(empty.AwaitWaiting(0, kWaiters));
    close_time = absl::Now();
    full.Close();
    empty.Close();
  }
  // Woken by the close itself, not by their (distant) deadlines.
  EXPECT_LT(absl::Now() - close_time, absl::Seconds(2));
  for (int i = 0; i < kWaiters; ++i) {
    EXPECT_TRUE(absl::IsCancelled(inserted[i])) << inserted[i];
    EXPECT_TRUE(absl::IsCancelled(sampled[i])) << sampled[i];
  }
  EXPECT_EQ(full.info().inserts, 1);
  EXPECT_EQ(empty.info().samples, 0);
  EXPECT_EQ(full.info().waiting_inserts, 0);
  EXPECT_EQ(empty.info().waiting_samples, 0);

  EXPECT_TRUE(absl::IsFailedPrecondition(full.Insert1(Immediately())));
  EXPECT_TRUE(absl::IsFailedPrecondition(full.Sample(1, Immediately())));
  EXPECT_TRUE(absl::IsFailedPrecondition(empty.Insert1(Immediately())));
}

TEST(RateLimiterTest, ReconfigureUnblocksWaitersAndKeepsCounters) {
  Harness h(Queue(1));
  ASSERT_TRUE(h.Insert1(Immediately()).ok());
  absl::Status inserted;
  std::jthread inserter([&] { inserted = h.Insert1(In(kHang)); });
  ASSERT_TRUE(h.AwaitWaiting(1, 0));
  ASSERT_TRUE(h.Reconfigure(Queue(3)).ok());  // no sample: the wider window alone wakes it
  inserter.join();
  EXPECT_TRUE(inserted.ok()) << inserted;
  EXPECT_EQ(h.info().inserts, 2);

  // Invalid options are rejected and change nothing.
  RateLimiterOptions bad = Queue(3);
  bad.samples_per_insert = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(h.Reconfigure(bad)));
  EXPECT_EQ(h.info().options.samples_per_insert, 1.0);
  EXPECT_EQ(h.info().options.max_diff, 3.0);

  // A sampler blocked at min_diff: raising samples_per_insert raises diff (counters kept).
  ASSERT_TRUE(h.Sample(2, Immediately()).ok());  // diff 0
  absl::Status sampled;
  std::jthread sampler([&] { sampled = h.Sample(2, In(kHang)); });
  ASSERT_TRUE(h.AwaitWaiting(0, 1));
  RateLimiterOptions more = Queue(4);
  more.samples_per_insert = 2;  // diff = 2 * 2 - 2 = 2
  ASSERT_TRUE(h.Reconfigure(more).ok());
  sampler.join();
  EXPECT_TRUE(sampled.ok()) << sampled;
  EXPECT_EQ(h.info().samples, 4);
  EXPECT_EQ(h.info().diff, 0);
}

TEST(RateLimiterTest, InsertsAdmittedBelowMinSizeEvenAtMaxDiff) {
  // The Reverb deadlock: diff at max_diff, then items deleted below min_size. Samplers wait for
  // size, and inserters must not wait for samples.
  const RateLimiterOptions o = SampleToInsertRatio(1.0, 3, 1.0);  // window [2, 4]
  Harness h(o);
  while (h.Insert1(Immediately()).ok()) {
  }
  ASSERT_EQ(h.info().diff, 4);
  ASSERT_EQ(h.size(), 4u);
  h.Remove(3);

  absl::Status sampled;
  std::jthread sampler([&] { sampled = h.Sample(1, In(kHang)); });
  ASSERT_TRUE(h.AwaitWaiting(0, 1));
  // Admitted while size < min_size, counting the items admitted in this same call: 2, not 5.
  absl::StatusOr<size_t> admitted = h.Insert(5, Immediately());
  ASSERT_TRUE(admitted.ok()) << admitted.status();
  EXPECT_EQ(*admitted, 2u);
  sampler.join();
  EXPECT_TRUE(sampled.ok()) << sampled;
  EXPECT_TRUE(absl::IsDeadlineExceeded(h.Insert1(Immediately())));  // size 3, diff 5 > max_diff
}

TEST(RateLimiterTest, ReleaseGivesCreditsBack) {
  Harness h(Queue(2));
  ASSERT_TRUE(h.Insert(2, Immediately()).ok());
  ASSERT_TRUE(h.Sample(2, Immediately()).ok());
  h.ReleaseSamples(1);
  EXPECT_EQ(h.info().samples, 1);
  EXPECT_TRUE(h.Sample(1, Immediately()).ok());
  h.ReleaseInserts(1);
  EXPECT_EQ(h.info().inserts, 1);
  EXPECT_EQ(h.info().diff, -1);
}

TEST(RateLimiterTest, ValidateNamesTheBadField) {
  const double nan = std::nan(""), inf = INFINITY;
  struct Case {
    RateLimiterOptions options;
    const char* field;
  };
  auto with = [](const std::function<void(RateLimiterOptions&)>& f) {
    RateLimiterOptions o = SampleToInsertRatio(1.0, 1, 2.0);
    f(o);
    return o;
  };
  const std::vector<Case> cases = {
      {with([](auto& o) { o.samples_per_insert = 0; }), "samples_per_insert"},
      {with([](auto& o) { o.samples_per_insert = -1; }), "samples_per_insert"},
      {with([&](auto& o) { o.samples_per_insert = inf; }), "samples_per_insert"},
      {with([&](auto& o) { o.samples_per_insert = nan; }), "samples_per_insert"},
      {with([](auto& o) { o.min_size_to_sample = 0; }), "min_size_to_sample"},
      {with([&](auto& o) { o.min_diff = nan; }), "min_diff"},
      {with([&](auto& o) { o.min_diff = inf; }), "min_diff"},
      {with([&](auto& o) { o.max_diff = nan; }), "max_diff"},
      {with([&](auto& o) { o.max_diff = -inf; }), "max_diff"},
      {with([](auto& o) { o.min_diff = 5; }), "min_diff (5) must be <= max_diff (3)"},
      // Narrower than max(1, spi).
      {with([](auto& o) { o.max_diff = o.min_diff + 0.5; }), "max_diff - min_diff"},
      {SampleToInsertRatio(4.0, 1, 1.5), "max_diff - min_diff"},
      // Wide enough by max(1, spi), yet some diff blocks both sides: spi 1 in [0.5, 1.5] at
      // diff 1; spi 0.3 in [0, 1] at diff 0.9 (reached by 3 inserts).
      {SampleToInsertRatio(1.0, 1, 0.5), "max_diff - min_diff"},
      {RateLimiterOptions{.samples_per_insert = 0.3, .min_diff = 0, .max_diff = 1},
       "max_diff - min_diff"},
  };
  for (const Case& c : cases) {
    const absl::Status s = RateLimiter::Validate(c.options);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << c.field << ": " << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.field));
  }
  for (const RateLimiterOptions& o :
       {RateLimiterOptions{}, MinSize(100), Queue(1), Queue(1000), Stack(5),
        SampleToInsertRatio(1.0, 1, 1.0), SampleToInsertRatio(0.25, 10, 1.0),
        SampleToInsertRatio(32.0, 1000, 32.0),
        RateLimiterOptions{.samples_per_insert = 2, .min_diff = -inf, .max_diff = -5},
        RateLimiterOptions{.samples_per_insert = 2, .min_diff = 7, .max_diff = inf}}) {
    EXPECT_TRUE(RateLimiter::Validate(o).ok()) << RateLimiter::Validate(o);
  }
}

// The property Validate exists for: on any valid limiter, in any state the counters can reach
// (inserts, samples, refunds, deletions, reconfiguration), an insert or a sample is admissible.
TEST(RateLimiterTest, ValidWindowNeverBlocksBothSides) {
  Rng rng(2024);
  const double kSpis[] = {0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.0};
  auto random_options = [&] {
    while (true) {
      RateLimiterOptions o;
      o.samples_per_insert = kSpis[rng.UniformInt(std::size(kSpis))];
      o.min_size_to_sample = 1 + static_cast<int64_t>(rng.UniformInt(4));
      o.min_diff = -4 + 0.25 * static_cast<double>(rng.UniformInt(33));
      o.max_diff = o.min_diff + 0.25 * static_cast<double>(rng.UniformInt(24));
      if (RateLimiter::Validate(o).ok()) return o;
    }
  };
  for (int run = 0; run < 200; ++run) {
    Harness h(random_options());
    for (int step = 0; step < 200; ++step) {
      const bool can_insert = h.Insert1(Immediately()).ok();
      if (can_insert) h.ReleaseInserts(1);
      const bool can_sample = h.Sample(1, Immediately()).ok();
      if (can_sample) h.ReleaseSamples(1);
      ASSERT_TRUE(can_insert || can_sample)
          << "run " << run << " step " << step << ": diff " << h.info().diff << " size " << h.size()
          << " spi " << h.info().options.samples_per_insert << " window ["
          << h.info().options.min_diff << ", " << h.info().options.max_diff << "]";
      switch (rng.UniformInt(8)) {
        case 0:
        case 1:
        case 2:
          (void)h.Insert(1 + rng.UniformInt(3), Immediately());
          break;
        case 3:
        case 4:
          (void)h.Sample(1 + rng.UniformInt(3), Immediately());
          break;
        case 5:
          if (h.size() > 0) h.Remove(1);
          break;
        case 6:
          if (h.info().samples > 0) h.ReleaseSamples(1);
          break;
        case 7:
          ASSERT_TRUE(h.Reconfigure(random_options()).ok());
          break;
      }
    }
  }
}

}  // namespace
}  // namespace strata::internal
