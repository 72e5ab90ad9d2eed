// Tables with storage (the SSD tier): round trips through segments, DRAM budget, reopen,
// durability after a simulated crash, fault injection, corruption, concurrency.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "env/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "strata/table.h"
#include "util/random.h"

namespace strata {
namespace {

using ::testing::HasSubstr;

constexpr int kDim = 16;  // 64-byte observation

// obs[j] = id * 1000 + j, id = the item's own int64 field: every row proves its own content.
Schema ItemSchema() {
  return *Schema::Builder()
              .Fixed("obs", DType::kF32, {kDim})
              .Fixed("id", DType::kI64)
              .Score("loss")
              .Build();
}

TableOptions Tiered(Env* env, const std::string& dir, uint64_t dram_items, uint64_t max_items) {
  TableOptions o;
  o.name = "tiered";
  o.schema = ItemSchema();
  o.max_items = max_items;
  o.storage_dir = dir;
  o.env = env;
  o.dram_budget_bytes = dram_items * o.schema.fixed_row_bytes();
  o.durability = Durability::kFlush;
  o.segment_bytes = 64 << 10;  // small, so tests cross segment boundaries
  return o;
}

std::unique_ptr<Table> Open(TableOptions o) {
  auto t = Table::Create(std::move(o));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? std::move(t).value() : nullptr;
}

absl::Status InsertIds(Table& t, int64_t first, int n, std::vector<Key>* keys,
                       std::vector<double> priorities = {}) {
  std::vector<float> obs(static_cast<size_t>(n) * kDim);
  std::vector<int64_t> ids(n);
  for (int i = 0; i < n; ++i) {
    ids[i] = first + i;
    for (int j = 0; j < kDim; ++j) obs[i * kDim + j] = static_cast<float>((first + i) * 1000 + j);
  }
  ItemBatch b;
  b.Add("obs", DType::kF32, {n, kDim}, obs.data()).Add("id", DType::kI64, {n}, ids.data());
  if (!priorities.empty()) b.set_priorities(priorities);
  return t.Insert(b, keys);
}

// Checks that every row of `b` is intact; returns the ids in order.
std::vector<int64_t> CheckRows(const SampleBatch& b) {
  std::vector<int64_t> ids;
  const auto obs = b.field(0).values<float>();
  const auto id = b.field(1).values<int64_t>();
  for (size_t i = 0; i < b.size(); ++i) {
    for (int j = 0; j < kDim; ++j) {
      EXPECT_EQ(obs[i * kDim + j], static_cast<float>(id[i] * 1000 + j)) << "row " << i;
    }
    ids.push_back(id[i]);
  }
  return ids;
}

// A directory of this process under the test temp dir (sanitizer builds may run concurrently).
std::string TempPath(const std::string& name) {
  return absl::StrCat(::testing::TempDir(), "/", name, "_", ::getpid());
}

class TierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = NewMemEnv();
    dir_ = "/tier";
  }
  std::unique_ptr<Env> mem_;
  std::string dir_;
};

TEST_F(TierTest, ItemsBeyondTheDramBudgetComeBackFromStorage) {
  auto t = Open(Tiered(mem_.get(), dir_, /*dram_items=*/10, /*max_items=*/1000));
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*t, 0, 300, &keys).ok());
  ASSERT_TRUE(t->Checkpoint().ok());  // all written
  TierInfo info = t->info().tier;
  EXPECT_TRUE(info.enabled);
  EXPECT_LE(info.dram_items, 10u);
  EXPECT_LE(info.dram_bytes, 10 * ItemSchema().fixed_row_bytes());
  EXPECT_EQ(info.stored_items, 300u);
  EXPECT_GT(info.demotions, 280u);
  SampleBatch out;
  auto got = t->Get(keys, &out);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(*got, 300u);
  std::vector<int64_t> ids = CheckRows(out);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(ids[i], i);
  info = t->info().tier;
  EXPECT_EQ(info.dram_hits + info.dram_misses, 300u);
  EXPECT_GE(info.dram_misses, 290u);
  EXPECT_EQ(info.reads_completed, info.dram_misses);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, UniformSamplingOverStorageIsUniformAndIntact) {
  auto t = Open(Tiered(mem_.get(), dir_, 8, 200));
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*t, 0, 200, &keys).ok());
  std::vector<int> count(200, 0);
  SampleBatch out;
  constexpr int kDraws = 200 * 100;
  for (int b = 0; b < kDraws / 100; ++b) {
    ASSERT_TRUE(t->Sample(SampleOptions{.batch_size = 100}, &out).ok());
    for (int64_t id : CheckRows(out)) ++count[id];
  }
  // Chi-square, 199 degrees of freedom: the 1e-4 critical value is about 284.
  double chi2 = 0;
  for (int c : count) chi2 += (c - 100.0) * (c - 100.0) / 100.0;
  EXPECT_LT(chi2, 284.0);
  EXPECT_GT(t->info().tier.dram_misses, 0u);
}

TEST_F(TierTest, BytesFieldsRoundTripThroughStorage) {
  TableOptions o = Tiered(mem_.get(), dir_, 4, 100);
  o.schema = *Schema::Builder().Fixed("id", DType::kI32).Bytes("blob").Bytes("note").Build();
  o.dram_budget_bytes = 4096;
  auto t = Open(o);
  std::vector<std::string> blobs;
  std::vector<std::string> notes;
  std::vector<Key> keys;
  for (int i = 0; i < 60; ++i) {
    blobs.push_back(
        std::string(static_cast<size_t>(i * 37 % 900), static_cast<char>('a' + i % 26)));
    notes.push_back(i % 3 == 0 ? "" : absl::StrCat("note ", i));
    const int32_t id = i;
    const std::string_view b[] = {blobs.back()};
    const std::string_view n[] = {notes.back()};
    ItemBatch batch;
    batch.Add("id", DType::kI32, {1}, &id).AddBytes("blob", b).AddBytes("note", n);
    ASSERT_TRUE(t->Insert(batch, &keys).ok());
  }
  ASSERT_TRUE(t->Checkpoint().ok());
  for (int round = 0; round < 2; ++round) {  // the second round reads what the first promoted
    SampleBatch out;
    ASSERT_EQ(*t->Get(keys, &out), 60u);
    for (int i = 0; i < 60; ++i) {
      EXPECT_EQ(out.field(0).values<int32_t>()[i], i);
      EXPECT_EQ(out.field(1).bytes(i), blobs[i]);
      EXPECT_EQ(out.field(2).bytes(i), notes[i]);
    }
  }
  // Both paths ran: DRAM hits copied as they are, cold records read and decoded.
  EXPECT_GT(t->info().tier.dram_misses, 0u);
  EXPECT_GT(t->info().tier.dram_hits, 0u);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, ReopenRestoresItemsKeysPrioritiesAndCounters) {
  TableOptions o = Tiered(mem_.get(), dir_, 10, 500);
  o.sampler = Prioritized(0.6, 0.4);
  std::vector<Key> keys;
  std::vector<double> prio(120);
  for (int i = 0; i < 120; ++i) prio[i] = 1.0 + i;
  {
    auto t = Open(o);
    ASSERT_TRUE(InsertIds(*t, 0, 120, &keys, prio).ok());
    // Change some priorities, delete some items, sample a little.
    std::vector<Key> upd(keys.begin(), keys.begin() + 10);
    std::vector<double> p(10, 500.0);
    ASSERT_EQ(*t->UpdatePriorities(upd, p), 10u);
    std::vector<Key> del(keys.begin() + 100, keys.end());
    ASSERT_EQ(*t->Delete(del), 20u);
    SampleBatch out;
    ASSERT_TRUE(t->Sample(SampleOptions{.batch_size = 5}, &out).ok());
    t->Close();
  }
  auto t = Open(o);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->size(), 100u);
  const TableInfo info = t->info();
  EXPECT_EQ(info.inserted, 120u);
  EXPECT_EQ(info.deleted, 20u);
  EXPECT_EQ(info.sampled, 5u);
  EXPECT_EQ(info.priority_updates, 10u);
  EXPECT_EQ(info.tier.recovered_items, 100u);
  SampleBatch out;
  std::vector<size_t> missing;
  ASSERT_EQ(*t->Get(keys, &out, &missing), 100u);
  EXPECT_EQ(missing.size(), 20u);  // the deleted keys stay stale
  std::vector<int64_t> ids = CheckRows(out);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(ids[i], i);
    EXPECT_EQ(out.priorities()[i], i < 10 ? 500.0 : 1.0 + i);
  }
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  // New items get new keys; old keys still name their items.
  std::vector<Key> more;
  ASSERT_TRUE(InsertIds(*t, 1000, 5, &more).ok());
  for (Key k : more) EXPECT_EQ(std::count(keys.begin(), keys.end(), k), 0);
  EXPECT_EQ(*t->Get(more, &out), 5u);
}

TEST_F(TierTest, ReopenAfterCrashKeepsEverySyncedInsert) {
  // kSync: an acknowledged insert survives power loss (FaultInjectionEnv::Crash drops every
  // byte not synced).
  internal::FaultInjectionEnv fault(mem_.get());
  TableOptions o = Tiered(&fault, dir_, 10, 1000);
  o.durability = Durability::kSync;
  std::vector<Key> keys;
  {
    auto t = Open(o);
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(InsertIds(*t, i * 5, 5, &keys).ok());
    ASSERT_TRUE(fault.Crash(internal::FaultInjectionEnv::CrashMode::kTornLastAppend, 7).ok());
    // The table dies with the "power": its Close cannot write any more.
  }
  auto t = Open(o);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->size(), 200u);
  SampleBatch out;
  ASSERT_EQ(*t->Get(keys, &out), 200u);
  std::vector<int64_t> ids = CheckRows(out);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(ids[i], i);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, ScanReadsEveryItemFromDramAndStorage) {
  auto t = Open(Tiered(mem_.get(), dir_, 10, 1000));
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*t, 0, 500, &keys).ok());
  std::vector<int64_t> ids;
  Table::ScanCursor cursor;
  while (!cursor.done) {
    SampleBatch out;
    auto n = t->Scan(&cursor, 100, &out);
    ASSERT_TRUE(n.ok()) << n.status();
    std::vector<int64_t> got = CheckRows(out);
    ids.insert(ids.end(), got.begin(), got.end());
  }
  ASSERT_EQ(ids.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(ids[i], i);
  EXPECT_GT(t->info().tier.dram_misses, 400u);  // most came from storage
}

// Items of a schema whose frames are stored zstd-compressed: id, then 4 frames of 32x32 u8 with
// a bright square whose place follows from the id (structure, as rendered observations have).
Schema CompressedSchema() {
  return *Schema::Builder()
              .Fixed("id", DType::kI64)
              .Fixed("frames", DType::kU8, {4, 32, 32}, Compression::kZstd)
              .Build();
}
uint8_t Pixel(int64_t id, int f, int y, int x) {
  const int cx = static_cast<int>((id * 7 + f) % 24);
  const int cy = static_cast<int>((id * 3 + f) % 24);
  return (x >= cx && x < cx + 8 && y >= cy && y < cy + 8) ? static_cast<uint8_t>(200 + f) : 0;
}
absl::Status InsertFrames(Table& t, int64_t first, int n) {
  std::vector<int64_t> ids(n);
  std::vector<uint8_t> frames(static_cast<size_t>(n) * 4096);
  for (int i = 0; i < n; ++i) {
    ids[i] = first + i;
    for (int f = 0; f < 4; ++f) {
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x)
          frames[i * 4096 + f * 1024 + y * 32 + x] = Pixel(ids[i], f, y, x);
      }
    }
  }
  ItemBatch b;
  b.Add("id", DType::kI64, {n}, ids.data())
      .Add("frames", DType::kU8, {n, 4, 32, 32}, frames.data());
  std::vector<Key> keys;
  return t.Insert(b, &keys);
}
// Every row's frames are the ones its id says; returns the ids.
std::vector<int64_t> CheckFrames(const SampleBatch& b) {
  std::vector<int64_t> ids;
  const auto id = b.field(0).values<int64_t>();
  const auto frames = b.field(1).values<uint8_t>();
  for (size_t i = 0; i < b.size(); ++i) {
    for (int f = 0; f < 4; ++f) {
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x) {
          if (frames[i * 4096 + f * 1024 + y * 32 + x] != Pixel(id[i], f, y, x)) {
            ADD_FAILURE() << "item " << id[i] << " frame " << f << " differs at " << y << "," << x;
            return ids;
          }
        }
      }
    }
    ids.push_back(id[i]);
  }
  return ids;
}
TableOptions CompressedOptions(Env* env, const std::string& dir, uint64_t dram_items) {
  TableOptions o = Tiered(env, dir, dram_items, 2000);
  o.schema = CompressedSchema();
  o.dram_budget_bytes = dram_items * o.schema.fixed_row_bytes();
  return o;
}

TEST_F(TierTest, CompressedFieldsRoundTripThroughStorageReopenAndCompaction) {
  auto t = Open(CompressedOptions(mem_.get(), dir_, 10));
  ASSERT_TRUE(InsertFrames(*t, 0, 1000).ok());
  ASSERT_TRUE(t->Checkpoint().ok());
  const TierInfo tier = t->info().tier;
  // 4 KiB of frames per item: stored at a small fraction of it.
  EXPECT_LT(tier.stored_bytes, 1000u * 4104 / 8) << tier.stored_bytes;
  SampleBatch out;
  ASSERT_TRUE(t->Sample({.batch_size = 1000, .replacement = false}, &out).ok());
  std::vector<int64_t> ids = CheckFrames(out);
  std::sort(ids.begin(), ids.end());
  ASSERT_EQ(ids.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(ids[i], i);
  EXPECT_GT(t->info().tier.dram_misses, 900u);
  t.reset();
  // Reopen: every record length comes back from the checkpoint.
  t = Open(CompressedOptions(mem_.get(), dir_, 10));
  ASSERT_EQ(t->size(), 1000u);
  ASSERT_TRUE(t->Sample({.batch_size = 1000, .replacement = false}, &out).ok());
  EXPECT_EQ(CheckFrames(out).size(), 1000u);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  // Delete most: compaction copies compressed records verbatim.
  Table::ScanCursor cursor;
  std::vector<Key> gone;
  while (!cursor.done) {
    ASSERT_TRUE(t->Scan(&cursor, 256, &out).ok());
    for (size_t i = 0; i < out.size(); ++i) {
      if (out.field(0).values<int64_t>()[i] % 5 != 0) gone.push_back(out.keys()[i]);
    }
  }
  ASSERT_TRUE(t->Delete(gone).ok());
  for (int i = 0; i < 200 && t->info().tier.segments_compacted == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GT(t->info().tier.segments_compacted, 0u);
  ASSERT_TRUE(t->Sample({.batch_size = 200, .replacement = false}, &out).ok());
  for (int64_t id : CheckFrames(out)) EXPECT_EQ(id % 5, 0);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, CompressedFieldsSwapIntoDram) {
  TableOptions o = CompressedOptions(mem_.get(), dir_, 50);
  o.tier_sampling = TierSampling::kResident;
  o.swap_ratio = 1.0;
  auto t = Open(o);
  ASSERT_TRUE(InsertFrames(*t, 0, 1000).ok());
  SampleBatch out;
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(t->Sample({.batch_size = 16}, &out).ok());
    CheckFrames(out);
    if (i % 10 == 0) absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_GT(t->info().tier.swaps, 0u);
  EXPECT_EQ(t->info().tier.corrupt_items, 0u);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST(TierSchemaTest, CompressionIsPartOfTheSchemaAndNeedsFixedOnlySchemas) {
  EXPECT_EQ(CompressedSchema().DebugString(), "{id: int64[], frames: uint8[4,32,32] zstd}");
  auto mixed =
      Schema::Builder().Fixed("frames", DType::kU8, {64}, Compression::kZstd).Bytes("blob").Build();
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mixed.status().message(), HasSubstr("schemas without bytes fields"));
}

TEST_F(TierTest, DurabilityNoneStartsEmpty) {
  TableOptions o = Tiered(mem_.get(), dir_, 10, 100);
  o.durability = Durability::kNone;
  {
    auto t = Open(o);
    std::vector<Key> keys;
    ASSERT_TRUE(InsertIds(*t, 0, 50, &keys).ok());
  }
  auto t = Open(o);
  EXPECT_EQ(t->size(), 0u);
}

TEST_F(TierTest, WrongSchemaOrSecondOpenIsRefused) {
  TableOptions o = Tiered(mem_.get(), dir_, 10, 100);
  auto t = Open(o);
  auto second = Table::Create(o);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  t.reset();
  TableOptions other = o;
  other.schema = *Schema::Builder().Fixed("obs", DType::kF64, {kDim}).Build();
  auto wrong = Table::Create(other);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(wrong.status().message(), HasSubstr("schema"));
}

TEST_F(TierTest, CloseReleasesTheDirectory) {
  TableOptions o = Tiered(mem_.get(), dir_, 10, 100);
  auto first = Open(o);
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*first, 0, 30, &keys).ok());
  first->Close();  // the object lives on, the directory is free
  auto second = Open(o);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->size(), 30u);
}

TEST_F(TierTest, ForeignFilesAreNeverTouched) {
  ASSERT_TRUE(mem_->CreateDirIfMissing(dir_).ok());
  {
    auto f = mem_->NewWritableFile(dir_ + "/thesis.tex", false);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("precious").ok());
  }
  for (Durability d : {Durability::kNone, Durability::kFlush}) {
    TableOptions o = Tiered(mem_.get(), dir_, 10, 100);
    o.durability = d;
    auto t = Table::Create(o);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(t.status().message(), HasSubstr("thesis.tex"));
  }
  EXPECT_TRUE(mem_->FileExists(dir_ + "/thesis.tex"));
}

TEST_F(TierTest, ReopenWithFewerItemsEvictsWithTheRemover) {
  TableOptions o = Tiered(mem_.get(), dir_, 10, 100);
  std::vector<Key> keys;
  {
    auto t = Open(o);
    ASSERT_TRUE(InsertIds(*t, 0, 100, &keys).ok());
  }
  o.max_items = 60;  // slots above 60 were used: refused, naming the limit
  auto refused = Table::Create(o);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("max_items"));
  o.max_items = 100;
  o.max_bytes = 40 * o.schema.fixed_row_bytes();
  auto t = Open(o);
  EXPECT_EQ(t->size(), 40u);
  SampleBatch out;
  ASSERT_EQ(*t->Get(std::vector<Key>(keys.begin() + 60, keys.end()), &out),
            40u);  // FIFO kept the newest
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, FullDiskRefusesInsertsKeepsTheTableAndRecovers) {
  internal::FaultInjectionEnv fault(mem_.get());
  TableOptions o = Tiered(&fault, dir_, 10, 1000);
  auto t = Open(o);
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*t, 0, 50, &keys).ok());
  fault.NoSpaceAfter(0);
  absl::Status s = InsertIds(*t, 50, 5, &keys);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  const size_t kept = t->size();  // items admitted before the failure stay (documented)
  EXPECT_GE(kept, 50u);
  EXPECT_THAT(s.message(), HasSubstr("seg-"));
  EXPECT_THAT(t->info().tier.storage_error, HasSubstr("seg-"));
  // Further inserts are refused while writes fail; what is stored stays readable.
  EXPECT_FALSE(InsertIds(*t, 60, 1, &keys).ok());
  SampleBatch out;
  ASSERT_EQ(*t->Get(std::vector<Key>(keys.begin(), keys.begin() + 50), &out), 50u);
  CheckRows(out);
  fault.ClearFaults();
  // The writer retries with backoff; inserts succeed again once it did.
  absl::Status again;
  for (int i = 0; i < 200; ++i) {
    std::vector<Key> k;
    again = InsertIds(*t, 100, 1, &k);
    if (again.ok()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(again.ok()) << again;
  EXPECT_EQ(t->info().tier.storage_error, "");
  ASSERT_TRUE(t->Checkpoint().ok());
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  // Items of the refused insert that were admitted stayed in DRAM and were written on the retry.
  EXPECT_EQ(t->size(), kept + 1);
  EXPECT_EQ(t->info().tier.stored_items, kept + 1);
}

TEST_F(TierTest, ReadErrorIsReportedAndTheTableStaysUsable) {
  internal::FaultInjectionEnv fault(mem_.get());
  auto t = Open(Tiered(&fault, dir_, 4, 100));
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*t, 0, 100, &keys).ok());
  fault.FailNth(internal::FaultInjectionEnv::Op::kRead, fault.reads() + 1,
                absl::DataLossError("injected EIO"));
  SampleBatch out;
  auto got = t->Get(keys, &out);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr("injected EIO"));
  ASSERT_EQ(*t->Get(keys, &out), 100u);
  CheckRows(out);
  EXPECT_EQ(t->size(), 100u);
}

TEST(TierPosixTest, CorruptRecordIsDataLossAndIsRemoved) {
  const std::string dir = TempPath("strata_tier_corrupt");
  std::filesystem::remove_all(dir);
  TableOptions o = Tiered(Env::Posix(), dir, 2, 100);
  auto t = Open(o);
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*t, 0, 20, &keys).ok());
  ASSERT_TRUE(t->Checkpoint().ok());
  // Flip one byte of the first record (item 0, long demoted) in the first segment.
  std::string seg;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".data") && (seg.empty() || name < seg)) seg = name;
  }
  const int fd = ::open((dir + "/" + seg).c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char c;
  ASSERT_EQ(::pread(fd, &c, 1, 10), 1);
  c ^= 0x40;
  ASSERT_EQ(::pwrite(fd, &c, 1, 10), 1);
  ::close(fd);
  SampleBatch out;
  auto got = t->Get(keys, &out);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr(absl::StrCat("key ", keys[0])));
  EXPECT_EQ(t->info().tier.corrupt_items, 1u);
  std::vector<size_t> missing;
  ASSERT_EQ(*t->Get(keys, &out, &missing), 19u);
  EXPECT_EQ(missing, std::vector<size_t>{0});
  CheckRows(out);
  t.reset();
  std::filesystem::remove_all(dir);
}

TEST(TierPosixTest, ReopenOnDiskWithIoUring) {
  const std::string dir = TempPath("strata_tier_reopen");
  std::filesystem::remove_all(dir);
  TableOptions o = Tiered(Env::Posix(), dir, 16, 5000);
  std::vector<Key> keys;
  {
    auto t = Open(o);
    ASSERT_TRUE(InsertIds(*t, 0, 3000, &keys).ok());
  }
  auto t = Open(o);
  ASSERT_EQ(t->size(), 3000u);
  SampleBatch out;
  ASSERT_EQ(*t->Get(keys, &out), 3000u);
  std::vector<int64_t> ids = CheckRows(out);
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(ids[i], i);
  const TierInfo info = t->info().tier;
  EXPECT_EQ(info.dram_misses, 3000u);
  EXPECT_GT(info.read_p50_us, 0);
  std::cout << "reader: " << info.reader << "\n";
  t.reset();
  std::filesystem::remove_all(dir);
}

// Waits (up to 10 s) until the writer thread's compaction has nothing left to do.
void AwaitCompaction(Table& t, uint64_t min_compacted) {
  uint64_t last = ~uint64_t{0};
  for (int i = 0; i < 500; ++i) {
    const TierInfo info = t.info().tier;
    if (info.segments_compacted >= min_compacted && info.segments_compacted == last) return;
    last = info.segments_compacted;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

TEST_F(TierTest, FifoEvictionDeletesDeadSegments) {
  TableOptions o = Tiered(mem_.get(), dir_, 10, 200);
  o.segment_bytes = 8 << 10;  // ~100 records
  o.compaction_bytes_per_second = 0;
  auto t = Open(o);
  std::vector<Key> keys;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(InsertIds(*t, i * 40, 40, &keys).ok());
  AwaitCompaction(*t, 10);
  const TierInfo info = t->info().tier;
  // 2000 records were written in ~25 segments; only the last 200 items are live.
  EXPECT_GE(info.segments_compacted, 10u);
  EXPECT_LE(info.segments, 6u);
  EXPECT_LT(info.disk_bytes, 8u * (8 << 10) + 2000 * 64 * 2);
  SampleBatch out;
  ASSERT_EQ(*t->Get(std::vector<Key>(keys.end() - 200, keys.end()), &out), 200u);
  std::vector<int64_t> ids = CheckRows(out);
  EXPECT_EQ(ids.front(), 1800);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, CompactionMovesLiveRecordsAndReopenFindsThem) {
  internal::FaultInjectionEnv fault(mem_.get());
  TableOptions o = Tiered(&fault, dir_, 10, 5000);
  o.segment_bytes = 16 << 10;
  o.compaction_bytes_per_second = 0;
  o.durability = Durability::kSync;
  auto t = Open(o);
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*t, 0, 2000, &keys).ok());
  // Delete 3 of every 4 items: every sealed segment drops to ~25% live.
  std::vector<Key> gone;
  std::vector<Key> kept;
  for (size_t i = 0; i < keys.size(); ++i) (i % 4 == 0 ? kept : gone).push_back(keys[i]);
  ASSERT_EQ(*t->Delete(gone), gone.size());
  const uint64_t disk_before = t->info().tier.disk_bytes;
  AwaitCompaction(*t, 5);
  TierInfo info = t->info().tier;
  EXPECT_GE(info.segments_compacted, 5u);
  EXPECT_GT(info.compaction_bytes_moved, 0u);
  EXPECT_EQ(info.compaction_progress, 0.0);  // idle again
  EXPECT_LT(info.disk_bytes, disk_before);
  SampleBatch out;
  ASSERT_EQ(*t->Get(kept, &out), kept.size());
  std::vector<int64_t> ids = CheckRows(out);
  for (size_t i = 0; i < kept.size(); ++i) EXPECT_EQ(ids[i], static_cast<int64_t>(4 * i));
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  // Power loss now: the relocations were synced, so every kept item comes back, none of the
  // deleted ones does.
  ASSERT_TRUE(fault.Crash().ok());
  t.reset();
  t = Open(o);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->size(), kept.size());
  std::vector<size_t> missing;
  ASSERT_EQ(*t->Get(kept, &out, &missing), kept.size());
  CheckRows(out);
  EXPECT_EQ(*t->Get(gone, &out), 0u);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

// Records padded to 4 KiB for O_DIRECT: a segment full of live 64-byte items is full, not 2%
// live; compaction must leave it alone (it once rewrote such segments over and over).
TEST_F(TierTest, PaddedRecordsAreNotCompactedWhileLive) {
  TableOptions o = Tiered(mem_.get(), dir_, 10, 2000);
  o.direct_io = true;  // MemEnv reads through its own path; the records are still padded
  o.segment_bytes = 256 << 10;
  o.compaction_bytes_per_second = 0;
  auto t = Open(o);
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*t, 0, 1000, &keys).ok());
  ASSERT_TRUE(t->Checkpoint().ok());
  absl::SleepFor(absl::Milliseconds(300));  // the writer compacts between groups
  const TierInfo info = t->info().tier;
  EXPECT_GT(info.segments, 10u);  // 1000 x 4 KiB over 256 KiB segments
  // Nothing copied (an empty segment left by the checkpoint's roll may be dropped).
  EXPECT_LE(info.segments_compacted, 1u);
  EXPECT_EQ(info.compaction_bytes_moved, 0u);
  EXPECT_EQ(info.reads_completed, 0u);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST(TierPosixTest, DirectIoReadsPageAlignedRecords) {
  const std::string dir = TempPath("strata_tier_direct");
  for (const bool one_field : {true, false}) {
    std::filesystem::remove_all(dir);
    TableOptions o;
    o.name = "direct";
    o.schema =
        one_field
            ? *Schema::Builder().Fixed("page", DType::kU8, {8192}).Build()
            : *Schema::Builder().Fixed("page", DType::kU8, {1000}).Fixed("id", DType::kI64).Build();
    o.max_items = 1000;
    o.storage_dir = dir;
    o.direct_io = true;
    o.dram_budget_bytes = 8 * o.schema.fixed_row_bytes();
    o.segment_bytes = 1 << 20;
    o.compaction_bytes_per_second = 0;
    std::vector<Key> keys;
    {
      auto t = Open(o);
      for (int b = 0; b < 10; ++b) {
        const int n = 30;
        const size_t row = one_field ? 8192 : 1000;
        std::vector<uint8_t> page(n * row);
        std::vector<int64_t> ids(n);
        for (int i = 0; i < n; ++i) {
          ids[i] = b * n + i;
          for (size_t j = 0; j < row; ++j) page[i * row + j] = static_cast<uint8_t>(ids[i] * 7 + j);
        }
        ItemBatch batch;
        batch.Add("page", DType::kU8, {n, static_cast<int64_t>(row)}, page.data());
        if (!one_field) batch.Add("id", DType::kI64, {n}, ids.data());
        ASSERT_TRUE(t->Insert(batch, &keys).ok());
      }
    }
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() == ".data") {
        EXPECT_EQ(e.file_size() % 4096, 0u) << e.path();
      }
    }
    auto t = Open(o);
    for (int round = 0; round < 2; ++round) {
      SampleBatch out;
      ASSERT_EQ(*t->Get(keys, &out), 300u);
      const size_t row = one_field ? 8192 : 1000;
      const auto page = out.field(0).values<uint8_t>();
      for (size_t i = 0; i < 300; ++i) {
        for (size_t j = 0; j < row; j += 97) {
          ASSERT_EQ(page[i * row + j], static_cast<uint8_t>(i * 7 + j)) << one_field << " " << i;
        }
      }
      // Delete most items so compaction rewrites aligned records, then read again.
      if (round == 0) {
        std::vector<Key> gone;
        for (size_t i = 0; i < keys.size(); ++i) {
          if (i % 3 != 0) gone.push_back(keys[i]);
        }
        ASSERT_EQ(*t->Delete(gone), gone.size());
        AwaitCompaction(*t, 1);
        std::vector<Key> kept;
        for (size_t i = 0; i < keys.size(); i += 3) kept.push_back(keys[i]);
        ASSERT_EQ(*t->Get(kept, &out), kept.size());
        const auto p2 = out.field(0).values<uint8_t>();
        for (size_t i = 0; i < kept.size(); ++i) {
          ASSERT_EQ(p2[i * row + 5], static_cast<uint8_t>(3 * i * 7 + 5));
        }
        break;
      }
    }
    EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  }
  std::filesystem::remove_all(dir);
}

absl::Status InsertGrouped(Table& t, int64_t first, int n, std::vector<Key>* keys,
                           const std::function<int32_t(int64_t)>& group_of,
                           const std::function<float(int64_t)>& loss_of = nullptr) {
  std::vector<float> obs(static_cast<size_t>(n) * kDim);
  std::vector<int64_t> ids(n);
  std::vector<int32_t> groups(n);
  std::vector<float> loss(n);
  for (int i = 0; i < n; ++i) {
    ids[i] = first + i;
    groups[i] = group_of(first + i);
    loss[i] = loss_of ? loss_of(first + i) : 0.0f;
    for (int j = 0; j < kDim; ++j) obs[i * kDim + j] = static_cast<float>((first + i) * 1000 + j);
  }
  ItemBatch b;
  b.Add("obs", DType::kF32, {n, kDim}, obs.data()).Add("id", DType::kI64, {n}, ids.data());
  b.set_groups(groups);
  if (loss_of) b.AddScores("loss", loss);
  return t.Insert(b, keys);
}

TEST_F(TierTest, ResidentModeSwapsWithinTheGroupAndNeverReadsStorage) {
  TableOptions o = Tiered(mem_.get(), dir_, 20, 1000);
  o.tier_sampling = TierSampling::kResident;
  o.swap_ratio = 1.0;
  o.swap_interval = 1;
  auto t = Open(o);
  std::vector<Key> keys;
  // 190 items of group 0, then 10 of group 1: DRAM holds the newest 20, 10 of each group.
  ASSERT_TRUE(InsertGrouped(*t, 0, 200, &keys, [](int64_t id) { return id >= 190 ? 1 : 0; }).ok());
  ASSERT_TRUE(t->Checkpoint().ok());
  std::set<int64_t> seen0;
  int group1 = 0;
  int total = 0;
  SampleBatch out;
  for (int b = 0; b < 400; ++b) {
    ASSERT_TRUE(t->Sample(SampleOptions{.batch_size = 8}, &out).ok());
    for (int64_t id : CheckRows(out)) {
      ++total;
      if (id >= 190) {
        ++group1;
      } else {
        seen0.insert(id);
      }
    }
    // Let the swapper keep up (a swap it cannot take in time is skipped, by design).
    absl::SleepFor(absl::Microseconds(500));
  }
  const TierInfo info = t->info().tier;
  EXPECT_EQ(info.dram_misses, 0u);  // sampling never touched storage
  EXPECT_GT(info.swaps, 100u) << info.swaps_skipped << " skipped";
  EXPECT_LE(info.dram_items, 20u);
  // Group 0's DRAM share rotated through its stored items ...
  EXPECT_GT(seen0.size(), 80u);
  // ... while each group kept its 10 frames: group 1 is still half of what is sampled.
  // Binomial(3200, 0.5): sd ~ 28; 5 sd.
  EXPECT_NEAR(group1, total / 2, 150);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, ResidentSwapsKeepBytesFieldsIntact) {
  TableOptions o = Tiered(mem_.get(), dir_, 4, 200);
  o.schema = *Schema::Builder().Fixed("id", DType::kI32).Bytes("blob").Build();
  o.dram_budget_bytes = 16 * 1024;
  o.tier_sampling = TierSampling::kResident;
  o.swap_ratio = 1.0;
  auto t = Open(o);
  auto blob_of = [](int i) {
    return std::string(static_cast<size_t>(100 + i * 13 % 700), 'a' + i % 26);
  };
  std::vector<Key> keys;
  for (int i = 0; i < 150; ++i) {
    const int32_t id = i;
    const std::string blob = blob_of(i);
    const std::string_view v[] = {blob};
    ItemBatch b;
    b.Add("id", DType::kI32, {1}, &id).AddBytes("blob", v);
    ASSERT_TRUE(t->Insert(b, &keys).ok());
  }
  ASSERT_TRUE(t->Checkpoint().ok());
  SampleBatch out;
  for (int round = 0; round < 200; ++round) {
    ASSERT_TRUE(t->Sample(SampleOptions{.batch_size = 8}, &out).ok());
    for (size_t i = 0; i < out.size(); ++i) {
      const int id = out.field(0).values<int32_t>()[i];
      ASSERT_EQ(out.field(1).bytes(i), blob_of(id)) << "id " << id;
    }
    absl::SleepFor(absl::Microseconds(300));
  }
  EXPECT_GT(t->info().tier.swaps, 0u);
  EXPECT_EQ(t->info().tier.dram_misses, 0u);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, ScoreSwapKeepsHardItemsInDram) {
  TableOptions o = Tiered(mem_.get(), dir_, 20, 1000);
  o.tier_sampling = TierSampling::kResident;
  o.swap_ratio = 0.5;
  o.swap_policy = SwapPolicy::kScore;
  o.swap_score_column = "loss";
  auto t = Open(o);
  std::vector<Key> keys;
  // loss = id % 100: the newest 20 (resident at first) have losses 80..99 and 0..19 mixed.
  ASSERT_TRUE(InsertGrouped(
                  *t, 0, 300, &keys, [](int64_t) { return 0; },
                  [](int64_t id) { return static_cast<float>((id * 37) % 100); })
                  .ok());
  ASSERT_TRUE(t->Checkpoint().ok());
  SampleBatch out;
  auto mean_loss = [&] {
    double sum = 0;
    int n = 0;
    for (int b = 0; b < 20; ++b) {
      EXPECT_TRUE(t->Sample(SampleOptions{.batch_size = 10}, &out).ok());
      for (int64_t id : CheckRows(out)) {
        sum += (id * 37) % 100;
        ++n;
      }
    }
    return sum / n;
  };
  // DRAM starts with the newest 20 items (ids 280..299).
  double before = 0;
  for (int64_t id = 280; id < 300; ++id) before += (id * 37) % 100 / 20.0;
  for (int b = 0; b < 300; ++b) {
    ASSERT_TRUE(t->Sample(SampleOptions{.batch_size = 10}, &out).ok());
    if (b % 10 == 0) absl::SleepFor(absl::Milliseconds(2));
  }
  const double after = mean_loss();
  EXPECT_GT(t->info().tier.swaps, 100u);
  // Low-loss items go out, the best of 4 random stored candidates comes in: the resident mean
  // climbs toward the top of 0..99.
  EXPECT_GT(after, before + 15) << before << " -> " << after;
  EXPECT_GT(after, 70);
}

TEST_F(TierTest, ResidentModeWarmsUpAfterReopen) {
  TableOptions o = Tiered(mem_.get(), dir_, 16, 1000);
  o.tier_sampling = TierSampling::kResident;
  std::vector<Key> keys;
  {
    auto t = Open(o);
    ASSERT_TRUE(InsertIds(*t, 0, 100, &keys).ok());
  }
  auto t = Open(o);
  SampleBatch out;
  // Every item starts on storage; the maintenance thread loads 16 into DRAM, Sample waits.
  ASSERT_TRUE(
      t->Sample(SampleOptions{.batch_size = 16, .replacement = false, .timeout = absl::Seconds(10)},
                &out)
          .ok());
  CheckRows(out);
  EXPECT_EQ(t->info().tier.dram_misses, 0u);
  for (int i = 0; i < 100 && t->info().tier.dram_items < 16; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(t->info().tier.dram_items, 16u);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

// Polls until `done(info)` holds (up to 10 s); returns the last TierInfo.
TierInfo AwaitTier(Table& t, const std::function<bool(const TierInfo&)>& done) {
  TierInfo info = t.info().tier;
  for (int i = 0; i < 1000 && !done(info); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    info = t.info().tier;
  }
  return info;
}

// Per group: DRAM copies; true when they are all within one of each other and sum to `total`.
bool Balanced(const TierInfo& info, uint64_t total) {
  uint64_t lo = ~uint64_t{0}, hi = 0, sum = 0;
  for (const TierInfo::Group& g : info.groups) {
    lo = std::min(lo, g.dram_items);
    hi = std::max(hi, g.dram_items);
    sum += g.dram_items;
  }
  return !info.groups.empty() && hi <= lo + 1 && sum == total;
}

std::string GroupsString(const TierInfo& info) {
  std::string s;
  for (const TierInfo::Group& g : info.groups) {
    absl::StrAppend(&s, g.group, ":", g.dram_items, "/", g.items, " ");
  }
  return s;
}

// Classes arriving task after task (as in class-incremental learning) end up sharing DRAM
// equally; sampling then sees every class at the same rate.
TEST_F(TierTest, GroupBalancedPlacementSharesDramEquallyAcrossClasses) {
  TableOptions o = Tiered(mem_.get(), dir_, 30, 4000);
  o.tier_sampling = TierSampling::kResident;
  o.placement = Placement::kGroupBalanced;
  auto t = Open(o);
  std::vector<Key> keys;
  for (int task = 0; task < 3; ++task) {
    ASSERT_TRUE(InsertGrouped(*t, task * 1000, 1000, &keys, [](int64_t id) {
                  return static_cast<int32_t>(id / 1000);
                }).ok());
  }
  ASSERT_TRUE(t->Checkpoint().ok());
  const TierInfo info = AwaitTier(*t, [](const TierInfo& i) { return Balanced(i, 30); });
  ASSERT_TRUE(Balanced(info, 30)) << GroupsString(info);
  ASSERT_EQ(info.groups.size(), 3u);
  for (const TierInfo::Group& g : info.groups) EXPECT_EQ(g.items, 1000u);
  std::map<int64_t, int> per_group;
  SampleBatch out;
  for (int b = 0; b < 100; ++b) {
    ASSERT_TRUE(t->Sample(SampleOptions{.batch_size = 30}, &out).ok());
    for (int64_t id : CheckRows(out)) ++per_group[id / 1000];
  }
  // 3000 uniform draws over 10 + 10 + 10 items: Binomial(3000, 1/3) per group, sd ~26; 5 sd.
  for (int g = 0; g < 3; ++g) EXPECT_NEAR(per_group[g], 1000, 130) << "group " << g;
  EXPECT_EQ(t->info().tier.dram_misses, 0u);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, GroupBalancedCountsSurviveEvictionAndReopen) {
  TableOptions o = Tiered(mem_.get(), dir_, 20, 500);
  o.tier_sampling = TierSampling::kResident;
  o.placement = Placement::kGroupBalanced;
  o.remover = GroupBalanced();  // evicts class-balanced too
  std::vector<Key> keys;
  auto per_group_items = [](const TierInfo& info) {
    std::map<int32_t, uint64_t> m;
    for (const TierInfo::Group& g : info.groups) m[g.group] = g.items;
    return m;
  };
  const std::map<int32_t, uint64_t> expected = {{0, 125}, {1, 125}, {2, 125}, {3, 125}};
  {
    auto t = Open(o);
    ASSERT_TRUE(InsertGrouped(*t, 0, 1000, &keys, [](int64_t id) {
                  return static_cast<int32_t>(id / 250);
                }).ok());
    EXPECT_EQ(t->size(), 500u);
    EXPECT_EQ(per_group_items(t->info().tier), expected);
    EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  }
  auto t = Open(o);
  EXPECT_EQ(per_group_items(t->info().tier), expected);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, ResizeShrinksAndGrowsDramKeepingClassesBalanced) {
  TableOptions o = Tiered(mem_.get(), dir_, 30, 4000);
  o.tier_sampling = TierSampling::kResident;
  o.placement = Placement::kGroupBalanced;
  const uint64_t row = o.schema.fixed_row_bytes();
  o.max_dram_budget_bytes = 60 * row;
  auto t = Open(o);
  std::vector<Key> keys;
  ASSERT_TRUE(InsertGrouped(*t, 0, 3000, &keys, [](int64_t id) {
                return static_cast<int32_t>(id % 3);
              }).ok());
  ASSERT_TRUE(t->Checkpoint().ok());
  ASSERT_TRUE(Balanced(AwaitTier(*t, [](const TierInfo& i) { return Balanced(i, 30); }), 30));

  ASSERT_TRUE(t->Resize(4000, 9 * row).ok());
  TierInfo info = t->info().tier;
  EXPECT_EQ(info.dram_budget_bytes, 9 * row);
  EXPECT_LE(info.dram_bytes, 9 * row);
  info = AwaitTier(*t, [](const TierInfo& i) { return Balanced(i, 9); });
  EXPECT_TRUE(Balanced(info, 9)) << GroupsString(info);  // 3 + 3 + 3

  ASSERT_TRUE(t->Resize(4000, 60 * row).ok());  // refilled from storage in the background
  info = AwaitTier(*t, [](const TierInfo& i) { return Balanced(i, 60); });
  EXPECT_TRUE(Balanced(info, 60)) << GroupsString(info);  // 20 + 20 + 20
  EXPECT_EQ(info.dram_items, 60u);
  SampleBatch out;
  ASSERT_TRUE(t->Sample(SampleOptions{.batch_size = 60, .replacement = false}, &out).ok());
  const std::vector<int64_t> ids = CheckRows(out);
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), 60u);

  // Out of range: nothing changes.
  EXPECT_THAT(t->Resize(4000, 61 * row).message(), HasSubstr("max_dram_budget_bytes"));
  EXPECT_THAT(t->Resize(4000, row - 1).message(), HasSubstr("dram_budget_bytes must be in"));
  EXPECT_THAT(t->Resize(4001).message(), HasSubstr("max_items must be in [1, 4000]"));
  EXPECT_EQ(t->info().tier.dram_budget_bytes, 60 * row);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST(TableResizeTest, MaxItemsShrinksWithTheRemoverAndGrowsBackToCapacity) {
  TableOptions o;
  o.schema = ItemSchema();
  o.max_items = 100;
  auto t = Open(o);
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*t, 0, 100, &keys).ok());
  ASSERT_TRUE(t->Resize(40).ok());
  EXPECT_EQ(t->size(), 40u);
  EXPECT_EQ(t->info().evicted, 60u);
  EXPECT_EQ(t->info().max_items, 40u);
  std::vector<size_t> missing;
  SampleBatch out;
  ASSERT_TRUE(t->Get(keys, &out, &missing).ok());
  EXPECT_EQ(missing.size(), 60u);  // FIFO remover: the oldest 60 went
  EXPECT_EQ(CheckRows(out).front(), 60);
  ASSERT_TRUE(InsertIds(*t, 100, 20, &keys).ok());
  EXPECT_EQ(t->size(), 40u);
  ASSERT_TRUE(t->Resize(100).ok());
  ASSERT_TRUE(InsertIds(*t, 200, 60, &keys).ok());
  EXPECT_EQ(t->size(), 100u);
  EXPECT_THAT(t->Resize(0).message(), HasSubstr("max_items must be in [1, 100]"));
  EXPECT_THAT(t->Resize(50, 4096).message(), HasSubstr("storage_dir only"));
  EXPECT_EQ(t->size(), 100u);

  o.remover = std::nullopt;
  auto strict = Open(o);
  ASSERT_TRUE(InsertIds(*strict, 0, 10, &keys).ok());
  EXPECT_THAT(strict->Resize(5).message(), HasSubstr("no remover"));
  EXPECT_EQ(strict->size(), 10u);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, DeleteTaskRemovesItsItemsAndSurvivesReopen) {
  TableOptions o = Tiered(mem_.get(), dir_, 10, 1000);
  std::vector<Key> keys;
  auto insert_task = [&](Table& t, int64_t first, int n, int32_t task) {
    std::vector<float> obs(static_cast<size_t>(n) * kDim);
    std::vector<int64_t> ids(n);
    std::vector<int32_t> tasks(n, task);
    for (int i = 0; i < n; ++i) {
      ids[i] = first + i;
      for (int j = 0; j < kDim; ++j) obs[i * kDim + j] = static_cast<float>((first + i) * 1000 + j);
    }
    ItemBatch b;
    b.Add("obs", DType::kF32, {n, kDim}, obs.data()).Add("id", DType::kI64, {n}, ids.data());
    b.set_tasks(tasks);
    return t.Insert(b, &keys);
  };
  {
    auto t = Open(o);
    ASSERT_TRUE(insert_task(*t, 0, 50, 0).ok());
    ASSERT_TRUE(insert_task(*t, 50, 30, 1).ok());
    ASSERT_TRUE(insert_task(*t, 80, 20, 0).ok());
    EXPECT_EQ(*t->DeleteTask(1), 30u);
    EXPECT_EQ(*t->DeleteTask(7), 0u);
    EXPECT_EQ(t->size(), 70u);
    EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  }
  auto t = Open(o);  // the deletions were written as tombstones
  EXPECT_EQ(t->size(), 70u);
  SampleBatch out;
  ASSERT_TRUE(
      t->Sample(SampleOptions{.batch_size = 70, .replacement = false, .timeout = absl::Seconds(10)},
                &out)
          .ok());
  for (int64_t id : CheckRows(out)) EXPECT_TRUE(id < 50 || id >= 80) << id;
}

TEST_F(TierTest, SetSwapChangesTheRateOnTheLiveTable) {
  TableOptions exact = Tiered(mem_.get(), dir_, 20, 1000);
  {
    auto t = Open(exact);
    EXPECT_THAT(t->SetSwap(0.5, 1).message(), HasSubstr("kResident"));
  }
  TableOptions o = Tiered(mem_.get(), "/tier2", 20, 1000);
  o.tier_sampling = TierSampling::kResident;
  o.swap_ratio = 1.0;
  auto t = Open(o);
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*t, 0, 200, &keys).ok());
  ASSERT_TRUE(t->Checkpoint().ok());
  EXPECT_THAT(t->SetSwap(1.5, 1).message(), HasSubstr("[0, 1]"));
  EXPECT_THAT(t->SetSwap(0.5, 0).message(), HasSubstr("interval"));
  SampleBatch out;
  auto requested_over = [&](int batches) {
    const uint64_t before = t->info().tier.swaps_requested;
    for (int b = 0; b < batches; ++b) {
      EXPECT_TRUE(t->Sample(SampleOptions{.batch_size = 10}, &out).ok());
    }
    return t->info().tier.swaps_requested - before;
  };
  EXPECT_EQ(requested_over(40), 400u);  // ratio 1, every batch
  ASSERT_TRUE(t->SetSwap(0.5, 2).ok());
  EXPECT_EQ(t->info().tier.swap_ratio, 0.5);
  EXPECT_EQ(t->info().tier.swap_interval, 2u);
  // Every 2nd batch, 5 of 10 items (exactly: 0.5 * 10 needs no rounding).
  EXPECT_EQ(requested_over(40), 100u);
  ASSERT_TRUE(t->SetSwap(0, 1).ok());
  EXPECT_EQ(requested_over(40), 0u);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(TierTest, PriorityPlacementPromotesRisingItems) {
  TableOptions o = Tiered(mem_.get(), dir_, 10, 1000);
  o.placement = Placement::kPriority;
  auto t = Open(o);
  std::vector<Key> keys;
  std::vector<double> prio(100);
  for (int i = 0; i < 100; ++i) prio[i] = 1.0 + i;
  ASSERT_TRUE(InsertIds(*t, 0, 100, &keys, prio).ok());
  ASSERT_TRUE(t->Checkpoint().ok());
  // Items 0..9 become the most important: they should move into DRAM in the background.
  std::vector<Key> first(keys.begin(), keys.begin() + 10);
  ASSERT_EQ(*t->UpdatePriorities(first, std::vector<double>(10, 1000.0)), 10u);
  for (int i = 0; i < 200 && t->info().tier.promotions < 10; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GE(t->info().tier.promotions, 10u);
  const uint64_t misses = t->info().tier.dram_misses;
  SampleBatch out;
  ASSERT_EQ(*t->Get(first, &out), 10u);
  CheckRows(out);
  EXPECT_EQ(t->info().tier.dram_misses, misses);  // all 10 served from DRAM
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

// Score residency (Placement::kScore): DRAM keeps the highest values of a score column. Under
// sampling proportional to that score, its DRAM hit rate is the score mass of the top
// dram_items items, against the mass of whatever items `recent` happens to keep.
TEST_F(TierTest, ScorePlacementBeatsRecentUnderScoreProportionalSampling) {
  constexpr int kItems = 2000;
  constexpr int kDram = 200;
  // Zipf-like importance, 1 / rank, in an order unrelated to insertion.
  std::vector<int> rank(kItems);
  for (int i = 0; i < kItems; ++i) rank[i] = i;
  internal::Rng rng(11);
  for (int i = kItems - 1; i > 0; --i) std::swap(rank[i], rank[rng.UniformInt(i + 1)]);
  std::vector<double> score(kItems);
  double total = 0;
  for (int i = 0; i < kItems; ++i) total += score[i] = 1.0 / (rank[i] + 1);
  double top_mass = 0;  // what score placement keeps: ranks 0..kDram-1
  for (int r = 0; r < kDram; ++r) top_mass += 1.0 / (r + 1) / total;
  double recent_mass = 0;  // what recent keeps: the last kDram inserted
  for (int i = kItems - kDram; i < kItems; ++i) recent_mass += score[i] / total;
  ASSERT_GT(top_mass, recent_mass + 0.3);  // ~0.72 vs ~0.1 (this seed)

  auto hit_rate = [&](Placement placement) {
    auto mem = NewMemEnv();
    TableOptions o = Tiered(mem.get(), "/score", kDram, kItems);
    o.placement = placement;
    o.placement_score_column = "loss";
    o.sampler = Prioritized(/*alpha=*/1.0, /*beta=*/0.0);
    o.seed = 5;
    auto t = Open(o);
    std::vector<Key> keys;
    EXPECT_TRUE(InsertIds(*t, 0, kItems, &keys, score).ok());
    std::vector<float> loss(score.begin(), score.end());
    EXPECT_EQ(*t->UpdateScores("loss", keys, loss), static_cast<size_t>(kItems));
    EXPECT_TRUE(t->Checkpoint().ok());  // every record written: every copy may move
    // Let the maintenance thread converge (score placement promotes the high scores).
    uint64_t last = ~uint64_t{0};
    for (int i = 0; i < 300; ++i) {
      const uint64_t now = t->info().tier.promotions;
      if (now == last) break;
      last = now;
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_LE(t->info().tier.dram_items, static_cast<uint64_t>(kDram));
    const TierInfo before = t->info().tier;
    SampleBatch out;
    for (int b = 0; b < 50; ++b) {
      EXPECT_TRUE(t->Sample({.batch_size = 256}, &out).ok());
      CheckRows(out);
    }
    const TierInfo after = t->info().tier;
    EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
    const double hits = static_cast<double>(after.dram_hits - before.dram_hits);
    const double misses = static_cast<double>(after.dram_misses - before.dram_misses);
    return hits / (hits + misses);
  };
  // 12,800 draws: the sd of a hit rate is <= sqrt(0.25 / 12800) = 0.0044; 6 sd = 0.027.
  const double score_rate = hit_rate(Placement::kScore);
  const double recent_rate = hit_rate(Placement::kRecent);
  EXPECT_NEAR(score_rate, top_mass, 0.027);
  EXPECT_NEAR(recent_rate, recent_mass, 0.027);
  EXPECT_GT(score_rate, recent_rate + 0.3);
  std::printf(
      "DRAM hit rate under score-proportional sampling: score %.3f (top-%d mass %.3f), "
      "recent %.3f (its mass %.3f)\n",
      score_rate, kDram, top_mass, recent_rate, recent_mass);
}

TEST_F(TierTest, ScorePlacementNeedsAScoreColumnAndExactSampling) {
  TableOptions o = Tiered(mem_.get(), dir_, 10, 100);
  o.placement = Placement::kScore;
  o.placement_score_column = "nope";
  auto t = Table::Create(o);
  ASSERT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("placement_score_column"));
  EXPECT_THAT(t.status().message(), HasSubstr("'nope'"));
  o.placement_score_column = "loss";
  o.tier_sampling = TierSampling::kResident;
  t = Table::Create(o);
  ASSERT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("tier_sampling = exact"));
}

TEST_F(TierTest, RandomPlacementKeepsTheBudget) {
  TableOptions o = Tiered(mem_.get(), dir_, 10, 1000);
  o.placement = Placement::kRandom;
  auto t = Open(o);
  std::vector<Key> keys;
  ASSERT_TRUE(InsertIds(*t, 0, 300, &keys).ok());
  ASSERT_TRUE(t->Checkpoint().ok());
  EXPECT_LE(t->info().tier.dram_items, 10u);
  SampleBatch out;
  ASSERT_EQ(*t->Get(keys, &out), 300u);
  CheckRows(out);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

// For 600 ms: `writers` threads call insert(); two samplers sample `batch` items (checking
// every row), update their priorities, and the first one deletes `deletes` of them; a checker
// verifies the invariants (and checkpoints, if asked) meanwhile.
void RunMixedLoad(Table& t, int writers, const std::function<void()>& insert, size_t batch,
                  size_t deletes, bool checkpoints) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&] {
      while (!stop) insert();
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      internal::Rng rng(r + 7);
      SampleBatch out;
      while (!stop) {
        // Deletes may empty the table (or DRAM) for a moment: wait briefly, then try again.
        const absl::Status s =
            t.Sample(SampleOptions{.batch_size = batch, .timeout = absl::Milliseconds(50)}, &out);
        if (s.code() == absl::StatusCode::kDeadlineExceeded) continue;
        ASSERT_TRUE(s.ok()) << s;
        CheckRows(out);
        std::vector<double> p(out.size());
        for (double& x : p) x = 0.1 + rng.Uniform01();
        (void)t.UpdatePriorities(out.keys(), p);
        if (r == 0) {
          (void)t.Delete(std::vector<Key>(out.keys().begin(), out.keys().begin() + deletes));
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 20 && !stop; ++i) {
      EXPECT_TRUE(t.CheckInvariants().ok()) << t.CheckInvariants();
      if (checkpoints && i % 5 == 4) {
        EXPECT_TRUE(t.Checkpoint().ok());
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  absl::SleepFor(absl::Milliseconds(600));
  stop = true;
  for (std::thread& th : threads) th.join();
}

TEST_F(TierTest, ResidentModeConcurrencyKeepsInvariants) {
  TableOptions o = Tiered(mem_.get(), dir_, 24, 300);
  o.tier_sampling = TierSampling::kResident;
  o.swap_ratio = 0.5;
  o.sampler = Prioritized(0.7, 0.5);
  auto t = Open(o);
  std::vector<Key> seed;
  ASSERT_TRUE(InsertGrouped(*t, 0, 100, &seed, [](int64_t id) { return id % 3; }).ok());
  std::atomic<int64_t> next_id{1000};
  RunMixedLoad(
      *t, 1,
      [&] {
        std::vector<Key> k;
        const int64_t id = next_id.fetch_add(3);
        EXPECT_TRUE(InsertGrouped(*t, id, 3, &k, [](int64_t x) { return x % 3; }).ok());
      },
      /*batch=*/8, /*deletes=*/1, /*checkpoints=*/false);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  EXPECT_GT(t->info().tier.swaps, 0u);
  EXPECT_EQ(t->info().tier.dram_misses, 0u);
}

TEST_F(TierTest, ConcurrentInsertSampleDeleteKeepsInvariants) {
  TableOptions o = Tiered(mem_.get(), dir_, 32, 400);
  o.sampler = Prioritized(0.7, 0.5);
  o.write_queue_items = 64;
  auto t = Open(o);
  std::vector<Key> seed_keys;
  ASSERT_TRUE(InsertIds(*t, 0, 50, &seed_keys).ok());
  std::atomic<int64_t> next_id{1000};
  RunMixedLoad(
      *t, 2,
      [&] {
        std::vector<Key> k;
        EXPECT_TRUE(InsertIds(*t, next_id.fetch_add(4), 4, &k).ok());
      },
      /*batch=*/16, /*deletes=*/2, /*checkpoints=*/true);
  ASSERT_TRUE(t->Checkpoint().ok());
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  const TableInfo info = t->info();
  EXPECT_EQ(info.inserted, info.size + info.evicted + info.deleted);
  // Reopen: the same items.
  const size_t size = info.size;
  t.reset();
  auto again = Open(o);
  EXPECT_EQ(again->size(), size);
  EXPECT_TRUE(again->CheckInvariants().ok()) << again->CheckInvariants();
}

// Opening and closing a table without writing leaves no empty segment files behind: the active
// segment is created by the first write, and a checkpoint with nothing new to seal rolls nothing.
TEST_F(TierTest, OpeningAndClosingWithoutWritesAddsNoFiles) {
  const TableOptions o = Tiered(mem_.get(), dir_, 10, 1000);
  auto files = [&] {
    auto c = mem_->GetChildren(dir_);
    EXPECT_TRUE(c.ok()) << c.status();
    std::set<std::string> out;
    if (c.ok()) out.insert(c->begin(), c->end());
    return out;
  };
  auto segment_files = [&] {
    std::set<std::string> out;
    for (const std::string& f : files()) {
      if (f.rfind("seg-", 0) == 0) out.insert(f);
    }
    return out;
  };
  for (int i = 0; i < 20; ++i) {
    auto t = Open(o);
    ASSERT_NE(t, nullptr);
    t->Close();
  }
  EXPECT_EQ(segment_files(), std::set<std::string>{}) << ::testing::PrintToString(files());
  EXPECT_LE(files().size(), 3u) << ::testing::PrintToString(files());  // LOCK, MANIFEST, ckpt
  // With items stored: reopening neither adds segments nor loses items.
  std::vector<Key> keys;
  {
    auto t = Open(o);
    ASSERT_TRUE(InsertIds(*t, 0, 300, &keys).ok());
    t->Close();
  }
  const std::set<std::string> stored = files();
  ASSERT_FALSE(segment_files().empty());
  for (int i = 0; i < 20; ++i) {
    auto t = Open(o);
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(t->size(), 300u);
    t->Close();
  }
  EXPECT_EQ(files().size(), stored.size()) << ::testing::PrintToString(files());
  auto t = Open(o);
  SampleBatch out;
  auto got = t->Get(keys, &out);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(*got, 300u);
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  // Writing again after the reopens starts a new segment, numbered above every file so far
  // (file numbers are never reused).
  auto number = [](const std::string& f) {  // seg-000012.data, meta-000015.ckpt
    const size_t dash = f.find('-');
    return dash == std::string::npos ? 0ul : std::stoul(f.substr(dash + 1, 6));
  };
  unsigned long highest = 0;
  for (const std::string& f : files()) highest = std::max(highest, number(f));
  const std::set<std::string> before = segment_files();
  std::vector<Key> more;
  ASSERT_TRUE(InsertIds(*t, 300, 10, &more).ok());
  ASSERT_TRUE(t->Checkpoint().ok());
  size_t added = 0;
  for (const std::string& f : segment_files()) {
    if (before.contains(f)) continue;
    ++added;
    EXPECT_GT(number(f), highest) << f;
  }
  EXPECT_EQ(added, 2u);  // one segment: its data and index files
  t.reset();
  auto again = Open(o);
  EXPECT_EQ(again->size(), 310u);
  EXPECT_TRUE(again->CheckInvariants().ok()) << again->CheckInvariants();
}

// Opening drops segments that hold nothing, but never one that live items are located in: a
// segment whose files were both emptied (damaged) stays, and reading its items reports the loss.
TEST_F(TierTest, OpeningKeepsAnEmptiedSegmentThatItemsAreLocatedIn) {
  const TableOptions o = Tiered(mem_.get(), dir_, 10, 1000);
  std::vector<Key> keys;
  {
    auto t = Open(o);
    ASSERT_TRUE(InsertIds(*t, 0, 100, &keys).ok());
    t->Close();
  }
  auto c = mem_->GetChildren(dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<std::string> segment_files;
  for (const std::string& f : *c) {
    if (f.rfind("seg-", 0) == 0) segment_files.push_back(f);
  }
  ASSERT_EQ(segment_files.size(), 2u);  // one segment holds every item
  for (const std::string& f : segment_files) {
    auto w = mem_->NewWritableFile(dir_ + "/" + f, /*append=*/false);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Close().ok());
  }
  {
    auto t = Open(o);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->size(), 100u);
    for (const std::string& f : segment_files) EXPECT_TRUE(mem_->FileExists(dir_ + "/" + f)) << f;
    SampleBatch out;
    auto got = t->Get(keys, &out);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
    EXPECT_EQ(t->size(), 0u);  // the lost items are removed
    t->Close();
  }
  // No item is located there any more: the next open drops it, and opens cleanly.
  auto t = Open(o);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->size(), 0u);
  for (const std::string& f : segment_files) EXPECT_FALSE(mem_->FileExists(dir_ + "/" + f)) << f;
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

}  // namespace
}  // namespace strata
