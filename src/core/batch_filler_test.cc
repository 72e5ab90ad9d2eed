#include "core/batch_filler.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::internal {
namespace {

using ::testing::ElementsAre;

class BatchFillerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_ = *Schema::Builder()
                   .Fixed("obs", DType::kF32, {2})
                   .Bytes("text")
                   .Fixed("id", DType::kI64)
                   .Score("loss")
                   .Build();
    rows_ = *RowStore::Create(schema_, 8);
    index_ = *SlotIndex::Create(8, 1, /*variable_bytes=*/true, 0);
    for (int i = 0; i < 5; ++i) {
      const Slot s = index_.Add(SlotIndex::NewItem{
          .priority = 0.5 * i, .group = i % 2, .task = 7, .seq = uint64_t(i), .bytes = 4});
      const float obs[2] = {float(i), float(10 * i)};
      std::memcpy(rows_.field_ptr(0, s), obs, sizeof(obs));
      const int64_t id = 100 + i;
      std::memcpy(rows_.field_ptr(2, s), &id, sizeof(id));
      const std::string text(i, static_cast<char>('a' + i));  // item 0 has an empty value
      rows_.SetBytes(1, s, text.data(), text.size());
      index_.SetScore(0, s, 1.5f * i);
    }
  }
  Schema schema_;
  RowStore rows_;
  SlotIndex index_;
};

TEST_F(BatchFillerTest, FillsMetadataRowsAndBytesFromDram) {
  const std::vector<Slot> slots = {3, 0, 3, 4};  // repeats are items of their own
  SampleBatch out;
  BatchFiller::Arrays dst = BatchFiller::Shape(schema_, rows_, slots.size(), &out);
  EXPECT_EQ(dst[1], nullptr);  // the bytes field has no fixed array
  BatchFiller::Metadata(index_, slots, /*count_sample=*/true, &out, &rows_);
  rows_.Gather(slots.data(), slots.size(), dst.data());
  std::vector<std::string_view> values(slots.size());
  BatchFiller::BytesOf(rows_, slots, absl::MakeSpan(values));
  BatchFiller::WriteBytes(rows_, slots.size(), values, &out);

  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out.keys()[0], index_.KeyOf(3));
  EXPECT_THAT(out.priorities(), ElementsAre(1.5, 0.0, 1.5, 2.0));
  EXPECT_THAT(out.groups(), ElementsAre(1, 0, 1, 0));
  EXPECT_THAT(out.tasks(), ElementsAre(7, 7, 7, 7));
  EXPECT_THAT(out.times_sampled(), ElementsAre(1, 1, 2, 1));  // slot 3 counted twice
  EXPECT_EQ(index_.meta(3).sampled, 2u);
  EXPECT_THAT(out.field(0).shape, ElementsAre(4, 2));
  EXPECT_THAT(out.field(0).values<float>(), ElementsAre(3, 30, 0, 0, 3, 30, 4, 40));
  EXPECT_THAT(out.field(2).values<int64_t>(), ElementsAre(103, 100, 103, 104));
  EXPECT_EQ(out.field(1).name, "text");
  EXPECT_TRUE(out.field(1).variable);
  EXPECT_EQ(out.field(1).bytes(0), "ddd");
  EXPECT_EQ(out.field(1).bytes(1), "");
  EXPECT_EQ(out.field(1).bytes(3), "eeee");
  EXPECT_TRUE(out.scores().empty());
}

TEST_F(BatchFillerTest, ScanCountsNoSampleAndCarriesScores) {
  const std::vector<Slot> slots = {1, 2};
  SampleBatch out;
  BatchFiller::Shape(schema_, rows_, slots.size(), &out);
  BatchFiller::Metadata(index_, slots, /*count_sample=*/false, &out);
  BatchFiller::Scores(index_, slots, &out);
  EXPECT_THAT(out.times_sampled(), ElementsAre(0, 0));
  EXPECT_THAT(out.scores(), ElementsAre(1.5f, 3.0f));
  // A reused batch is reshaped: a smaller batch next, and its scores cleared.
  BatchFiller::Shape(schema_, rows_, 1, &out);
  EXPECT_THAT(out.field(0).shape, ElementsAre(1, 2));
  EXPECT_TRUE(out.scores().empty());
}

}  // namespace
}  // namespace strata::internal
