// Recovery never destroys data: damaged or crafted storage directories, as a user or a bad disk
// may leave them. Each case checks that opening refuses with an error naming the file (and the
// entry) and changes nothing, or — for lost records — that the loss is reported once and the
// table goes on; then that Table::Repair gets the directory open again without deleting what it
// cannot place.
#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "env/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "strata/table.h"
#include "tier/checkpoint.h"
#include "tier/file_io.h"
#include "tier/file_names.h"
#include "tier/format.h"

namespace strata {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

constexpr int kDim = 8;

TableOptions Options(Env* env) {
  TableOptions o;
  o.name = "recovery";
  o.schema = *Schema::Builder().Fixed("obs", DType::kF32, {kDim}).Fixed("id", DType::kI64).Build();
  o.max_items = 10'000;
  o.storage_dir = "/rec";
  o.env = env;
  o.dram_budget_bytes = 10 * o.schema.fixed_row_bytes();
  o.segment_bytes = 4 << 10;  // ~100 items a segment
  o.durability = Durability::kFlush;
  return o;
}

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override { env_ = NewMemEnv(); }

  // A closed table of ids [0, n), with a checkpoint and later writes replayed from the log.
  void Populate(int n, bool checkpoint_half = true) {
    auto t = Table::Create(Options(env_.get()));
    ASSERT_TRUE(t.ok()) << t.status();
    for (int i = 0; i < n; i += 50) {
      Insert(**t, i, std::min(50, n - i));
      if (checkpoint_half && i == n / 2 / 50 * 50) {
        ASSERT_TRUE((*t)->Checkpoint().ok());
      }
    }
  }
  void Insert(Table& t, int64_t first, int n, std::vector<Key>* out = nullptr) {
    std::vector<float> obs(n * kDim);
    std::vector<int64_t> ids(n);
    for (int i = 0; i < n; ++i) {
      ids[i] = first + i;
      for (int j = 0; j < kDim; ++j) obs[i * kDim + j] = static_cast<float>(ids[i] * 10 + j);
    }
    ItemBatch b;
    b.Add("obs", DType::kF32, {n, kDim}, obs.data()).Add("id", DType::kI64, {n}, ids.data());
    std::vector<Key> keys;
    ASSERT_TRUE(t.Insert(b, &keys).ok());
    if (out != nullptr) *out = keys;
  }
  // Every item of the table, checked byte for byte; returns the ids.
  std::vector<int64_t> AllIds(Table& t) {
    std::vector<int64_t> ids;
    if (t.size() == 0) return ids;
    SampleBatch out;
    absl::Status s = t.Sample({.batch_size = t.size(), .replacement = false}, &out);
    EXPECT_TRUE(s.ok()) << s;
    for (size_t i = 0; i < out.size(); ++i) {
      const int64_t id = out.field(1).values<int64_t>()[i];
      for (int j = 0; j < kDim; ++j) {
        EXPECT_EQ(out.field(0).values<float>()[i * kDim + j], static_cast<float>(id * 10 + j));
      }
      ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  static std::vector<int64_t> Range(int64_t from, int64_t to) {
    std::vector<int64_t> v;
    for (int64_t i = from; i < to; ++i) v.push_back(i);
    return v;
  }
  std::string Path(const std::string& name) { return "/rec/" + name; }
  std::vector<std::string> Files() { return *env_->GetChildren("/rec"); }
  std::vector<std::string> FilesOf(internal::FileName::Kind kind) {
    std::vector<std::string> out;
    for (const std::string& f : Files()) {
      if (internal::ParseFileName(f).kind == kind) out.push_back(f);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string Read(const std::string& name) {
    std::string s;
    EXPECT_TRUE(internal::ReadWholeFile(env_.get(), Path(name), &s).ok());
    return s;
  }
  void Write(const std::string& name, const std::string& contents) {
    auto f = env_->NewWritableFile(Path(name), /*append=*/false);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(contents).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  internal::Manifest ReadManifest() {
    return *internal::DecodeManifest(Read("MANIFEST"), "MANIFEST");
  }
  void WriteManifest(const internal::Manifest& m) { Write("MANIFEST", EncodeManifest(m)); }
  // Opening fails with DataLoss or FailedPrecondition naming `text`; no file changed.
  void ExpectRefused(const std::string& text) {
    const std::vector<std::string> before = Files();
    std::vector<std::string> contents;
    for (const std::string& f : before) contents.push_back(f == "LOCK" ? "" : Read(f));
    auto t = Table::Create(Options(env_.get()));
    ASSERT_FALSE(t.ok());
    EXPECT_TRUE(t.status().code() == absl::StatusCode::kDataLoss ||
                t.status().code() == absl::StatusCode::kFailedPrecondition)
        << t.status();
    EXPECT_THAT(t.status().message(), HasSubstr(text));
    EXPECT_THAT(Files(), UnorderedElementsAreArray(before));
    for (size_t i = 0; i < before.size(); ++i) {
      if (before[i] != "LOCK") {
        EXPECT_EQ(Read(before[i]), contents[i]) << before[i];
      }
    }
  }
  // As if the table had crashed before any checkpoint: the open replays every index file.
  void ForgetCheckpoint() {
    internal::Manifest m = ReadManifest();
    m.obsolete.push_back(m.checkpoint);
    m.checkpoint.clear();
    m.replay_from = 0;
    WriteManifest(m);
  }
  std::unique_ptr<Table> MustOpen() {
    auto t = Table::Create(Options(env_.get()));
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? std::move(t).value() : nullptr;
  }
  RepairReport MustRepair() {
    auto r = Table::Repair(Options(env_.get()));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RepairReport{};
  }

  std::unique_ptr<Env> env_;
};

TEST_F(RecoveryTest, MissingManifestIsRefusedAndRepairBringsEveryItemBack) {
  Populate(600);
  ASSERT_TRUE(env_->DeleteFile(Path("MANIFEST")).ok());
  ExpectRefused("has no MANIFEST but holds");
  const RepairReport r = MustRepair();
  EXPECT_TRUE(r.manifest_rebuilt);
  EXPECT_FALSE(r.checkpoint.empty());
  EXPECT_EQ(r.checkpoint_items_dropped, 0u);
  EXPECT_THAT(r.ToString(), HasSubstr("rebuilt the MANIFEST"));
  auto t = MustOpen();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(AllIds(*t), Range(0, 600));
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
}

TEST_F(RecoveryTest, ManifestLeavingOutASegmentIsRefusedAndRepairRestoresIt) {
  Populate(600, /*checkpoint_half=*/false);
  internal::Manifest m = ReadManifest();
  ASSERT_GE(m.segments.size(), 3u);
  const uint32_t dropped = m.segments[1].id;
  m.segments.erase(m.segments.begin() + 1);
  WriteManifest(m);
  ExpectRefused(absl::StrCat("does not account for ", internal::SegmentDataName(dropped)));
  const RepairReport r = MustRepair();
  EXPECT_FALSE(r.manifest_rebuilt);
  auto t = MustOpen();
  EXPECT_EQ(AllIds(*t), Range(0, 600));
}

TEST_F(RecoveryTest, CheckpointNamingAMissingSegmentIsRefusedAndRepairDropsOnlyItsItems) {
  Populate(600);
  // Segment 1 (items 0..~100) vanishes, and a manifest that no longer lists it is written: the
  // checkpoint still places items there.
  internal::Manifest m = ReadManifest();
  const uint32_t gone = m.segments.front().id;
  ASSERT_LT(gone, m.replay_from);
  m.segments.erase(m.segments.begin());
  WriteManifest(m);
  ASSERT_TRUE(env_->DeleteFile(Path(internal::SegmentDataName(gone))).ok());
  ASSERT_TRUE(env_->DeleteFile(Path(internal::SegmentIndexName(gone))).ok());
  ExpectRefused(absl::StrCat("names segment ", gone, ", which the MANIFEST does not list"));
  const RepairReport r = MustRepair();
  EXPECT_GT(r.checkpoint_items_dropped, 0u);
  EXPECT_EQ(r.set_aside.size(), 1u);  // the checkpoint it replaced, kept in lost/
  EXPECT_TRUE(env_->FileExists(Path("lost/" + r.set_aside[0])));
  auto t = MustOpen();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->size(), 600 - r.checkpoint_items_dropped);
  EXPECT_EQ(AllIds(*t), Range(static_cast<int64_t>(r.checkpoint_items_dropped), 600));
}

TEST_F(RecoveryTest, TruncatedDataFileIsReportedOnceAndTheTableGoesOn) {
  Populate(600);
  const std::string first = FilesOf(internal::FileName::kSegmentData).front();
  const std::string data = Read(first);
  Write(first, data.substr(0, data.size() / 2));
  auto t = MustOpen();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->size(), 600u);  // nothing silently dropped at open
  SampleBatch out;
  absl::Status s = t->Sample({.batch_size = 600, .replacement = false}, &out);
  ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr(first));
  EXPECT_THAT(s.message(), HasSubstr("end of file"));
  const size_t lost = t->info().tier.corrupt_items;
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(t->size(), 600u - lost);
  // Never an error on every later sample: the lost items are gone, the rest are intact.
  const std::vector<int64_t> ids = AllIds(*t);
  EXPECT_EQ(ids.size(), 600u - lost);
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(t->Sample({.batch_size = 64}, &out).ok());
}

TEST_F(RecoveryTest, CraftedCheckpointsAreRefusedNamingTheFileAndEntry) {
  Populate(300);
  const std::string name = ReadManifest().checkpoint;
  const std::string original = Read(name);
  auto rewrite = [&](const std::function<void(internal::CheckpointData*)>& edit) {
    auto body = internal::UnframeFile(internal::kCheckpointMagic, original, name);
    ASSERT_TRUE(body.ok());
    auto d = internal::DecodeCheckpoint(*body, name);
    ASSERT_TRUE(d.ok()) << d.status();
    edit(&*d);
    Write(name, internal::FrameFile(internal::kCheckpointMagic, internal::EncodeCheckpoint(*d)));
  };
  rewrite([](internal::CheckpointData* d) { d->items[5].slot = d->items[4].slot; });
  ExpectRefused("checkpoint entry 5 (slot 4): the slot appears twice");
  rewrite([](internal::CheckpointData* d) { d->items.back().slot = 1u << 30; });
  ExpectRefused("slot out of range");
  rewrite([](internal::CheckpointData* d) { d->items[0].segment = 9999; });
  ExpectRefused("checkpoint entry 0 (slot 0) names segment 9999");
  rewrite([](internal::CheckpointData* d) { d->items[0].length = 3; });
  ExpectRefused("checkpoint entry 0 (slot 0): a record of 3 bytes cannot hold an item");
  // And the plain checksum still guards against accidents.
  std::string flipped = original;
  flipped[40] ^= 1;
  Write(name, flipped);
  ExpectRefused("checksum mismatch");
  Write(name, original);
  EXPECT_NE(MustOpen(), nullptr);
}

TEST_F(RecoveryTest, CraftedIndexEntriesAreRefusedNamingTheFileAndEntry) {
  Populate(300, /*checkpoint_half=*/false);
  ForgetCheckpoint();  // so that every index entry is replayed at open
  const std::string index = FilesOf(internal::FileName::kSegmentIndex).front();
  const std::string original = Read(index);
  auto rewrite = [&](size_t entry, const std::function<void(internal::IndexEntry*)>& edit) {
    std::string bytes = original;
    internal::IndexEntry e;
    uint16_t version;
    ASSERT_EQ(
        internal::DecodeIndexEntry(bytes.data() + entry * internal::kIndexEntryBytes, &e, &version),
        internal::DecodeResult::kOk);
    edit(&e);
    internal::EncodeIndexEntry(e, bytes.data() + entry * internal::kIndexEntryBytes);
    Write(index, bytes);
  };
  rewrite(3, [](internal::IndexEntry* e) { e->flags = 0x80; });
  ExpectRefused(absl::StrCat(index, " entry 3 (key "));
  rewrite(3, [](internal::IndexEntry* e) { e->key = 0xFFFFFFFFull | (1ull << 32); });
  ExpectRefused(absl::StrCat("(", index, " entry 3); reopen it with max_items >= 4294967296"));
  rewrite(4, [](internal::IndexEntry* e) { e->length = 7; });
  ExpectRefused(absl::StrCat(index, " entry 4: a record of 7 bytes cannot hold an item"));
}

TEST_F(RecoveryTest, FileNumbersThatWouldOverwriteLiveSegmentsAreRefused) {
  Populate(300);
  internal::Manifest m = ReadManifest();
  m.next_file_number = m.segments.back().id;  // the next segment created would overwrite it
  WriteManifest(m);
  ExpectRefused("is not below next_file_number");
}

TEST_F(RecoveryTest, RepairSetsAsideWhatItCannotPlace) {
  Populate(600);
  // The last segment holds items the checkpoint names (a close no longer leaves an empty one
  // behind), so repairing it sets the checkpoint aside too.
  const std::string checkpoint = ReadManifest().checkpoint;
  ASSERT_TRUE(env_->DeleteFile(Path("MANIFEST")).ok());
  const std::vector<std::string> data = FilesOf(internal::FileName::kSegmentData);
  const std::vector<std::string> index = FilesOf(internal::FileName::kSegmentIndex);
  // A data file without its index, and a file that is not Strata's.
  ASSERT_TRUE(env_->DeleteFile(Path(index.back())).ok());
  Write("notes.txt", "mine");
  const RepairReport r = MustRepair();
  EXPECT_THAT(r.set_aside,
              UnorderedElementsAreArray({data.back(), std::string("notes.txt"), checkpoint}));
  EXPECT_EQ(Read("lost/notes.txt"), "mine");
  EXPECT_TRUE(env_->FileExists(Path("lost/" + data.back())));
  auto t = MustOpen();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(AllIds(*t).size(), t->size());
  // A second repair of a healthy directory changes nothing of the table.
  auto again = Table::Repair(Options(env_.get()));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);  // t holds it
  t.reset();
  const RepairReport second = MustRepair();
  EXPECT_TRUE(second.set_aside.empty());
  EXPECT_FALSE(second.manifest_rebuilt);
}

TEST_F(RecoveryTest, RepairRefusesAnotherSchemaAndAMissingDirectory) {
  Populate(100);
  TableOptions other = Options(env_.get());
  other.schema = *Schema::Builder().Fixed("obs", DType::kF64, {kDim}).Build();
  auto r = Table::Repair(other);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("nothing was changed"));
  TableOptions nowhere = Options(env_.get());
  nowhere.storage_dir = "/nowhere";
  EXPECT_EQ(Table::Repair(nowhere).status().code(), absl::StatusCode::kNotFound);
}

// A kill -9 after compaction dropped the records of deleted items, while their tombstones are
// still replayed (the checkpoint predates the items): the reopened table must not hand out a
// deleted item's key again for a new item (found by the crash loop's churn workload).
TEST_F(RecoveryTest, DeletedKeysAreNeverReusedAfterACrashFollowingCompaction) {
  TableOptions o = Options(env_.get());
  o.compaction_live_ratio = 0.9;
  o.compaction_bytes_per_second = 0;
  std::vector<Key> gone;
  std::map<std::string, std::string> crashed;  // the directory as a kill -9 would leave it
  {
    auto t = Table::Create(o);
    ASSERT_TRUE(t.ok()) << t.status();
    Insert(**t, 0, 1);
    ASSERT_TRUE((*t)->Checkpoint().ok());
    std::vector<Key> keys;
    for (int i = 0; i < 6; ++i) {
      std::vector<Key> k;
      Insert(**t, 1 + i * 50, 50, &k);
      keys.insert(keys.end(), k.begin(), k.end());
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i % 10 != 0) gone.push_back(keys[i]);
    }
    ASSERT_EQ(*(*t)->Delete(gone), gone.size());
    Insert(**t, 1000, 200);  // rolls on, so that the segments of the deleted items are sealed
    uint64_t compacted = 0;
    for (int i = 0; i < 500 && compacted < 2; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
      compacted = (*t)->info().tier.segments_compacted;
    }
    ASSERT_GE(compacted, 2u);
    for (int i = 0; i < 500 && (*t)->info().tier.pending_writes > 0; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    absl::SleepFor(absl::Milliseconds(100));  // the writer goes idle
    for (const std::string& f : Files()) {
      if (f != "LOCK" && f != "lost") crashed[f] = Read(f);
    }
  }
  for (const std::string& f : Files()) {
    if (f != "LOCK" && f != "lost") {
      ASSERT_TRUE(env_->DeleteFile(Path(f)).ok());
    }
  }
  for (const auto& [f, bytes] : crashed) Write(f, bytes);
  auto t = Table::Create(o);
  ASSERT_TRUE(t.ok()) << t.status();
  SampleBatch out;
  std::vector<size_t> missing;
  ASSERT_TRUE((*t)->Get(gone, &out, &missing).ok());
  EXPECT_EQ(missing.size(), gone.size());  // deletions before the last write group are durable
  std::vector<Key> fresh;
  Insert(**t, 5000, 300, &fresh);
  for (Key k : fresh) {
    EXPECT_TRUE(std::find(gone.begin(), gone.end(), k) == gone.end()) << "key " << k << " reused";
  }
  ASSERT_TRUE((*t)->Get(gone, &out, &missing).ok());
  EXPECT_EQ(out.size(), 0u) << "a deleted key names a new item";
  EXPECT_TRUE((*t)->CheckInvariants().ok()) << (*t)->CheckInvariants();
}

TEST(SampleLimitTest, AbsurdBatchSizesFailAtOnceNamingTheLimit) {
  TableOptions o;
  o.name = "small";
  o.schema = *Schema::Builder().Fixed("x", DType::kF32).Build();
  o.max_items = 100;
  // A limiter that would block any sample: the size check comes first and never waits.
  o.rate_limiter = MinSize(1000);
  auto t = Table::Create(o);
  ASSERT_TRUE(t.ok()) << t.status();
  for (size_t n : {size_t{1} << 40, size_t{1} << 62, ~size_t{0}}) {
    SampleBatch out;
    const absl::Time start = absl::Now();
    absl::Status s = (*t)->Sample({.batch_size = n, .timeout = absl::InfiniteDuration()}, &out);
    EXPECT_LT(absl::Now() - start, absl::Seconds(1));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("batch_size must be <= 1048576"));
    EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("got ", n)));
  }
}

}  // namespace
}  // namespace strata
