// Checkpoints of tables larger than one copy chunk (docs/design.md, "Checkpointer"): the slots
// are copied a chunk per critical section while other threads insert, delete, update and sample,
// and the body written must still be one instant of the table — the decoder checks the free list
// against the generations and the selectors' states against the items, so a torn copy fails to
// open. And a quiet table checkpointed over many chunks resumes exactly (selector states kept).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "strata/env.h"
#include "strata/table.h"
#include "tier/file_io.h"
#include "util/mutex.h"
#include "util/random.h"

namespace strata {
namespace {

constexpr uint64_t kItems = 120'000;  // about four copy chunks of 32,768 slots

TableOptions Options(Env* env, const std::string& dir) {
  TableOptions o;
  o.name = "chunked";
  o.schema = *Schema::Builder().Fixed("id", DType::kI64).Score("loss").Build();
  o.max_items = kItems;
  o.sampler = Prioritized(0.6, 0.4);
  o.remover = Fifo();
  o.seed = 99;
  o.storage_dir = dir;
  o.env = env;
  o.dram_budget_bytes = kItems * 8;
  o.durability = Durability::kFlush;
  return o;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override { env_ = NewMemEnv(); }

  std::unique_ptr<Table> Open(const std::string& dir) {
    auto t = Table::Create(Options(env_.get(), dir));
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? std::move(*t) : nullptr;
  }
  // Inserts ids [first, first + n) in batches of `batch`; returns their keys.
  static std::vector<Key> Insert(Table& t, int64_t first, int64_t n, int64_t batch) {
    std::vector<Key> keys;
    for (int64_t done = 0; done < n;) {
      const int64_t m = std::min(batch, n - done);
      std::vector<int64_t> ids(m);
      std::vector<double> priorities(m);
      for (int64_t i = 0; i < m; ++i) {
        ids[i] = first + done + i;
        priorities[i] = 0.5 + static_cast<double>(ids[i] % 13);
      }
      ItemBatch b;
      b.Add("id", DType::kI64, {m}, ids.data()).set_priorities(priorities);
      const absl::Status s = t.Insert(b, &keys);
      EXPECT_TRUE(s.ok()) << s;
      if (!s.ok()) break;
      done += m;
    }
    return keys;
  }
  // Every file of `dir` but the lock; false if one vanished while it was read.
  bool ReadAll(const std::string& dir, std::map<std::string, std::string>* files) {
    files->clear();
    auto names = env_->GetChildren(dir);
    if (!names.ok()) return false;
    for (const std::string& name : *names) {
      if (name == "LOCK") continue;
      if (!internal::ReadWholeFile(env_.get(), dir + "/" + name, &(*files)[name]).ok()) {
        return false;
      }
    }
    return true;
  }
  // A copy of `from` as a crash would leave it, once its background writer is idle (compaction
  // may still delete emptied segments after the last call returned): two reads in a row agree.
  void CrashImage(const std::string& from, const std::string& to) {
    std::map<std::string, std::string> a, b;
    for (int tries = 0;; ++tries) {
      ASSERT_LT(tries, 200) << "the directory never settled";
      const bool first = ReadAll(from, &a);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (first && ReadAll(from, &b) && a == b) break;
    }
    ASSERT_TRUE(env_->CreateDirIfMissing(to).ok());
    for (const auto& [name, contents] : a) {
      auto f = env_->NewWritableFile(to + "/" + name, /*append=*/false);
      ASSERT_TRUE(f.ok()) << f.status();
      ASSERT_TRUE((*f)->Append(contents).ok());
      ASSERT_TRUE((*f)->Close().ok());
    }
  }
  // id of each key that names a live item, in key order (-1: not live).
  static std::vector<int64_t> Ids(Table& t, const std::vector<Key>& keys) {
    SampleBatch out;
    std::vector<size_t> missing;
    EXPECT_TRUE(t.Get(keys, &out, &missing).ok());
    std::vector<int64_t> ids(keys.size(), -1);
    size_t next = 0, m = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (m < missing.size() && missing[m] == i) {
        ++m;
        continue;
      }
      ids[i] = out.field(0).values<int64_t>()[next++];
    }
    return ids;
  }

  std::unique_ptr<Env> env_;
};

TEST_F(CheckpointTest, ChunkedCheckpointUnderConcurrentChangesOpensWithTheLiveItems) {
  std::unique_ptr<Table> t = Open("/live");
  ASSERT_TRUE(t);
  internal::Mutex mu;
  std::vector<Key> keys = Insert(*t, 0, kItems - 2000, 1024);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> next_id{static_cast<int64_t>(kItems)};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {  // inserts (the FIFO remover evicts the oldest once full)
    while (!stop) {
      std::vector<Key> more = Insert(*t, next_id.fetch_add(16), 16, 16);
      internal::MutexLock lock(&mu);
      keys.insert(keys.end(), more.begin(), more.end());
    }
  });
  threads.emplace_back([&] {  // deletes and priority and score updates
    internal::Rng rng(5);
    while (!stop) {
      std::vector<Key> some;
      {
        internal::MutexLock lock(&mu);
        for (int i = 0; i < 8; ++i) some.push_back(keys[rng.UniformInt(keys.size())]);
      }
      ASSERT_TRUE(t->Delete(absl::MakeConstSpan(some.data(), 1)).ok());
      std::vector<double> p = {1, 2, 3, 4, 5, 6};
      ASSERT_TRUE(t->UpdatePriorities(absl::MakeConstSpan(some.data() + 2, 6), p).ok());
      std::vector<float> loss = {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f};
      ASSERT_TRUE(t->UpdateScores("loss", absl::MakeConstSpan(some.data() + 2, 6), loss).ok());
      std::this_thread::sleep_for(std::chrono::microseconds(100));  // the table stays large
    }
  });
  threads.emplace_back([&] {  // samples
    SampleBatch out;
    while (!stop) ASSERT_TRUE(t->Sample({.batch_size = 64}, &out).ok());
  });
  // Checkpoints back to back until the other threads have made plenty of changes meanwhile.
  int checkpoints = 0;
  while (checkpoints < 4 || next_id < static_cast<int64_t>(kItems) + 16 * 300) {
    ASSERT_TRUE(t->Checkpoint().ok());
    ++checkpoints;
  }
  stop = true;
  for (std::thread& th : threads) th.join();
  // An insert waits for its write group, which comes after the tombstones queued before it.
  std::vector<Key> last = Insert(*t, next_id.fetch_add(1), 1, 1);
  keys.insert(keys.end(), last.begin(), last.end());
  CrashImage("/live", "/crash");
  std::unique_ptr<Table> copy = Open("/crash");
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->size(), t->size());
  EXPECT_EQ(Ids(*copy, keys), Ids(*t, keys));
  EXPECT_TRUE(copy->CheckInvariants().ok()) << copy->CheckInvariants();
  SampleBatch out;
  EXPECT_TRUE(copy->Sample({.batch_size = 256}, &out).ok());
}

TEST_F(CheckpointTest, QuietTableCheckpointedOverManyChunksResumesExactly) {
  std::unique_ptr<Table> resumed = Open("/resumed");
  std::unique_ptr<Table> carried = Open("/carried");
  ASSERT_TRUE(resumed && carried);
  for (Table* t : {resumed.get(), carried.get()}) {
    std::vector<Key> keys = Insert(*t, 0, kItems, 4096);
    // Holes in the free list, in no order, and changed priorities.
    internal::Rng rng(3);
    std::vector<Key> gone, changed;
    for (int i = 0; i < 5000; ++i) gone.push_back(keys[rng.UniformInt(keys.size())]);
    for (int i = 0; i < 5000; ++i) changed.push_back(keys[rng.UniformInt(keys.size())]);
    ASSERT_TRUE(t->Delete(gone).ok());
    ASSERT_TRUE(t->UpdatePriorities(changed, std::vector<double>(changed.size(), 40.0)).ok());
    SampleBatch out;
    ASSERT_TRUE(t->Sample({.batch_size = 512}, &out).ok());
  }
  ASSERT_TRUE(resumed->Checkpoint().ok());
  const TierInfo tier = resumed->info().tier;
  EXPECT_GE(tier.checkpoints, 1u);
  EXPECT_GT(tier.checkpoint_ms, 0.0);
  EXPECT_GT(tier.checkpoint_max_lock_us, 0.0);
  // Four chunks and a last section: no critical section lasts the whole checkpoint.
  EXPECT_LT(tier.checkpoint_max_lock_us, tier.checkpoint_ms * 1000);
  resumed->Close();
  resumed = Open("/resumed");
  ASSERT_TRUE(resumed);
  for (int round = 0; round < 20; ++round) {
    SampleBatch a, b;
    ASSERT_TRUE(resumed->Sample({.batch_size = 256}, &a).ok());
    ASSERT_TRUE(carried->Sample({.batch_size = 256}, &b).ok());
    ASSERT_EQ(a.keys(), b.keys()) << "round " << round;
    ASSERT_EQ(a.probabilities(), b.probabilities()) << "round " << round;
    std::vector<Key> more_a = Insert(*resumed, 1'000'000 + round * 7, 7, 7);
    std::vector<Key> more_b = Insert(*carried, 1'000'000 + round * 7, 7, 7);
    ASSERT_EQ(more_a, more_b) << "round " << round;  // the same slots reused, in the same order
  }
  EXPECT_TRUE(resumed->CheckInvariants().ok()) << resumed->CheckInvariants();
}

}  // namespace
}  // namespace strata
