#include "tier/record_codec.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace strata::internal {
namespace {

TEST(RecordCodecTest, FixedOnlyRecordIsTheRowImage) {
  const RecordLayout layout{.stride = 16, .bytes_fields = 0, .fixed_bytes = 12};
  EXPECT_EQ(RecordLength(layout, 12), 16u);
  std::vector<uint8_t> row(16);
  for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<uint8_t>(i * 3);
  AlignedBytes out;
  EncodeRecord(layout, row.data(), {}, &out);
  ASSERT_EQ(out.size(), 16u);
  const char* decoded = nullptr;
  ASSERT_TRUE(DecodeRecord(layout, std::string_view(out.data(), out.size()), &decoded, {}));
  EXPECT_EQ(std::string(decoded, 16), std::string(reinterpret_cast<char*>(row.data()), 16));
  uint64_t bytes = 0;
  EXPECT_TRUE(ItemBytesOfRecord(layout, 16, &bytes));
  EXPECT_EQ(bytes, 12u);
  EXPECT_FALSE(ItemBytesOfRecord(layout, 17, &bytes));
  EXPECT_FALSE(DecodeRecord(layout, std::string_view(out.data(), 15), &decoded, {}));
}

TEST(RecordCodecTest, BytesFieldsRoundTripAndLengthsAgree) {
  const RecordLayout layout{.stride = 8, .bytes_fields = 3, .fixed_bytes = 8};
  const uint8_t row[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<std::string_view> fields = {"hello", "", std::string_view("\0x\0", 3)};
  AlignedBytes out;
  out.append("pre", 3);  // appends: earlier bytes stay
  EncodeRecord(layout, row, fields, &out);
  const std::string_view record(out.data() + 3, out.size() - 3);
  const uint64_t item_bytes = 8 + 5 + 0 + 3;
  EXPECT_EQ(record.size(), RecordLength(layout, item_bytes));
  uint64_t got_bytes = 0;
  ASSERT_TRUE(ItemBytesOfRecord(layout, record.size(), &got_bytes));
  EXPECT_EQ(got_bytes, item_bytes);
  const char* decoded_row = nullptr;
  std::vector<std::string_view> decoded(3);
  ASSERT_TRUE(DecodeRecord(layout, record, &decoded_row, absl::MakeSpan(decoded)));
  EXPECT_EQ(std::memcmp(decoded_row, row, 8), 0);
  EXPECT_EQ(decoded, fields);
}

TEST(RecordCodecTest, LengthsThatDoNotAddUpAreRefused) {
  const RecordLayout layout{.stride = 4, .bytes_fields = 2, .fixed_bytes = 4};
  const uint8_t row[4] = {};
  AlignedBytes out;
  EncodeRecord(layout, row, std::vector<std::string_view>{"ab", "cde"}, &out);
  const std::string good(out.data(), out.size());
  std::vector<std::string_view> v(2);
  const char* r = nullptr;
  // Every prefix and every one-byte extension fails; so do wrong field counts and a length
  // pointing past the end.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeRecord(layout, std::string_view(good.data(), n), &r, absl::MakeSpan(v)))
        << n;
  }
  EXPECT_FALSE(DecodeRecord(layout, good + "x", &r, absl::MakeSpan(v)));
  std::vector<std::string_view> one(1);
  EXPECT_FALSE(DecodeRecord(layout, good, &r, absl::MakeSpan(one)));
  std::string huge = good;
  const uint32_t len = 0xFFFFFFF0u;
  std::memcpy(huge.data() + 4, &len, 4);
  EXPECT_FALSE(DecodeRecord(layout, huge, &r, absl::MakeSpan(v)));
  uint64_t bytes;
  EXPECT_FALSE(ItemBytesOfRecord(layout, 11, &bytes));  // shorter than row + two lengths
}

}  // namespace
}  // namespace strata::internal

namespace strata::internal {
namespace {

// Fields: a (4 bytes, raw) at 0, b (4096 bytes, zstd) at 8, c (2 bytes, zstd) at 4104; stride
// 4112 (padding after a and after c).
RecordLayout Compressed() {
  RecordLayout l;
  l.stride = 4112;
  l.fixed_bytes = 4 + 4096 + 2;
  l.fixed = {{.offset = 0, .bytes = 4},
             {.offset = 8, .bytes = 4096, .zstd = true},
             {.offset = 4104, .bytes = 2, .zstd = true}};
  l.compressed = true;
  return l;
}

std::vector<uint8_t> StructuredRow(const RecordLayout& l) {
  std::vector<uint8_t> row(l.stride, 0);
  for (int i = 0; i < 4; ++i) row[i] = static_cast<uint8_t>(0xA0 + i);
  for (int i = 0; i < 4096; ++i) row[8 + i] = static_cast<uint8_t>((i / 64) % 7 == 0 ? 200 : 0);
  row[4104] = 1;
  row[4105] = 2;
  return row;
}

TEST(RecordCodecCompressionTest, StoredRecordsRoundTripAndShrink) {
  const RecordLayout l = Compressed();
  std::vector<uint8_t> row = StructuredRow(l);
  row[5] = 0x77;  // padding: not stored, decoded as zero
  AlignedBytes stored;
  EncodeStored(l, row.data(), &stored);
  EXPECT_LT(stored.size(), 4096u / 8);  // 4 KiB of stripes compress far below 1/8
  std::vector<uint8_t> back(l.stride, 0xFF);
  ASSERT_TRUE(DecodeStored(l, std::string_view(stored.data(), stored.size()), back.data()));
  row[5] = 0;
  EXPECT_EQ(back, row);
  uint64_t item_bytes = 0;
  EXPECT_TRUE(ItemBytesOfRecord(l, stored.size(), &item_bytes));
  EXPECT_EQ(item_bytes, l.fixed_bytes);
  EXPECT_FALSE(ItemBytesOfRecord(l, 3, &item_bytes));         // shorter than any record
  EXPECT_FALSE(ItemBytesOfRecord(l, 1u << 20, &item_bytes));  // longer than any record
}

TEST(RecordCodecCompressionTest, MalformedStoredRecordsAreRefused) {
  const RecordLayout l = Compressed();
  const std::vector<uint8_t> row = StructuredRow(l);
  AlignedBytes stored;
  EncodeStored(l, row.data(), &stored);
  const std::string good(stored.data(), stored.size());
  std::vector<uint8_t> out(l.stride);
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeStored(l, std::string_view(good.data(), n), out.data())) << n;
  }
  EXPECT_FALSE(DecodeStored(l, good + "x", out.data()));
  // A frame that decompresses to another size than its field's: b's frame in c's place.
  std::string swapped = good;
  uint32_t len_b;
  std::memcpy(&len_b, good.data() + 4, 4);
  const std::string frame_b = good.substr(8, len_b);
  std::string wrong = good.substr(0, 8 + len_b);
  const uint32_t n = len_b;
  wrong.append(reinterpret_cast<const char*>(&n), 4);
  wrong += frame_b;
  EXPECT_FALSE(DecodeStored(l, wrong, out.data()));
  // Corrupt frame bytes.
  std::string garbage = good;
  for (size_t i = 8; i < 8 + len_b; ++i) garbage[i] = static_cast<char>(i * 31);
  EXPECT_FALSE(DecodeStored(l, garbage, out.data()));
}

TEST(RecordCodecCompressionTest, LayoutForASchema) {
  const Schema schema = *Schema::Builder()
                             .Fixed("a", DType::kF32)
                             .Fixed("frames", DType::kU8, {2, 8, 8}, Compression::kZstd)
                             .Build();
  const std::vector<size_t> offsets = {0, 8};
  const RecordLayout l = RecordLayout::For(schema, 136, offsets);
  EXPECT_TRUE(l.compressed);
  ASSERT_EQ(l.fixed.size(), 2u);
  EXPECT_FALSE(l.fixed[0].zstd);
  EXPECT_EQ(l.fixed[1].offset, 8u);
  EXPECT_EQ(l.fixed[1].bytes, 128u);
  EXPECT_TRUE(l.fixed[1].zstd);
  EXPECT_EQ(l.fixed_bytes, 132u);
  const Schema plain = *Schema::Builder().Fixed("a", DType::kF32).Bytes("b").Build();
  const RecordLayout p = RecordLayout::For(plain, 8, std::vector<size_t>{0, 0});
  EXPECT_FALSE(p.compressed);
  EXPECT_EQ(p.bytes_fields, 1u);
}

}  // namespace
}  // namespace strata::internal
