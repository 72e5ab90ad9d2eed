// Crash loop: a child process inserts into a table with storage and reports every acknowledged
// insert to the parent over a pipe; the parent kill -9s it at a random moment, reopens the table
// and checks that every acknowledged item is back, byte-exact, and that nothing corrupt is ever
// returned. Then the next child carries on from the reopened directory. Many rounds, each at a
// different point of the child's work (inserting, mid-group-commit, rolling a segment,
// checkpointing). Two workloads: inserts with occasional checkpoints, and a churn workload that
// deletes most of what it inserts and checkpoints every round, so that kills land inside
// checkpoints and compactions (a deleted key may come back after a crash — deletions are
// durable at the next write group — but when it does, it is intact).
//
// STRATA_CRASH_ROUNDS overrides the number of rounds (default 25; CI keeps it short).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "strata/table.h"
#include "util/random.h"

namespace strata {
namespace {

constexpr int kDim = 30;  // 120-byte observation + 8-byte id

enum class Workload { kInsert, kChurn };

TableOptions Options(const std::string& dir, Durability durability, Workload workload) {
  TableOptions o;
  o.name = "crash";
  o.schema = *Schema::Builder().Fixed("obs", DType::kF32, {kDim}).Fixed("id", DType::kI64).Build();
  o.max_items = 1'000'000;
  o.sampler = Prioritized(0.6, 0.4);
  o.storage_dir = dir;
  o.dram_budget_bytes = 200 * o.schema.fixed_row_bytes();
  o.durability = durability;
  o.segment_bytes = 256 << 10;  // rolls often
  if (workload == Workload::kChurn) {
    o.segment_bytes = 64 << 10;
    o.compaction_live_ratio = 0.9;  // compacts nearly every sealed segment
    o.compaction_bytes_per_second = 0;
  }
  return o;
}

float Value(int64_t id, int j) { return static_cast<float>(id % 100000) + 0.001f * j; }

struct Ack {
  uint64_t key;
  int64_t id;  // kDeleted: the child deleted `key`
};
constexpr int64_t kDeleted = -1;

// The child: insert batches forever (until killed), acknowledging each batch on `fd`.
[[noreturn]] void RunChild(const std::string& dir, Durability durability, Workload workload,
                           int64_t first_id, uint64_t seed, int fd) {
  auto t = Table::Create(Options(dir, durability, workload));
  if (!t.ok()) {
    std::fprintf(stderr, "child: open failed: %s\n", std::string(t.status().message()).c_str());
    _exit(3);
  }
  internal::Rng rng(seed);
  int64_t id = first_id;
  std::vector<float> obs;
  std::vector<int64_t> ids;
  std::vector<Key> keys;
  for (uint64_t round = 0;; ++round) {
    const int n = 1 + static_cast<int>(rng.Next() % 200);
    obs.resize(static_cast<size_t>(n) * kDim);
    ids.resize(n);
    for (int i = 0; i < n; ++i) {
      ids[i] = id + i;
      for (int j = 0; j < kDim; ++j) obs[i * kDim + j] = Value(id + i, j);
    }
    ItemBatch b;
    b.Add("obs", DType::kF32, {n, kDim}, obs.data()).Add("id", DType::kI64, {n}, ids.data());
    keys.clear();
    const absl::Status s = (*t)->Insert(b, &keys);
    if (!s.ok()) {
      std::fprintf(stderr, "child: insert failed: %s\n", std::string(s.message()).c_str());
      _exit(4);
    }
    std::vector<Ack> acks(n);
    for (int i = 0; i < n; ++i) acks[i] = Ack{keys[i], id + i};
    // One write per batch (<= 200 * 16 bytes < PIPE_BUF): the parent never sees half a batch.
    if (::write(fd, acks.data(), acks.size() * sizeof(Ack)) < 0) _exit(5);
    id += n;
    // Also exercise the other writers: priority updates (in DRAM), checkpoints, sampling.
    if (round % 7 == 3) {
      std::vector<double> p(keys.size(), 1.0 + static_cast<double>(round % 5));
      (void)(*t)->UpdatePriorities(keys, p);
    }
    if (workload == Workload::kChurn) {
      // Delete three quarters of the batch, then checkpoint. The deletions are reported before
      // the call: once it has started, each of them may or may not survive a kill.
      std::vector<Key> gone;
      for (size_t i = 0; i < keys.size(); ++i) {
        if (i % 4 != 0) gone.push_back(keys[i]);
      }
      std::vector<Ack> dels;
      for (Key k : gone) dels.push_back(Ack{k, kDeleted});
      if (!dels.empty() && ::write(fd, dels.data(), dels.size() * sizeof(Ack)) < 0) _exit(5);
      if (!(*t)->Delete(gone).ok()) _exit(8);
      if (!(*t)->Checkpoint().ok()) _exit(6);
    } else if (round % 23 == 11 && !(*t)->Checkpoint().ok()) {
      _exit(6);
    }
    if (round % 5 == 0) {
      SampleBatch out;
      if (!(*t)->Sample(SampleOptions{.batch_size = 32, .timeout = absl::Seconds(10)}, &out).ok()) {
        _exit(7);
      }
    }
  }
}

class CrashLoopTest : public ::testing::TestWithParam<std::tuple<Durability, Workload>> {};

TEST_P(CrashLoopTest, EveryAcknowledgedInsertSurvivesKill9) {
  const auto [durability, workload] = GetParam();
  const std::string dir = absl::StrCat(::testing::TempDir(), "/strata_crash_",
                                       durability == Durability::kSync ? "sync_" : "flush_",
                                       workload == Workload::kChurn ? "churn_" : "", ::getpid());
  std::filesystem::remove_all(dir);
  int rounds = 25;
  if (const char* env = std::getenv("STRATA_CRASH_ROUNDS")) rounds = std::atoi(env);
  internal::Rng rng(42);
  std::map<uint64_t, int64_t> acked;    // key -> id, every acknowledged insert not deleted since
  std::map<uint64_t, int64_t> deleted;  // key -> id: deleted; may come back, intact
  int64_t next_id = 0;
  for (int round = 0; round < rounds; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      RunChild(dir, durability, workload, next_id, rng.Next(), fds[1]);
    }
    ::close(fds[1]);
    std::vector<char> buf;
    char chunk[4096];
    ssize_t got;
    // Most rounds kill the child 0..100 ms after its first acknowledged insert (so a loaded
    // machine still crashes it mid-work); every fifth round kills it at a random moment from its
    // start, which may be while it is still opening (recovering) the directory.
    if (round % 5 != 4) {
      got = ::read(fds[0], chunk, sizeof(chunk));
      if (got > 0) buf.insert(buf.end(), chunk, chunk + got);
      ::usleep(static_cast<useconds_t>(rng.Next() % 100000));
    } else {
      ::usleep(static_cast<useconds_t>(rng.Next() % 120000));
    }
    ::kill(pid, SIGKILL);
    // Drain everything it acknowledged before dying.
    while ((got = ::read(fds[0], chunk, sizeof(chunk))) > 0)
      buf.insert(buf.end(), chunk, chunk + got);
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status)
                                     << " before it was killed (round " << round << ")";
    ASSERT_EQ(buf.size() % sizeof(Ack), 0u);
    const size_t n = buf.size() / sizeof(Ack);
    for (size_t i = 0; i < n; ++i) {
      Ack a;
      std::memcpy(&a, buf.data() + i * sizeof(Ack), sizeof(Ack));
      if (a.id == kDeleted) {
        auto it = acked.find(a.key);
        if (it != acked.end()) {
          deleted[a.key] = it->second;
          acked.erase(it);
        }
        continue;
      }
      acked[a.key] = a.id;
      next_id = std::max(next_id, a.id + 1);
    }
    // Unacknowledged inserts may have survived too: ids continue above anything acknowledged,
    // and the parent learns the real ids from the rows.
    next_id += 1000;

    // Reopen and check.
    auto t = Table::Create(Options(dir, durability, workload));
    ASSERT_TRUE(t.ok()) << "round " << round << ": " << t.status();
    std::vector<Key> keys;
    for (const auto& [k, id] : acked) keys.push_back(k);
    SampleBatch out;
    std::vector<size_t> missing;
    auto found = (*t)->Get(keys, &out, &missing);
    ASSERT_TRUE(found.ok()) << "round " << round << ": " << found.status();
    ASSERT_TRUE(missing.empty()) << "round " << round << ": " << missing.size() << " of "
                                 << keys.size() << " acknowledged items are missing";
    const auto obs = out.field(0).values<float>();
    const auto ids = out.field(1).values<int64_t>();
    for (size_t i = 0; i < keys.size(); ++i) {
      ASSERT_EQ(ids[i], acked[keys[i]]) << "round " << round;
      for (int j = 0; j < kDim; ++j) ASSERT_EQ(obs[i * kDim + j], Value(ids[i], j));
    }
    // A deleted key that came back names its own item.
    std::vector<Key> dkeys;
    for (const auto& [k, id] : deleted) dkeys.push_back(k);
    ASSERT_TRUE((*t)->Get(dkeys, &out).ok());
    for (size_t i = 0; i < out.size(); ++i) {
      ASSERT_EQ(out.field(1).values<int64_t>()[i], deleted[out.keys()[i]]) << "round " << round;
    }
    // Whatever else is there (unacknowledged inserts that made it) must be intact too.
    ASSERT_GE((*t)->size(), keys.size());
    for (int s = 0; s < 4 && (*t)->size() > 0; ++s) {
      ASSERT_TRUE(
          (*t)->Sample(SampleOptions{.batch_size = 64, .timeout = absl::Seconds(10)}, &out).ok());
      const auto sobs = out.field(0).values<float>();
      const auto sids = out.field(1).values<int64_t>();
      for (size_t i = 0; i < out.size(); ++i) {
        for (int j = 0; j < kDim; ++j) ASSERT_EQ(sobs[i * kDim + j], Value(sids[i], j));
      }
    }
    ASSERT_TRUE((*t)->CheckInvariants().ok()) << (*t)->CheckInvariants();
    EXPECT_EQ((*t)->info().tier.corrupt_items, 0u);
    (*t)->Close();
  }
  std::printf("%d rounds, %zu acknowledged items checked after the last one (%zu deleted)\n",
              rounds, acked.size(), deleted.size());
  if (workload == Workload::kChurn) {
    // Compaction ran (and was killed in): nothing is evicted here, so the first segments are
    // gone only because compaction rewrote and dropped them.
    EXPECT_FALSE(std::filesystem::exists(dir + "/seg-000001.data"));
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Durability, CrashLoopTest,
                         ::testing::Combine(::testing::Values(Durability::kFlush,
                                                              Durability::kSync),
                                            ::testing::Values(Workload::kInsert, Workload::kChurn)),
                         [](const auto& info) {
                           return absl::StrCat(
                               std::get<0>(info.param) == Durability::kSync ? "Sync" : "Flush",
                               std::get<1>(info.param) == Workload::kChurn ? "Churn" : "");
                         });

}  // namespace
}  // namespace strata
