#include "select/reservoir.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "select/uniform.h"
#include "util/chi_square.h"
#include "util/random.h"

namespace strata::internal {
namespace {

constexpr double kAlpha = 1e-4;

TEST(ReservoirPolicyTest, AdmitsEverythingUntilFullWithoutDrawing) {
  Rng rng(1), untouched(1);
  for (uint64_t k = 1; k <= 50; ++k) EXPECT_TRUE(ReservoirPolicy::Admit(k, 50, rng));
  EXPECT_EQ(rng.Next(), untouched.Next());
}

TEST(ReservoirPolicyTest, AdmitsTheKthArrivalWithProbabilityCapacityOverK) {
  // At k = 4 * capacity the admission rate is 1/4; check it with a two-cell chi-square.
  constexpr size_t kCapacity = 25;
  constexpr uint64_t kArrival = 100;
  constexpr int kTrials = 400000;
  Rng rng(2);
  std::vector<uint64_t> observed(2);
  for (int i = 0; i < kTrials; ++i) ++observed[ReservoirPolicy::Admit(kArrival, kCapacity, rng)];
  const double p = double{kCapacity} / kArrival;
  EXPECT_LT(ChiSquareStatistic(observed, {kTrials * (1 - p), kTrials * p}),
            ChiSquareCritical(1, kAlpha));
}

// The property users rely on: a stream of N items through a reservoir of capacity C (admission by
// ReservoirPolicy, the replaced item chosen by a uniform remover) retains every stream position
// with probability C / N. Counted over position buckets across many independent streams.
TEST(ReservoirPolicyTest, UniformRemoverRetainsEveryStreamPositionEqually) {
  constexpr Slot kCapacity = 100;
  constexpr uint64_t kStream = 10 * kCapacity;
  constexpr uint64_t kBuckets = 50;  // 20 consecutive positions each
  constexpr int kRepetitions = 2000;
  std::vector<uint64_t> retained(kBuckets);
  std::vector<uint64_t> position_of(kCapacity);  // slot -> stream position (0-based)
  Rng rng(3);
  UniformSelector remover(kCapacity);
  for (int rep = 0; rep < kRepetitions; ++rep) {
    remover.Clear();
    for (uint64_t k = 1; k <= kStream; ++k) {
      if (!ReservoirPolicy::Admit(k, kCapacity, rng)) continue;
      Slot slot = static_cast<Slot>(remover.size());
      if (remover.size() == kCapacity) {
        slot = remover.Victim(rng);
        remover.Remove(slot);
      }
      remover.Insert({.slot = slot, .seq = k});
      position_of[slot] = k - 1;
    }
    ASSERT_EQ(remover.size(), kCapacity);
    for (Slot s = 0; s < kCapacity; ++s) ++retained[position_of[s] * kBuckets / kStream];
  }
  const double expected_per_bucket = double{kRepetitions} * kCapacity / kBuckets;
  EXPECT_LT(ChiSquareStatistic(retained, std::vector<double>(kBuckets, expected_per_bucket)),
            ChiSquareCritical(kBuckets - 1, kAlpha));
}

TEST(ReservoirPolicyTest, SameSeedSameDecisions) {
  auto run = [](uint64_t seed) {
    Rng rng(seed);
    std::vector<bool> out;
    for (uint64_t k = 1; k <= 1000; ++k) out.push_back(ReservoirPolicy::Admit(k, 10, rng));
    return out;
  };
  EXPECT_EQ(run(4), run(4));
  EXPECT_NE(run(4), run(5));
}

}  // namespace
}  // namespace strata::internal
