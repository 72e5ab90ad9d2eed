// Prefetcher: delivery, the capacity bound, errors, Close and destruction while workers wait,
// several consumers, options, buffer reuse, and tables with storage (byte-exact batches, cold
// reads, what a priority update or a removal does to batches already planned).
#include "strata/prefetcher.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "strata/env.h"
#include "strata/table.h"

namespace strata {
namespace {

using ::testing::DoubleNear;
using ::testing::Each;
using ::testing::HasSubstr;

constexpr int kDim = 16;  // 64-byte observation

// obs[j] = id * 1000 + j, id = the item's own int64 field: every row proves its own content.
Schema ItemSchema() {
  return *Schema::Builder().Fixed("obs", DType::kF32, {kDim}).Fixed("id", DType::kI64).Build();
}

TableOptions DramOptions(uint64_t max_items = 1000) {
  TableOptions o;
  o.name = "prefetch";
  o.schema = ItemSchema();
  o.max_items = max_items;
  return o;
}

TableOptions TieredOptions(Env* env, const std::string& dir, uint64_t dram_items,
                           uint64_t max_items) {
  TableOptions o = DramOptions(max_items);
  o.storage_dir = dir;
  o.env = env;
  o.dram_budget_bytes = dram_items * o.schema.fixed_row_bytes();
  o.segment_bytes = 64 << 10;  // several segments
  return o;
}

std::unique_ptr<Table> Open(TableOptions o) {
  auto t = Table::Create(std::move(o));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? std::move(t).value() : nullptr;
}

std::vector<Key> InsertIds(Table& t, int64_t first, int n, double priority = 1.0) {
  std::vector<float> obs(static_cast<size_t>(n) * kDim);
  std::vector<int64_t> ids(n);
  for (int i = 0; i < n; ++i) {
    ids[i] = first + i;
    for (int j = 0; j < kDim; ++j) obs[i * kDim + j] = static_cast<float>((first + i) * 1000 + j);
  }
  std::vector<double> priorities(n, priority);
  ItemBatch b;
  b.Add("obs", DType::kF32, {n, kDim}, obs.data()).Add("id", DType::kI64, {n}, ids.data());
  b.set_priorities(priorities);
  std::vector<Key> keys;
  const absl::Status s = t.Insert(b, &keys);
  EXPECT_TRUE(s.ok()) << s;
  return keys;
}

// Checks that every row of `b` is intact (byte-exact against its id); returns the ids in order.
std::vector<int64_t> CheckRows(const SampleBatch& b) {
  std::vector<int64_t> ids;
  const FieldData* obs = b.field("obs");
  const FieldData* id = b.field("id");
  EXPECT_TRUE(obs != nullptr && id != nullptr);
  if (obs == nullptr || id == nullptr) return ids;
  const auto o = obs->values<float>();
  const auto v = id->values<int64_t>();
  EXPECT_EQ(o.size(), b.size() * kDim);
  EXPECT_EQ(v.size(), b.size());
  for (size_t i = 0; i < b.size() && i < v.size(); ++i) {
    for (int j = 0; j < kDim; ++j) {
      EXPECT_EQ(o[i * kDim + j], static_cast<float>(v[i] * 1000 + j)) << "row " << i;
    }
    ids.push_back(v[i]);
  }
  return ids;
}

std::unique_ptr<Prefetcher> Start(Table* t, PrefetchOptions o) {
  auto p = Prefetcher::Create(t, o);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(p).value() : nullptr;
}

// Polls `cond` every millisecond for up to 10 s; returns whether it held.
template <typename Cond>
bool Eventually(Cond cond) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (cond()) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return cond();
}

TEST(PrefetcherTest, DeliversNumBatchesOfValidBatchesThenTheEnd) {
  auto t = Open(DramOptions());
  const std::vector<Key> keys = InsertIds(*t, 0, 100);
  auto p = Start(t.get(), {.batch_size = 8, .capacity = 3, .threads = 2, .num_batches = 25});
  SampleBatch out;
  int batches = 0;
  absl::Status s;
  while ((s = p->Next(&out, absl::Seconds(10))).ok()) {
    ++batches;
    ASSERT_EQ(out.size(), 8u);
    for (int64_t id : CheckRows(out)) EXPECT_TRUE(id >= 0 && id < 100) << id;
    EXPECT_EQ(out.weights().size(), 8u);
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out.keys()[i], keys[out.field("id")->values<int64_t>()[i]]);
    }
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  EXPECT_EQ(batches, 25);
  EXPECT_TRUE(absl::IsOutOfRange(p->Next(&out, absl::ZeroDuration())));  // the end is sticky
  const Prefetcher::Stats st = p->stats();
  EXPECT_EQ(st.sampled, 25u);
  EXPECT_EQ(st.delivered, 25u);
  EXPECT_EQ(st.queued, 0u);
  EXPECT_EQ(st.sampling, 0u);
  EXPECT_EQ(st.running, 0u);
  EXPECT_FALSE(st.closed);
  EXPECT_EQ(t->info().sampled, 25u * 8);
  p->Close();
  EXPECT_TRUE(p->stats().closed);
  EXPECT_TRUE(absl::IsCancelled(p->Next(&out)));
}

TEST(PrefetcherTest, OneWorkerDeliversInSampleOrder) {
  TableOptions o = DramOptions();
  o.sampler = Fifo();
  o.max_times_sampled = 1;  // a queue: each item once, oldest first
  auto t = Open(o);
  InsertIds(*t, 0, 40);
  auto p = Start(t.get(), {.batch_size = 4, .capacity = 3, .num_batches = 10});
  SampleBatch out;
  std::vector<int64_t> ids;
  while (p->Next(&out, absl::Seconds(10)).ok()) {
    for (int64_t id : CheckRows(out)) ids.push_back(id);
  }
  ASSERT_EQ(ids.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(ids[i], i);
  EXPECT_EQ(t->size(), 0u);
}

TEST(PrefetcherTest, NeverSamplesMoreThanCapacityAhead) {
  for (int threads : {1, 2, 5}) {  // 5 > capacity: the extra workers wait for room
    SCOPED_TRACE(threads);
    auto t = Open(DramOptions());
    InsertIds(*t, 0, 50);
    auto p = Start(t.get(), {.batch_size = 4, .capacity = 3, .threads = threads});
    ASSERT_TRUE(Eventually([&] { return p->stats().queued == 3; }));
    // The consumer is stalled: nothing more may be taken from the table.
    for (int i = 0; i < 20; ++i) {
      absl::SleepFor(absl::Milliseconds(5));
      const Prefetcher::Stats st = p->stats();
      ASSERT_EQ(st.queued, 3u);
      ASSERT_EQ(st.sampling, 0u);
      ASSERT_EQ(st.sampled, 3u);
      ASSERT_EQ(t->info().sampled, 3u * 4);
    }
    SampleBatch out;
    ASSERT_TRUE(p->Next(&out).ok());
    ASSERT_TRUE(Eventually([&] { return p->stats().queued == 3; }));
    absl::SleepFor(absl::Milliseconds(20));
    EXPECT_EQ(p->stats().sampled, 4u);
    EXPECT_EQ(t->info().sampled, 4u * 4);
    EXPECT_EQ(p->stats().running, static_cast<size_t>(threads));
  }
}

TEST(PrefetcherTest, TableErrorReachesTheConsumerAfterTheQueuedBatches) {
  auto t = Open(DramOptions());
  InsertIds(*t, 0, 50);
  auto p = Start(t.get(), {.batch_size = 2, .capacity = 3, .threads = 2});
  ASSERT_TRUE(Eventually([&] { return p->stats().queued == 3; }));
  t->Close();  // the next sample fails (FailedPrecondition)
  SampleBatch out;
  for (int i = 0; i < 3; ++i) {
    const absl::Status s = p->Next(&out, absl::Seconds(10));
    ASSERT_TRUE(s.ok()) << i << ": " << s;
    EXPECT_EQ(CheckRows(out).size(), 2u);
  }
  const absl::Status s = p->Next(&out, absl::Seconds(10));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(p->Next(&out, absl::Seconds(10)), s);  // sticky
  EXPECT_TRUE(Eventually([&] { return p->stats().running == 0; }));
  EXPECT_EQ(p->stats().delivered, 3u);
}

TEST(PrefetcherTest, ImpossibleBatchIsAnErrorWithNothingDelivered) {
  auto t = Open(DramOptions());
  InsertIds(*t, 0, 5);
  auto p = Start(t.get(), {.batch_size = 8, .replacement = false, .threads = 2});
  SampleBatch out;
  const absl::Status s = p->Next(&out, absl::Seconds(10));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(out.size(), 0u);  // unchanged
  EXPECT_EQ(p->stats().sampled, 0u);
  EXPECT_EQ(t->info().sampled, 0u);
}

TEST(PrefetcherTest, CloseWhileWorkersWaitOnTheRateLimiterIsPrompt) {
  TableOptions o = DramOptions();
  o.rate_limiter = MinSize(10);
  auto t = Open(o);
  InsertIds(*t, 0, 2);  // below min_size: every worker waits in Table::Sample
  auto p = Start(t.get(), {.batch_size = 1, .capacity = 4, .threads = 3});
  absl::Status consumer;
  std::thread waiter([&] {
    SampleBatch out;
    consumer = p->Next(&out);  // no time limit: only Close wakes it
  });
  ASSERT_TRUE(Eventually([&] { return p->stats().sampling == 3; }));
  absl::SleepFor(absl::Milliseconds(50));  // the consumer is waiting too, most likely
  const absl::Time start = absl::Now();
  p->Close();
  const absl::Duration took = absl::Now() - start;
  waiter.join();
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_TRUE(absl::IsCancelled(consumer)) << consumer;
  const Prefetcher::Stats st = p->stats();
  EXPECT_TRUE(st.closed);
  EXPECT_EQ(st.running, 0u);
  EXPECT_EQ(st.sampled, 0u);
  EXPECT_EQ(t->info().sampled, 0u);
  SampleBatch out;
  EXPECT_TRUE(absl::IsCancelled(p->Next(&out, absl::ZeroDuration())));
  p->Close();  // idempotent
}

TEST(PrefetcherTest, ConcurrentClosesAllReturnAfterTheJoin) {
  auto t = Open(DramOptions());
  InsertIds(*t, 0, 20);
  auto p = Start(t.get(), {.batch_size = 2, .capacity = 2, .threads = 3});
  std::vector<std::thread> closers;
  for (int i = 0; i < 4; ++i) {
    closers.emplace_back([&] {
      p->Close();
      EXPECT_EQ(p->stats().running, 0u);
    });
  }
  for (std::thread& c : closers) c.join();
}

TEST(PrefetcherTest, DestructionWithoutCloseJoinsTheWorkers) {
  {  // workers waiting for room (the queue is full)
    auto t = Open(DramOptions());
    InsertIds(*t, 0, 20);
    auto p = Start(t.get(), {.batch_size = 2, .capacity = 2, .threads = 3});
    ASSERT_TRUE(Eventually([&] { return p->stats().queued == 2; }));
    p.reset();
  }
  {  // workers waiting on the rate limiter
    TableOptions o = DramOptions();
    o.rate_limiter = MinSize(100);
    auto t = Open(o);
    auto p = Start(t.get(), {.batch_size = 1, .capacity = 3, .threads = 2});
    absl::SleepFor(absl::Milliseconds(30));
    const absl::Time start = absl::Now();
    p.reset();
    EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  }
  {  // finished workers, undelivered batches
    auto t = Open(DramOptions());
    InsertIds(*t, 0, 20);
    auto p = Start(t.get(), {.batch_size = 2, .capacity = 4, .num_batches = 3});
    ASSERT_TRUE(Eventually([&] { return p->stats().running == 0; }));
    EXPECT_EQ(p->stats().queued, 3u);
  }
}

TEST(PrefetcherTest, SeveralConsumersShareTheStream) {
  auto t = Open(DramOptions());
  InsertIds(*t, 0, 200);
  auto p = Start(t.get(), {.batch_size = 16, .capacity = 4, .threads = 3, .num_batches = 200});
  std::atomic<int> batches{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 4; ++c) {
    consumers.emplace_back([&] {
      SampleBatch out;  // one per consumer thread
      absl::Status s;
      while ((s = p->Next(&out, absl::Seconds(10))).ok()) {
        ++batches;
        const auto ids = out.field("id")->values<int64_t>();
        const auto obs = out.field("obs")->values<float>();
        if (out.size() != 16 || ids.size() != 16) ++bad;
        for (size_t i = 0; i < ids.size(); ++i) {
          for (int j = 0; j < kDim; ++j) {
            if (obs[i * kDim + j] != static_cast<float>(ids[i] * 1000 + j)) ++bad;
          }
        }
      }
      if (!absl::IsOutOfRange(s)) ++bad;
    });
  }
  for (std::thread& c : consumers) c.join();
  EXPECT_EQ(batches.load(), 200);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(p->stats().delivered, 200u);
  EXPECT_EQ(p->stats().sampled, 200u);
  EXPECT_EQ(t->info().sampled, 200u * 16);
}

TEST(PrefetcherTest, TimeoutLosesNothing) {
  TableOptions o = DramOptions();
  o.rate_limiter = MinSize(5);
  auto t = Open(o);
  auto p = Start(t.get(), {.batch_size = 2, .capacity = 2});
  SampleBatch out;
  const absl::Status s = p->Next(&out, absl::Milliseconds(30));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(s.message(), HasSubstr("no batch within"));
  InsertIds(*t, 0, 5);
  ASSERT_TRUE(p->Next(&out, absl::Seconds(10)).ok());
  EXPECT_EQ(CheckRows(out).size(), 2u);
}

TEST(PrefetcherTest, InvalidOptions) {
  auto t = Open(DramOptions());
  auto invalid = [&](Table* table, PrefetchOptions o) {
    auto p = Prefetcher::Create(table, o);
    return p.status().code() == absl::StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(invalid(nullptr, {}));
  EXPECT_TRUE(invalid(t.get(), {.batch_size = 0}));
  EXPECT_TRUE(invalid(t.get(), {.capacity = 0}));
  EXPECT_TRUE(invalid(t.get(), {.threads = 0}));
  EXPECT_TRUE(invalid(t.get(), {.beta = std::nan("")}));
  EXPECT_TRUE(invalid(t.get(), {.beta = INFINITY}));
  EXPECT_TRUE(invalid(t.get(), {.poll = absl::ZeroDuration()}));
  EXPECT_TRUE(invalid(t.get(), {.poll = absl::InfiniteDuration()}));
  auto p = Start(t.get(), {.batch_size = 3, .capacity = 5, .threads = 2, .num_batches = 7});
  EXPECT_EQ(p->options().batch_size, 3u);
  EXPECT_EQ(p->options().capacity, 5u);
  EXPECT_EQ(p->options().threads, 2);
  EXPECT_EQ(p->options().num_batches, 7u);
  EXPECT_TRUE(absl::IsInvalidArgument(p->Next(nullptr)));
}

TEST(PrefetcherTest, BetaIsTheImportanceExponentOfEveryBatch) {
  TableOptions o = DramOptions();
  o.sampler = Prioritized(/*alpha=*/1.0, /*beta=*/0.4);
  auto t = Open(o);
  for (int i = 0; i < 20; ++i) InsertIds(*t, i, 1, /*priority=*/1.0 + i);
  SampleBatch out;
  {
    auto p = Start(t.get(), {.batch_size = 32, .beta = 0, .num_batches = 3});
    while (p->Next(&out, absl::Seconds(10)).ok())
      EXPECT_THAT(out.weights(), Each(DoubleNear(1.0, 1e-9)));
  }
  {
    auto p = Start(t.get(), {.batch_size = 32, .beta = 1, .num_batches = 3});
    while (p->Next(&out, absl::Seconds(10)).ok()) {
      // beta 1: w_i = (N P_i)^-1 / max_j (N P_j)^-1 = min_j P_j / P_i = min priority / p_i.
      for (size_t i = 0; i < out.size(); ++i) {
        EXPECT_NEAR(out.weights()[i], 1.0 / out.priorities()[i], 1e-5);
      }
    }
  }
}

TEST(PrefetcherTest, BuffersTheCallerStillHoldsAreNeverReused) {
  auto t = Open(DramOptions());
  InsertIds(*t, 0, 100);
  auto p = Start(t.get(), {.batch_size = 8, .capacity = 2, .threads = 2, .num_batches = 50});
  SampleBatch out;
  ASSERT_TRUE(p->Next(&out, absl::Seconds(10)).ok());
  // Keep the first batch's columns alive, as a tensor viewing them would.
  const std::shared_ptr<Buffer> kept = out.field("obs")->data;
  const std::vector<uint8_t> copy(kept->data(), kept->data() + kept->size());
  int batches = 1;
  while (p->Next(&out, absl::Seconds(10)).ok()) {
    ++batches;
    CheckRows(out);
    EXPECT_NE(out.field("obs")->data, kept);
  }
  EXPECT_EQ(batches, 50);
  EXPECT_EQ(std::vector<uint8_t>(kept->data(), kept->data() + kept->size()), copy);
}

// --- Tables with storage (the SSD tier's exact sampling mode)

enum class Fs { kMem, kPosix };

class PrefetcherTierTest : public ::testing::TestWithParam<Fs> {
 protected:
  void SetUp() override {
    if (GetParam() == Fs::kMem) {
      mem_ = NewMemEnv();
      env_ = mem_.get();
      dir_ = "/tier";
    } else {
      env_ = Env::Posix();
      // Per process: builds (Release, ASan, TSan) may run this test at the same time.
      dir_ = ::testing::TempDir() + "/strata_prefetcher_tier." + std::to_string(::getpid());
      std::filesystem::remove_all(dir_);
    }
  }
  void TearDown() override {
    if (GetParam() == Fs::kPosix) std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Env> mem_;
  Env* env_ = nullptr;
  std::string dir_;
};

TEST_P(PrefetcherTierTest, BatchesAreByteExactAndColdItemsAreRead) {
  auto t = Open(TieredOptions(env_, dir_, /*dram_items=*/8, /*max_items=*/400));
  InsertIds(*t, 0, 400);
  ASSERT_TRUE(t->Checkpoint().ok());  // every item written; all but ~8 are cold
  const TierInfo before = t->info().tier;
  auto p = Start(t.get(), {.batch_size = 32, .capacity = 4, .threads = 2, .num_batches = 40});
  SampleBatch out;
  int batches = 0;
  std::vector<int> seen(400, 0);
  absl::Status s;
  while ((s = p->Next(&out, absl::Seconds(30))).ok()) {
    ++batches;
    ASSERT_EQ(out.size(), 32u);
    for (int64_t id : CheckRows(out)) {
      ASSERT_TRUE(id >= 0 && id < 400) << id;
      ++seen[id];
    }
  }
  EXPECT_TRUE(absl::IsOutOfRange(s)) << s;
  EXPECT_EQ(batches, 40);
  const TierInfo after = t->info().tier;
  EXPECT_EQ((after.dram_hits + after.dram_misses) - (before.dram_hits + before.dram_misses),
            40u * 32);
  EXPECT_GT(after.dram_misses - before.dram_misses, 40u * 32 / 2);  // mostly cold
  EXPECT_GT(after.reads_completed, before.reads_completed);
  EXPECT_GT(after.read_bytes, before.read_bytes);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  std::cout << "reader: " << after.reader << ", max reads in flight " << after.max_reads_in_flight
            << "\n";
}

// Documents the staleness semantics: a batch is planned (items, probabilities, weights) when a
// worker samples it; a priority update that arrives while it is queued does not change it.
TEST_P(PrefetcherTierTest, PriorityUpdatesDoNotChangeQueuedBatches) {
  TableOptions o = TieredOptions(env_, dir_, /*dram_items=*/8, /*max_items=*/200);
  o.sampler = Prioritized(/*alpha=*/1.0, /*beta=*/1.0);
  auto t = Open(o);
  const std::vector<Key> keys = InsertIds(*t, 0, 200, /*priority=*/1.0);
  ASSERT_TRUE(t->Checkpoint().ok());
  auto p = Start(t.get(), {.batch_size = 16, .capacity = 3, .threads = 2});
  ASSERT_TRUE(Eventually([&] { return p->stats().queued == 3; }));  // so nothing is in flight
  // Raise the first half's priority to 9: from now on they are 9x as likely as the rest.
  const std::vector<Key> first_half(keys.begin(), keys.begin() + 100);
  ASSERT_EQ(*t->UpdatePriorities(first_half, std::vector<double>(100, 9.0)), 100u);
  SampleBatch out;
  for (int b = 0; b < 3; ++b) {  // planned before the update: uniform, priority 1, weight 1
    ASSERT_TRUE(p->Next(&out, absl::Seconds(30)).ok());
    CheckRows(out);
    EXPECT_THAT(out.priorities(), Each(1.0));
    for (double prob : out.probabilities()) EXPECT_NEAR(prob, 1.0 / 200, 1e-7);
    EXPECT_THAT(out.weights(), Each(DoubleNear(1.0, 1e-9)));
  }
  // Planned after it: P = 9/1000 for the first half, 1/1000 for the rest; weight = min P / P.
  int raised = 0;
  for (int b = 0; b < 3; ++b) {
    ASSERT_TRUE(p->Next(&out, absl::Seconds(30)).ok());
    const std::vector<int64_t> ids = CheckRows(out);
    for (size_t i = 0; i < out.size(); ++i) {
      const bool first = ids[i] < 100;
      raised += first;
      EXPECT_EQ(out.priorities()[i], first ? 9.0 : 1.0);
      EXPECT_NEAR(out.probabilities()[i], (first ? 9.0 : 1.0) / 1000, 1e-7);
      EXPECT_NEAR(out.weights()[i], first ? 1.0 / 9 : 1.0, 1e-6);
    }
  }
  EXPECT_GT(raised, 24);  // expected 43.2 of 48
}

// An item removed after its batch was planned is still delivered, byte-exact; its key is stale,
// so a later update reports it missing instead of applying it to whatever reuses the slot.
TEST_P(PrefetcherTierTest, ItemsRemovedAfterPlanningAreStillDelivered) {
  auto t = Open(TieredOptions(env_, dir_, /*dram_items=*/8, /*max_items=*/100));
  const std::vector<Key> keys = InsertIds(*t, 0, 100);
  ASSERT_TRUE(t->Checkpoint().ok());
  auto p = Start(t.get(), {.batch_size = 10, .capacity = 3, .threads = 2});
  ASSERT_TRUE(Eventually([&] { return p->stats().queued == 3; }));
  ASSERT_EQ(*t->Delete(keys), 100u);
  InsertIds(*t, 1000, 100);  // reuses the slots
  SampleBatch out;
  for (int b = 0; b < 3; ++b) {
    ASSERT_TRUE(p->Next(&out, absl::Seconds(30)).ok());
    for (int64_t id : CheckRows(out)) EXPECT_LT(id, 100);  // the removed items, as planned
    std::vector<size_t> missing;
    EXPECT_EQ(*t->UpdatePriorities(out.keys(), std::vector<double>(out.size(), 5.0), &missing), 0u);
    EXPECT_EQ(missing.size(), out.size());
  }
  ASSERT_TRUE(p->Next(&out, absl::Seconds(30)).ok());  // planned after the removal
  for (int64_t id : CheckRows(out)) EXPECT_GE(id, 1000);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

INSTANTIATE_TEST_SUITE_P(Envs, PrefetcherTierTest, ::testing::Values(Fs::kMem, Fs::kPosix),
                         [](const ::testing::TestParamInfo<Fs>& info) {
                           return info.param == Fs::kMem ? "Mem" : "Posix";
                         });

}  // namespace
}  // namespace strata
