#include "tier/format.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

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

// The JSON body of a valid manifest, for tests to change one field of and frame again.
nlohmann::json ValidManifestJson() {
  Manifest m;
  m.table_name = "t";
  m.schema = "{x: uint8[4]}";
  m.segments = {{.id = 2, .sealed = true}};
  const std::string file = EncodeManifest(m);  // the body is a view into it
  auto body = UnframeFile(kManifestMagic, file, "MANIFEST");
  EXPECT_TRUE(body.ok()) << body.status();
  return nlohmann::json::parse(*body);
}

absl::Status DecodeJson(const nlohmann::json& j) {
  return DecodeManifest(FrameFile(kManifestMagic, j.dump()), "MANIFEST").status();
}

// Regression (fuzz_manifest): nlohmann's get<uint32_t>() wrapped negative numbers, truncated
// fractions and numbers past the field's range, and read booleans as 0/1, so that a reader acted
// on file numbers and sizes no writer wrote (a float past the range was undefined behaviour).
TEST(ManifestTest, NumberOutOfRangeOrOfAnotherTypeIsDataLoss) {
  const std::vector<std::pair<const char*, nlohmann::json>> bad = {
      {"next_file_number", uint64_t{1} << 32},
      {"next_file_number", -1},
      {"next_file_number", 1.5},
      {"next_file_number", 1.0},
      {"next_file_number", true},
      {"next_file_number", "3"},
      {"replay_from", 1e30},
      {"segment_bytes", -4096},
      {"segment_bytes", 1048576.5},
  };
  for (const auto& [field, value] : bad) {
    nlohmann::json j = ValidManifestJson();
    j[field] = value;
    const absl::Status s = DecodeJson(j);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << field << " = " << value.dump();
    EXPECT_THAT(s.message(), HasSubstr("MANIFEST")) << field << " = " << value.dump();
  }
  const std::vector<std::pair<const char*, nlohmann::json>> bad_segment = {
      {"id", -1},           {"id", uint64_t{1} << 32},        {"data_bytes", 0.5},
      {"index_bytes", -64}, {"alignment", uint64_t{1} << 32}, {"alignment", 4096.0}};
  for (const auto& [field, value] : bad_segment) {
    nlohmann::json j = ValidManifestJson();
    j["segments"][0][field] = value;
    const absl::Status s = DecodeJson(j);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << field << " = " << value.dump();
    EXPECT_THAT(s.message(), HasSubstr("segments[0]." + std::string(field)));
  }
}

TEST(ManifestTest, LargestValuesInRangeRoundTrip) {
  nlohmann::json j = ValidManifestJson();
  j["next_file_number"] = std::numeric_limits<uint32_t>::max();
  j["segment_bytes"] = std::numeric_limits<uint64_t>::max();
  j["segments"][0]["id"] = std::numeric_limits<uint32_t>::max();
  auto m = DecodeManifest(FrameFile(kManifestMagic, j.dump()), "MANIFEST");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->next_file_number, std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(m->segment_bytes, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(m->segments[0].id, std::numeric_limits<uint32_t>::max());
}

// Regression (fuzz_manifest): a list field that was not an array was iterated anyway (null as no
// segments, an object as its values, a string as a list of itself).
TEST(ManifestTest, ListThatIsNotAnArrayIsDataLoss) {
  for (const nlohmann::json& value :
       {nlohmann::json(nullptr), nlohmann::json::object(), nlohmann::json(5)}) {
    nlohmann::json j = ValidManifestJson();
    j["segments"] = value;
    EXPECT_EQ(DecodeJson(j).code(), absl::StatusCode::kDataLoss) << value.dump();
  }
  nlohmann::json j = ValidManifestJson();
  j["segments"] = nlohmann::json::object({{"a", j["segments"][0]}});
  EXPECT_EQ(DecodeJson(j).code(), absl::StatusCode::kDataLoss);
  j = ValidManifestJson();
  j["segments"][0] = 7;
  EXPECT_THAT(DecodeJson(j).message(), HasSubstr("segments[0] is number"));
  j = ValidManifestJson();
  j["obsolete"] = SegmentDataName(1);
  EXPECT_EQ(DecodeJson(j).code(), absl::StatusCode::kDataLoss);
}

// Regression (fuzz_framed_file): the reserved u16 after the version was ignored, so two different
// files unframed to the same body.
TEST(FrameTest, NonzeroReservedFieldIsDataLoss) {
  std::string file = FrameFile(kCheckpointMagic, "body");
  file[6] = 1;
  file.resize(file.size() - 8);
  ByteWriter(&file).Put<uint64_t>(Checksum64(file.data(), file.size()));
  auto body = UnframeFile(kCheckpointMagic, file, "/d/meta");
  EXPECT_EQ(body.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(body.status().message(), HasSubstr("/d/meta"));
  EXPECT_THAT(body.status().message(), HasSubstr("reserved"));
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
