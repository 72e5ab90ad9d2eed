// SegmentStore: what Open does with every kind of directory it may find — fresh, recovered,
// left mid-step by a crash, or damaged — and that it never deletes a file it cannot account for.
#include "tier/segment_store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "strata/env.h"
#include "tier/file_names.h"

namespace strata::internal {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

class SegmentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { env_ = NewMemEnv(); }

  SegmentStore::Options Opts(Durability d = Durability::kFlush) {
    SegmentStore::Options o;
    o.env = env_.get();
    o.dir = dir_;
    o.table_name = "t";
    o.schema = "schema-1";
    o.segment_bytes = 1 << 20;
    o.durability = d;
    return o;
  }
  absl::StatusOr<std::unique_ptr<SegmentStore>> Open(Durability d = Durability::kFlush) {
    return SegmentStore::Open(Opts(d), &recovered_);
  }
  std::unique_ptr<SegmentStore> MustOpen(Durability d = Durability::kFlush) {
    auto s = Open(d);
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) {
      EXPECT_TRUE((*s)->Start().ok());
    }
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // Appends one record per key (record = 8 bytes of the key).
  void Append(SegmentStore* s, std::vector<uint64_t> keys) {
    std::string records;
    std::vector<IndexEntry> entries;
    for (uint64_t k : keys) {
      entries.push_back(
          IndexEntry{.key = k, .data_offset = records.size(), .length = 8, .priority = 1});
      records.append(reinterpret_cast<const char*>(&k), 8);
    }
    uint32_t segment = 0;
    ASSERT_TRUE(s->Append(records, &entries, &segment).ok());
  }
  std::vector<std::string> Files() {
    auto c = env_->GetChildren(dir_);
    return c.ok() ? *c : std::vector<std::string>{};
  }
  std::string Read(const std::string& name) {
    auto f = env_->NewRandomAccessFile(dir_ + "/" + name);
    EXPECT_TRUE(f.ok()) << f.status();
    std::string out((*f)->size(), '\0');
    size_t got = 0;
    EXPECT_TRUE((*f)->Read(0, out.size(), out.data(), &got).ok());
    return out;
  }
  void Write(const std::string& name, const std::string& contents) {
    auto f = env_->NewWritableFile(dir_ + "/" + name, /*append=*/false);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(contents).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  Manifest ReadManifest() {
    auto m = DecodeManifest(Read(kManifestFile), "MANIFEST");
    EXPECT_TRUE(m.ok()) << m.status();
    return *m;
  }
  void WriteManifest(const Manifest& m) { Write(kManifestFile, EncodeManifest(m)); }
  // Opening fails with `code`, the message holds `text`, and no file was touched.
  void ExpectRefused(absl::StatusCode code, const std::string& text,
                     Durability d = Durability::kFlush) {
    std::vector<std::string> before = Files();
    std::vector<std::string> contents;
    for (const std::string& f : before) contents.push_back(f == kLockFile ? "" : Read(f));
    auto s = Open(d);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), code) << s.status();
    EXPECT_THAT(s.status().message(), HasSubstr(text));
    EXPECT_THAT(Files(), UnorderedElementsAreArray(before));
    for (size_t i = 0; i < before.size(); ++i) {
      if (before[i] != kLockFile) {
        EXPECT_EQ(Read(before[i]), contents[i]) << before[i];
      }
    }
  }

  std::unique_ptr<Env> env_;
  std::string dir_ = "/store";
  SegmentStore::Recovered recovered_;
};

TEST_F(SegmentStoreTest, ReopenReplaysEntriesInLogOrder) {
  {
    auto s = MustOpen();
    Append(s.get(), {1, 2});
    ASSERT_TRUE(s->Roll().ok());
    Append(s.get(), {3});
  }
  auto s = MustOpen();
  EXPECT_TRUE(recovered_.existed);
  ASSERT_EQ(recovered_.entries.size(), 3u);
  EXPECT_EQ(recovered_.entries[0].entry.key, 1u);
  EXPECT_EQ(recovered_.entries[1].position, 1u);
  EXPECT_EQ(recovered_.entries[2].entry.key, 3u);
  EXPECT_THAT(recovered_.entries[2].Where(), HasSubstr(".index entry 0"));
}

TEST_F(SegmentStoreTest, MissingManifestWithDataIsRefused) {
  {
    auto s = MustOpen();
    Append(s.get(), {1, 2});
  }
  ASSERT_TRUE(env_->DeleteFile(dir_ + "/MANIFEST").ok());
  ExpectRefused(absl::StatusCode::kDataLoss,
                "has no MANIFEST but holds seg-000001.data (16 bytes)");
}

TEST_F(SegmentStoreTest, MissingManifestWithOnlyEmptyLeftoversStartsFresh) {
  ASSERT_TRUE(env_->CreateDirIfMissing(dir_).ok());
  Write(SegmentDataName(1), "");
  Write(SegmentIndexName(1), "");
  Write("MANIFEST.tmp", "half a manifest");
  auto s = MustOpen();
  EXPECT_FALSE(recovered_.existed);
  // No segment until the first append.
  EXPECT_THAT(Files(),
              UnorderedElementsAreArray({std::string(kLockFile), std::string("MANIFEST")}));
}

TEST_F(SegmentStoreTest, ManifestThatLeavesOutASegmentIsRefused) {
  {
    auto s = MustOpen();
    Append(s.get(), {1});
    ASSERT_TRUE(s->Roll().ok());
    Append(s.get(), {2});
  }
  Manifest m = ReadManifest();
  ASSERT_EQ(m.segments.size(), 2u);
  m.segments.erase(m.segments.begin());
  WriteManifest(m);
  ExpectRefused(absl::StatusCode::kDataLoss, "does not account for seg-000001.data");
}

TEST_F(SegmentStoreTest, ObsoleteFilesAndUnpublishedStepsAreLeftovers) {
  {
    auto s = MustOpen();
    Append(s.get(), {1});
    ASSERT_TRUE(s->Roll().ok());
    Append(s.get(), {2});
  }
  // As a crash leaves them: segment 1 dropped in the manifest but its files not deleted yet; a
  // checkpoint written but never published; a segment created but never written to.
  Manifest m = ReadManifest();
  m.segments.erase(m.segments.begin());
  m.obsolete = {SegmentDataName(1), SegmentIndexName(1)};
  WriteManifest(m);
  Write(CheckpointName(m.next_file_number), "never published");
  Write(SegmentDataName(m.next_file_number + 1), "");
  Write(SegmentIndexName(m.next_file_number + 1), "");
  auto s = MustOpen();
  ASSERT_NE(s, nullptr);
  for (const std::string& gone :
       {SegmentDataName(1), SegmentIndexName(1), CheckpointName(m.next_file_number)}) {
    EXPECT_FALSE(env_->FileExists(dir_ + "/" + gone)) << gone;
  }
  EXPECT_TRUE(env_->FileExists(dir_ + "/" + SegmentDataName(2)));
  EXPECT_TRUE(ReadManifest().obsolete.empty());
  ASSERT_EQ(recovered_.entries.size(), 1u);
  EXPECT_EQ(recovered_.entries[0].entry.key, 2u);
}

TEST_F(SegmentStoreTest, NonEmptySegmentTheManifestNeverNamedIsRefused) {
  { auto s = MustOpen(); }
  const Manifest m = ReadManifest();
  Write(SegmentDataName(m.next_file_number + 3), "data");
  Write(SegmentIndexName(m.next_file_number + 3), "");
  ExpectRefused(absl::StatusCode::kDataLoss,
                absl::StrCat("does not account for ", SegmentDataName(m.next_file_number + 3)));
}

TEST_F(SegmentStoreTest, InconsistentManifestsAreRefusedNamingTheProblem) {
  {
    auto s = MustOpen();
    Append(s.get(), {1});
  }
  const Manifest good = ReadManifest();
  const uint32_t id = good.segments.back().id;
  struct Case {
    std::string text;
    std::function<void(Manifest*)> edit;
  };
  const std::vector<Case> cases = {
      {absl::StrCat("segment ", id, " is not below next_file_number ", id),
       [&](Manifest* m) { m->next_file_number = id; }},
      {"is listed twice", [](Manifest* m) { m->segments.push_back(m->segments.back()); }},
      {"checkpoint 'seg-000001.data' is not a checkpoint file name below",
       [](Manifest* m) { m->checkpoint = "seg-000001.data"; }},
      {absl::StrCat("checkpoint 'meta-000099.ckpt' is not a checkpoint file name below"),
       [](Manifest* m) { m->checkpoint = "meta-000099.ckpt"; }},
      {"names checkpoint meta-000001.ckpt, which is missing",
       [](Manifest* m) { m->checkpoint = "meta-000001.ckpt"; }},
      {"replay_from 99 is past", [](Manifest* m) { m->replay_from = 99; }},
      {"is listed as obsolete but is not a file the table gave up",
       [&](Manifest* m) { m->obsolete = {SegmentDataName(id)}; }},
      {"is listed as obsolete", [](Manifest* m) { m->obsolete = {"MANIFEST"}; }},
      {"alignment 7", [](Manifest* m) { m->segments.back().alignment = 7; }},
  };
  for (const Case& c : cases) {
    Manifest m = good;
    c.edit(&m);
    WriteManifest(m);
    SCOPED_TRACE(c.text);
    ExpectRefused(absl::StatusCode::kDataLoss, c.text);
  }
  WriteManifest(good);
  ASSERT_TRUE(env_->DeleteFile(dir_ + "/" + SegmentIndexName(id)).ok());
  ExpectRefused(absl::StatusCode::kDataLoss,
                absl::StrCat("lists segment ", id, ", but ", SegmentIndexName(id), " is missing"));
}

TEST_F(SegmentStoreTest, UnknownIndexFlagsAreRefusedNamingTheEntry) {
  uint32_t id = 0;
  {
    auto s = MustOpen();
    Append(s.get(), {1, 2});
    id = s->active_segment();
  }
  std::string index = Read(SegmentIndexName(id));
  IndexEntry e;
  uint16_t version;
  ASSERT_EQ(DecodeIndexEntry(index.data() + kIndexEntryBytes, &e, &version), DecodeResult::kOk);
  e.flags = 0x40;
  EncodeIndexEntry(e, index.data() + kIndexEntryBytes);  // a valid entry, crafted
  Write(SegmentIndexName(id), index);
  ExpectRefused(absl::StatusCode::kDataLoss,
                absl::StrCat(SegmentIndexName(id), " entry 1 (key 2): unknown flags 64"));
}

TEST_F(SegmentStoreTest, TornTailOfTheActiveSegmentEndsItsIndex) {
  uint32_t id = 0;
  {
    auto s = MustOpen();
    Append(s.get(), {1, 2, 3});
    id = s->active_segment();
  }
  // The data of the last record never made it (the index entry did).
  Write(SegmentDataName(id), Read(SegmentDataName(id)).substr(0, 16));
  auto s = MustOpen();
  ASSERT_EQ(recovered_.entries.size(), 2u);
  EXPECT_EQ(recovered_.bad_entries, 1u);
}

TEST_F(SegmentStoreTest, EntriesOfASealedSegmentPastItsDataAreKept) {
  uint32_t id = 0;
  {
    auto s = MustOpen();
    Append(s.get(), {1, 2, 3});
    id = s->active_segment();
    ASSERT_TRUE(s->Roll().ok());  // seals it
  }
  Write(SegmentDataName(id), Read(SegmentDataName(id)).substr(0, 16));  // truncated later
  auto s = MustOpen();
  // Kept: reading the lost record reports it (the table's business), never a silent drop.
  EXPECT_EQ(recovered_.entries.size(), 3u);
  EXPECT_EQ(recovered_.bad_entries, 0u);
}

TEST_F(SegmentStoreTest, DurabilityNoneDiscardsOnlyATableThatPromisedNothing) {
  {
    auto s = MustOpen(Durability::kNone);
    Append(s.get(), {1});
  }
  {
    auto s = MustOpen(Durability::kNone);
    EXPECT_FALSE(recovered_.existed);
    EXPECT_EQ(Files().size(), 2u);  // LOCK, MANIFEST: no segment until the first append
  }
  ASSERT_TRUE(env_->DeleteFile(dir_ + "/MANIFEST").ok());
  {
    auto s = MustOpen(Durability::kFlush);
    Append(s.get(), {1});
  }
  ExpectRefused(absl::StatusCode::kFailedPrecondition,
                "written with durability flush or sync; durability none would discard it",
                Durability::kNone);
}

TEST_F(SegmentStoreTest, DroppedSegmentsAreListedObsoleteUntilDeleted) {
  auto s = MustOpen();
  Append(s.get(), {1});
  const uint32_t first = s->active_segment();
  ASSERT_TRUE(s->Roll().ok());
  ASSERT_TRUE(s->DropSegments({first}).ok());
  EXPECT_FALSE(env_->FileExists(dir_ + "/" + SegmentDataName(first)));
  s.reset();
  auto again = MustOpen();
  EXPECT_TRUE(recovered_.entries.empty());
}

// Opening and closing without writing (each close checkpoints, as a table's does) adds no
// segment files and no manifest entries: the active segment is created by the first Append.
TEST_F(SegmentStoreTest, OpenAndCloseWithoutWritesLeavesNoEmptySegments) {
  for (int i = 0; i < 20; ++i) {
    auto s = MustOpen();
    ASSERT_NE(s, nullptr);
    auto first = s->Roll();
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_TRUE(s->WriteCheckpoint("body", *first).ok());
  }
  // LOCK, MANIFEST and one checkpoint.
  EXPECT_EQ(Files().size(), 3u) << ::testing::PrintToString(Files());
  EXPECT_TRUE(ReadManifest().segments.empty());
}

// A roll with no segment active creates nothing, yet still bounds what recovery replays: what is
// appended after the checkpoint lands in a new segment at or above replay_from, numbered above
// every file so far.
TEST_F(SegmentStoreTest, RollWithoutAnActiveSegmentStillCoversLaterAppends) {
  {
    auto s = MustOpen();
    Append(s.get(), {1});
    const uint32_t written = s->active_segment();
    auto first = s->Roll();
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_GT(*first, written);
    EXPECT_EQ(s->active_segment(), 0u);
    ASSERT_TRUE(s->WriteCheckpoint("one", *first).ok());
    const std::vector<std::string> files = Files();
    auto second = s->Roll();  // nothing appended since: no file, no manifest entry
    ASSERT_TRUE(second.ok()) << second.status();
    EXPECT_GT(*second, *first);  // the checkpoint took *first
    EXPECT_THAT(Files(), UnorderedElementsAreArray(files));
    ASSERT_TRUE(s->WriteCheckpoint("two", *second).ok());
    const Manifest m = ReadManifest();
    EXPECT_EQ(m.replay_from, *second);
    ASSERT_EQ(m.segments.size(), 1u);
    EXPECT_TRUE(m.segments[0].sealed);
    // An append of nothing starts a segment; a roll then keeps it (later appends land in it).
    std::vector<IndexEntry> none;
    uint32_t segment = 0;
    ASSERT_TRUE(s->Append("", &none, &segment).ok());
    EXPECT_GT(segment, ParseFileName(m.checkpoint).number);
    auto third = s->Roll();
    ASSERT_TRUE(third.ok()) << third.status();
    EXPECT_EQ(*third, segment);
    Append(s.get(), {2});
    EXPECT_EQ(s->active_segment(), segment);
    // Gone without a checkpoint, as in a crash.
  }
  auto s = MustOpen();
  EXPECT_EQ(recovered_.checkpoint, "two");
  ASSERT_EQ(recovered_.entries.size(), 1u);
  EXPECT_EQ(recovered_.entries[0].entry.key, 2u);
}

// Segments that hold nothing, as older versions left one at every open and checkpoint, are
// dropped by Start: listed obsolete in the manifest, then deleted. One with an index entry (a
// tombstone) or one a live item is located in (the caller says so) is kept.
TEST_F(SegmentStoreTest, EmptySegmentsFromOlderVersionsAreDropped) {
  uint32_t records = 0;
  uint32_t tombstones = 0;
  {
    auto s = MustOpen();
    Append(s.get(), {1});
    records = s->active_segment();
    ASSERT_TRUE(s->Roll().ok());
    std::vector<IndexEntry> tombstone = {IndexEntry{.flags = IndexEntry::kTombstone, .key = 7}};
    ASSERT_TRUE(s->Append("", &tombstone, &tombstones).ok());
  }
  // As older versions left it: empty segments listed in the manifest.
  Manifest m = ReadManifest();
  std::vector<uint32_t> empty;
  for (int i = 0; i < 4; ++i) {
    const uint32_t id = m.next_file_number++;
    Write(SegmentDataName(id), "");
    Write(SegmentIndexName(id), "");
    m.segments.push_back(SegmentInfo{.id = id, .sealed = i % 2 == 0, .alignment = 1});
    empty.push_back(id);
  }
  WriteManifest(m);
  {
    // A live item located in empty[3] (its data file was damaged): the caller keeps it.
    auto s = Open();
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE((*s)->Start({empty[3]}).ok());
    for (uint32_t id : {empty[0], empty[1], empty[2]}) {
      EXPECT_FALSE(env_->FileExists(dir_ + "/" + SegmentDataName(id))) << id;
      EXPECT_FALSE(env_->FileExists(dir_ + "/" + SegmentIndexName(id))) << id;
    }
    EXPECT_TRUE(env_->FileExists(dir_ + "/" + SegmentDataName(empty[3])));
    const Manifest after = ReadManifest();
    std::vector<uint32_t> ids;
    for (const SegmentInfo& seg : after.segments) ids.push_back(seg.id);
    EXPECT_EQ(ids, (std::vector<uint32_t>{records, tombstones, empty[3]}));
    EXPECT_TRUE(after.obsolete.empty());
    EXPECT_EQ(after.next_file_number, m.next_file_number);  // numbers are never reused
  }
  auto s = MustOpen();  // nothing keeps it now
  EXPECT_FALSE(env_->FileExists(dir_ + "/" + SegmentDataName(empty[3])));
  ASSERT_EQ(recovered_.entries.size(), 2u);
  EXPECT_EQ(recovered_.entries[0].entry.key, 1u);
  EXPECT_EQ(recovered_.entries[1].entry.key, 7u);
  EXPECT_EQ(ReadManifest().segments.size(), 2u);
}

}  // namespace
}  // namespace strata::internal
