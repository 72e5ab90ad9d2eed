#include "util/random.h"

#include <vector>

#include "gtest/gtest.h"
#include "util/chi_square.h"

namespace strata::internal {
namespace {

TEST(RngTest, SameSeedSameSequence) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= (x != c.Next());
  }
  EXPECT_TRUE(differs);
}

TEST(RngTest, Uniform01InRange) {
  Rng rng(1);
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.Uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(RngTest, UniformIntIsUniform) {
  // 7 cells (not a power of two, so rejection matters); chi-square at alpha = 1e-4.
  Rng rng(7);
  constexpr int kCells = 7, kDraws = 700000;
  std::vector<uint64_t> observed(kCells);
  for (int i = 0; i < kDraws; ++i) {
    const uint64_t v = rng.UniformInt(kCells);
    ASSERT_LT(v, static_cast<uint64_t>(kCells));
    ++observed[v];
  }
  std::vector<double> expected(kCells, double{kDraws} / kCells);
  EXPECT_LT(ChiSquareStatistic(observed, expected), ChiSquareCritical(kCells - 1, 1e-4));
}

TEST(ChiSquareTest, CriticalValuesMatchTables) {
  // Reference values from standard chi-square tables.
  EXPECT_NEAR(ChiSquareCritical(10, 0.001), 29.588, 0.3);
  EXPECT_NEAR(ChiSquareCritical(99, 0.001), 148.23, 1.0);
  EXPECT_NEAR(ChiSquareCritical(5, 0.01), 15.086, 0.2);
}

TEST(ChiSquareTest, DetectsBias) {
  std::vector<uint64_t> observed = {1200, 800};
  std::vector<double> expected = {1000, 1000};
  EXPECT_GT(ChiSquareStatistic(observed, expected), ChiSquareCritical(1, 0.001));
}

}  // namespace
}  // namespace strata::internal
