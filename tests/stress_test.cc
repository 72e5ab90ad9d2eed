// Many writers, samplers, priority updaters and deleters on one table at once; the table's
// invariants must hold throughout and its accounting must add up at the end. Runs for
// STRATA_STRESS_SECONDS (default 2) and under TSan in scripts/test.
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "strata/table.h"

namespace strata {
namespace {

double StressSeconds() {
  const char* env = std::getenv("STRATA_STRESS_SECONDS");
  return env != nullptr ? std::atof(env) : 2.0;
}

struct Param {
  const char* name;
  SelectorOptions sampler;
  std::optional<SelectorOptions> remover;
  uint32_t max_times_sampled;
};

class StressTest : public ::testing::TestWithParam<Param> {};

TEST_P(StressTest, InvariantsHoldUnderConcurrentLoad) {
  const Param& param = GetParam();
  TableOptions o;
  o.name = param.name;
  o.schema = *Schema::Builder().Fixed("v", DType::kI64, {2}).Bytes("blob").Build();
  o.max_items = 512;
  o.sampler = param.sampler;
  o.remover = param.remover;
  o.max_times_sampled = param.max_times_sampled;
  // Sampling needs 64 items, so a batch of 16 distinct items (ordered samplers) always exists.
  o.rate_limiter = MinSize(64);
  auto table = Table::Create(o);
  ASSERT_TRUE(table.ok()) << table.status();
  Table& t = **table;

  const absl::Time end = absl::Now() + absl::Seconds(StressSeconds());
  std::atomic<bool> failed{false};
  std::mutex keys_mu;
  std::vector<Key> all_keys;  // every key ever returned by Insert
  std::atomic<uint64_t> deleted{0};

  auto writer = [&](int id) {
    std::vector<int64_t> v(16);
    std::vector<std::string> blobs(8);
    std::vector<std::string_view> views(8);
    std::vector<Key> keys;
    for (int64_t round = 0; absl::Now() < end && !failed; ++round) {
      for (int i = 0; i < 8; ++i) {
        v[2 * i] = id;
        v[2 * i + 1] = round * 8 + i;
        blobs[i].assign(static_cast<size_t>((round + i) % 64), static_cast<char>('a' + id));
        views[i] = blobs[i];
      }
      keys.clear();
      ItemBatch b;
      b.Add("v", DType::kI64, {8, 2}, v.data()).AddBytes("blob", views);
      if (!t.Insert(b, &keys).ok()) failed = true;
      std::lock_guard<std::mutex> l(keys_mu);
      all_keys.insert(all_keys.end(), keys.begin(), keys.end());
    }
  };
  auto sampler = [&] {
    SampleBatch out;
    while (absl::Now() < end && !failed) {
      const absl::Status s = t.Sample({.batch_size = 16, .timeout = absl::Milliseconds(50)}, &out);
      if (s.code() == absl::StatusCode::kDeadlineExceeded) continue;
      if (!s.ok()) {
        ADD_FAILURE() << s;
        failed = true;
        return;
      }
      // Payload and metadata must belong to the same item: the blob's letter is the writer id.
      auto v = out.field("v")->values<int64_t>();
      for (size_t i = 0; i < out.size(); ++i) {
        const std::string_view blob = out.field("blob")->bytes(i);
        if (!blob.empty() && blob[0] != static_cast<char>('a' + v[2 * i])) {
          ADD_FAILURE() << "torn item";
          failed = true;
        }
      }
    }
  };
  auto updater = [&] {
    SampleBatch out;
    uint64_t x = 1;
    while (absl::Now() < end && !failed) {
      if (!t.Sample({.batch_size = 8, .timeout = absl::Milliseconds(50)}, &out).ok()) continue;
      std::vector<double> p(out.size());
      for (double& d : p) d = static_cast<double>((x = x * 6364136223846793005ULL + 1) >> 40) / 1e5;
      if (!t.UpdatePriorities(out.keys(), p).ok()) failed = true;
    }
  };
  auto deleter = [&] {
    SampleBatch out;
    while (absl::Now() < end && !failed) {
      if (!t.Sample({.batch_size = 2, .timeout = absl::Milliseconds(50)}, &out).ok()) continue;
      auto n = t.Delete(out.keys());
      if (!n.ok())
        failed = true;
      else
        deleted += *n;
    }
  };
  auto checker = [&] {
    while (absl::Now() < end && !failed) {
      const absl::Status s = t.CheckInvariants();
      if (!s.ok()) {
        ADD_FAILURE() << s;
        failed = true;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(writer, i);
  for (int i = 0; i < 2; ++i) threads.emplace_back(sampler);
  threads.emplace_back(updater);
  threads.emplace_back(deleter);
  threads.emplace_back(checker);
  for (auto& th : threads) th.join();
  ASSERT_FALSE(failed);

  ASSERT_TRUE(t.CheckInvariants().ok()) << t.CheckInvariants();
  const TableInfo info = t.info();
  // Accounting: every insert is live, evicted, expired or deleted.
  EXPECT_EQ(info.inserted, all_keys.size());
  EXPECT_EQ(info.inserted, info.size + info.evicted + info.expired + info.deleted);
  EXPECT_EQ(info.deleted, deleted.load());
  // No duplicated keys, and exactly `size` of them still resolve.
  absl::flat_hash_set<Key> unique(all_keys.begin(), all_keys.end());
  EXPECT_EQ(unique.size(), all_keys.size());
  SampleBatch out;
  auto found = t.Get(all_keys, &out);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, info.size);
  EXPECT_GT(info.sampled, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Selectors, StressTest,
    ::testing::Values(Param{"uniform_fifo", Uniform(), Fifo(), 0},
                      Param{"prioritized_fifo", Prioritized(0.7, 0.5), Fifo(), 0},
                      Param{"prioritized_minheap", Prioritized(1.0, 0.4), MinHeap(), 0},
                      Param{"fifo_queue", Fifo(), Fifo(), 1},
                      Param{"group_balanced", GroupBalanced(), GroupBalanced(VictimOrder::kRandom),
                            3}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace strata
