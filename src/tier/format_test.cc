#include "tier/format.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::internal {
namespace {

using ::testing::HasSubstr;

IndexEntry Sample() {
  return IndexEntry{.flags = 0,
                    .key = (uint64_t{7} << 32) | 12,
                    .seq = 99,
                    .data_offset = 4096,
                    .length = 392,
                    .group = -3,
                    .task = 4,
                    .checksum = 0xdeadbeef,
                    .priority = 2.5};
}

TEST(IndexEntryTest, RoundTripsEveryField) {
  char buf[kIndexEntryBytes];
  EncodeIndexEntry(Sample(), buf);
  IndexEntry e;
  uint16_t version = 0;
  ASSERT_EQ(DecodeIndexEntry(buf, &e, &version), DecodeResult::kOk);
  EXPECT_EQ(version, kFormatVersion);
  const IndexEntry want = Sample();
  EXPECT_EQ(e.key, want.key);
  EXPECT_EQ(e.seq, want.seq);
  EXPECT_EQ(e.data_offset, want.data_offset);
  EXPECT_EQ(e.length, want.length);
  EXPECT_EQ(e.group, want.group);
  EXPECT_EQ(e.task, want.task);
  EXPECT_EQ(e.checksum, want.checksum);
  EXPECT_EQ(e.priority, want.priority);
  EXPECT_EQ(e.flags, 0);
}

TEST(IndexEntryTest, AnyFlippedBitIsCorrupt) {
  char buf[kIndexEntryBytes];
  EncodeIndexEntry(Sample(), buf);
  for (size_t bit = 0; bit < kIndexEntryBytes * 8; ++bit) {
    char copy[kIndexEntryBytes];
    std::memcpy(copy, buf, sizeof(buf));
    copy[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    IndexEntry e;
    uint16_t version;
    EXPECT_EQ(DecodeIndexEntry(copy, &e, &version), DecodeResult::kCorrupt) << "bit " << bit;
  }
}

TEST(IndexEntryTest, ZeroedEntryIsCorrupt) {
  char buf[kIndexEntryBytes] = {};
  IndexEntry e;
  uint16_t version;
  EXPECT_EQ(DecodeIndexEntry(buf, &e, &version), DecodeResult::kCorrupt);
}

TEST(FrameTest, RoundTripAndErrorsNameThePath) {
  const std::string framed = FrameFile(kCheckpointMagic, "hello body");
  auto body = UnframeFile(kCheckpointMagic, framed, "/d/meta");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "hello body");

  auto wrong_kind = UnframeFile(kManifestMagic, framed, "/d/meta");
  EXPECT_EQ(wrong_kind.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(wrong_kind.status().message(), HasSubstr("/d/meta"));

  auto truncated = UnframeFile(kCheckpointMagic, framed.substr(0, framed.size() - 1), "/d/meta");
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kDataLoss);

  std::string flipped = framed;
  flipped[18] ^= 1;
  auto bad = UnframeFile(kCheckpointMagic, flipped, "/d/meta");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(bad.status().message(), HasSubstr("checksum"));

  // A future version with a valid checksum is refused by name, not as corruption.
  std::string future = framed.substr(0, framed.size() - 8);
  future[4] = 2;
  ByteWriter(&future).Put<uint64_t>(Checksum64(future.data(), future.size()));
  auto v2 = UnframeFile(kCheckpointMagic, future, "/d/meta");
  EXPECT_EQ(v2.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(v2.status().message(), HasSubstr("version 2"));
}

TEST(ManifestTest, RoundTrips) {
  Manifest m;
  m.table_name = "replay";
  m.schema = "obs: float32[4]";
  m.segment_bytes = 1 << 20;
  m.next_file_number = 9;
  m.checkpoint = CheckpointName(8);
  m.replay_from = 7;
  m.segments = {{.id = 3, .data_bytes = 100, .index_bytes = 128, .sealed = true}, {.id = 7}};
  auto back = DecodeManifest(EncodeManifest(m), "MANIFEST");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->table_name, "replay");
  EXPECT_EQ(back->schema, m.schema);
  EXPECT_EQ(back->segment_bytes, m.segment_bytes);
  EXPECT_EQ(back->next_file_number, 9u);
  EXPECT_EQ(back->checkpoint, "meta-000008.ckpt");
  EXPECT_EQ(back->replay_from, 7u);
  ASSERT_EQ(back->segments.size(), 2u);
  EXPECT_EQ(back->segments[0].id, 3u);
  EXPECT_TRUE(back->segments[0].sealed);
  EXPECT_EQ(back->segments[0].data_bytes, 100u);
  EXPECT_EQ(back->segments[1].id, 7u);
  EXPECT_FALSE(back->segments[1].sealed);
}

TEST(ManifestTest, MissingFieldIsDataLoss) {
  auto bad = DecodeManifest(FrameFile(kManifestMagic, R"({"table": "x"})"), "MANIFEST");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(bad.status().message(), HasSubstr("MANIFEST"));
  auto not_json = DecodeManifest(FrameFile(kManifestMagic, "{{{"), "MANIFEST");
  EXPECT_EQ(not_json.status().code(), absl::StatusCode::kDataLoss);
}

TEST(ByteReaderTest, OverrunIsSticky) {
  std::string s;
  ByteWriter w(&s);
  w.Put<uint32_t>(5);
  w.Put<double>(1.5);
  ByteReader r(s);
  EXPECT_EQ(r.Get<uint32_t>(), 5u);
  EXPECT_EQ(r.Get<double>(), 1.5);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.Get<uint64_t>(), 0u);
  EXPECT_FALSE(r.ok());
}

TEST(NamesTest, ZeroPadded) {
  EXPECT_EQ(SegmentDataName(12), "seg-000012.data");
  EXPECT_EQ(SegmentIndexName(12), "seg-000012.index");
  EXPECT_EQ(CheckpointName(5), "meta-000005.ckpt");
}

}  // namespace
}  // namespace strata::internal
