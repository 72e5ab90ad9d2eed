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
