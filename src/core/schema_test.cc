#include "strata/schema.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata {
namespace {

using ::testing::HasSubstr;

TEST(SchemaTest, BuildsAndReportsLayout) {
  auto schema = Schema::Builder()
                    .Fixed("obs", DType::kF32, {87})
                    .Fixed("reward", DType::kF32)
                    .Bytes("frame")
                    .Score("loss")
                    .Build();
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_EQ(schema->num_fields(), 3u);
  EXPECT_EQ(schema->fixed_row_bytes(), 87u * 4 + 4);
  EXPECT_TRUE(schema->has_variable_fields());
  EXPECT_EQ(schema->FieldIndex("reward"), 1);
  EXPECT_EQ(schema->FieldIndex("nope"), -1);
  EXPECT_EQ(schema->ScoreIndex("loss"), 0);
  EXPECT_EQ(schema->DebugString(),
            "{obs: float32[87], reward: float32[], frame: bytes; scores: loss}");
}

TEST(SchemaTest, RejectsBadSchemas) {
  EXPECT_THAT(Schema::Create({}).status().message(), HasSubstr("no fields"));
  EXPECT_THAT(
      Schema::Builder().Fixed("a", DType::kU8).Fixed("a", DType::kU8).Build().status().message(),
      HasSubstr("'a' is used twice"));
  EXPECT_THAT(Schema::Builder().Fixed("a", DType::kU8).Score("a").Build().status().message(),
              HasSubstr("'a' is used twice"));
  EXPECT_THAT(Schema::Builder().Fixed("", DType::kU8).Build().status().message(),
              HasSubstr("name is empty"));
  EXPECT_THAT(Schema::Builder().Fixed("x", DType::kU8, {3, 0}).Build().status().message(),
              HasSubstr("field 'x': every dimension must be >= 1, got 0"));
  EXPECT_THAT(
      Schema::Builder().Fixed("x", DType::kF64, {1 << 20, 1 << 20}).Build().status().message(),
      HasSubstr("exceed 1 GiB"));
}

TEST(DTypeTest, NamesAndSizes) {
  EXPECT_EQ(DTypeSize(DType::kF16), 2u);
  EXPECT_EQ(DTypeSize(DType::kI64), 8u);
  EXPECT_EQ(DTypeName(DType::kBool), "bool");
  EXPECT_EQ(*ParseDType("float32"), DType::kF32);
  EXPECT_EQ(*ParseDType("u8"), DType::kU8);
  EXPECT_THAT(ParseDType("float128").status().message(), HasSubstr("unknown dtype 'float128'"));
}

}  // namespace
}  // namespace strata
