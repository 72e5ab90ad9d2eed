#include "select/uniform.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "util/chi_square.h"
#include "util/random.h"

namespace strata::internal {
namespace {

constexpr double kAlpha = 1e-4;

SelectorItem Item(Slot slot, uint64_t seq) { return {.slot = slot, .seq = seq}; }

std::vector<Slot> Sorted(const std::set<Slot>& live) { return {live.begin(), live.end()}; }

// Fills slots 0..2n-1 then removes the odd ones, so the live slots are not a prefix and the dense
// array has been shuffled by removals.
std::set<Slot> FillSparse(UniformSelector& selector, Slot n) {
  std::set<Slot> live;
  for (Slot s = 0; s < 2 * n; ++s) {
    selector.Insert(Item(s, s));
    live.insert(s);
  }
  for (Slot s = 1; s < 2 * n; s += 2) {
    selector.Remove(s);
    live.erase(s);
  }
  return live;
}

TEST(UniformSelectorTest, SamplesWithReplacementUniformly) {
  constexpr Slot kItems = 20;
  constexpr int kDraws = 200000;
  UniformSelector selector(2 * kItems);
  const std::set<Slot> live = FillSparse(selector, kItems);
  ASSERT_EQ(selector.size(), kItems);
  Rng rng(11);
  std::vector<uint64_t> observed(2 * kItems);
  Slot slots[8];
  double probabilities[8];
  for (int i = 0; i < kDraws / 8; ++i) {
    selector.Sample(rng, 8, /*replacement=*/true, slots, probabilities);
    for (int k = 0; k < 8; ++k) {
      ASSERT_TRUE(live.count(slots[k])) << slots[k];
      ASSERT_DOUBLE_EQ(probabilities[k], 1.0 / kItems);
      ++observed[slots[k]];
    }
  }
  std::vector<double> expected(2 * kItems, 0.0);
  for (Slot s : live) expected[s] = double{kDraws} / kItems;
  EXPECT_LT(ChiSquareStatistic(observed, expected), ChiSquareCritical(kItems - 1, kAlpha));
}

TEST(UniformSelectorTest, SamplesWithoutReplacementDistinctWithUniformInclusion) {
  constexpr Slot kItems = 20;
  constexpr size_t kBatch = 7;
  constexpr int kCalls = 40000;
  UniformSelector selector(2 * kItems);
  const std::set<Slot> live = FillSparse(selector, kItems);
  Rng rng(12);
  std::vector<uint64_t> included(2 * kItems);
  std::vector<uint64_t> first(2 * kItems);  // the first draw alone must be uniform too
  Slot slots[kBatch];
  double probabilities[kBatch];
  for (int i = 0; i < kCalls; ++i) {
    selector.Sample(rng, kBatch, /*replacement=*/false, slots, probabilities);
    std::set<Slot> distinct(slots, slots + kBatch);
    ASSERT_EQ(distinct.size(), kBatch);
    for (size_t k = 0; k < kBatch; ++k) {
      ASSERT_TRUE(live.count(slots[k]));
      ASSERT_DOUBLE_EQ(probabilities[k], 1.0 / kItems);
      ++included[slots[k]];
    }
    ++first[slots[0]];
  }
  ASSERT_TRUE(selector.CheckInvariants(Sorted(live)).ok());
  std::vector<double> expected_included(2 * kItems, 0.0), expected_first(2 * kItems, 0.0);
  for (Slot s : live) {
    expected_included[s] = double{kCalls} * kBatch / kItems;
    expected_first[s] = double{kCalls} / kItems;
  }
  const double critical = ChiSquareCritical(kItems - 1, kAlpha);
  EXPECT_LT(ChiSquareStatistic(included, expected_included), critical);
  EXPECT_LT(ChiSquareStatistic(first, expected_first), critical);
}

TEST(UniformSelectorTest, WithoutReplacementOfAllReturnsEveryItem) {
  UniformSelector selector(10);
  const std::set<Slot> live = FillSparse(selector, 5);
  Rng rng(3);
  Slot slots[5];
  double probabilities[5];
  selector.Sample(rng, 5, /*replacement=*/false, slots, probabilities);
  EXPECT_EQ(std::set<Slot>(slots, slots + 5), live);
}

TEST(UniformSelectorTest, EvictsUniformlyAtRandom) {
  constexpr Slot kItems = 16;
  constexpr int kVictims = 160000;
  UniformSelector selector(2 * kItems);
  const std::set<Slot> live = FillSparse(selector, kItems);
  Rng rng(13);
  std::vector<uint64_t> observed(2 * kItems);
  for (int i = 0; i < kVictims; ++i) {
    const Slot victim = selector.Victim(rng);
    ASSERT_TRUE(live.count(victim));
    ++observed[victim];
  }
  std::vector<double> expected(2 * kItems, 0.0);
  for (Slot s : live) expected[s] = double{kVictims} / kItems;
  EXPECT_LT(ChiSquareStatistic(observed, expected), ChiSquareCritical(kItems - 1, kAlpha));
  EXPECT_EQ(selector.size(), kItems);  // Victim does not remove
}

TEST(UniformSelectorTest, MatchesReferenceUnderRandomOps) {
  constexpr Slot kCapacity = 64;
  UniformSelector selector(kCapacity);
  std::set<Slot> live;
  Rng ops(21), rng(22);
  uint64_t seq = 0;
  std::vector<Slot> slots(2 * kCapacity);
  std::vector<double> probabilities(2 * kCapacity);
  for (int step = 0; step < 20000; ++step) {
    if (ops.UniformInt(500) == 0) {
      selector.Clear();
      live.clear();
    }
    const uint64_t op = ops.UniformInt(10);
    if (op < 4 && live.size() < kCapacity) {
      Slot slot;
      do slot = static_cast<Slot>(ops.UniformInt(kCapacity));
      while (live.count(slot));
      selector.Insert(Item(slot, ++seq));
      live.insert(slot);
    } else if (op < 7 && !live.empty()) {
      const Slot slot = *std::next(live.begin(), ops.UniformInt(live.size()));
      selector.Remove(slot);
      live.erase(slot);
    } else if (op == 7 && !live.empty()) {
      const Slot slot = *std::next(live.begin(), ops.UniformInt(live.size()));
      selector.Update({.slot = slot, .priority = 3.0});
    } else if (op == 8 && !live.empty()) {
      const bool replacement = ops.UniformInt(2) == 0;
      const size_t n = 1 + ops.UniformInt(replacement ? 2 * live.size() : live.size());
      selector.Sample(rng, n, replacement, slots.data(), probabilities.data());
      for (size_t k = 0; k < n; ++k) {
        ASSERT_TRUE(live.count(slots[k]));
        ASSERT_DOUBLE_EQ(probabilities[k], 1.0 / live.size());
      }
      if (!replacement) {
        ASSERT_EQ(std::set<Slot>(slots.begin(), slots.begin() + n).size(), n);
      }
    } else if (op == 9 && !live.empty()) {
      ASSERT_TRUE(live.count(selector.Victim(rng)));
    }
    ASSERT_EQ(selector.size(), live.size());
    if (step % 50 == 0) {
      const absl::Status status = selector.CheckInvariants(Sorted(live));
      ASSERT_TRUE(status.ok()) << "step " << step << ": " << status;
    }
  }
}

TEST(UniformSelectorTest, CheckInvariantsRejectsAWrongLiveSet) {
  UniformSelector selector(8);
  for (Slot s : {1u, 4u, 6u}) selector.Insert(Item(s, s));
  EXPECT_TRUE(selector.CheckInvariants(std::vector<Slot>{1, 4, 6}).ok());
  EXPECT_EQ(selector.CheckInvariants(std::vector<Slot>{1, 4}).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(selector.CheckInvariants(std::vector<Slot>{1, 4, 5}).code(),
            absl::StatusCode::kInternal);
  selector.Clear();
  EXPECT_TRUE(selector.CheckInvariants({}).ok());
}

TEST(UniformSelectorTest, SameSeedSameResults) {
  auto run = [](uint64_t seed) {
    UniformSelector selector(32);
    Rng rng(seed);
    std::vector<Slot> out;
    for (Slot s = 0; s < 32; ++s) selector.Insert(Item(s, s));
    Slot slots[10];
    double probabilities[10];
    for (int i = 0; i < 100; ++i) {
      selector.Sample(rng, 10, /*replacement=*/i % 2 == 0, slots, probabilities);
      out.insert(out.end(), slots, slots + 10);
      const Slot victim = selector.Victim(rng);
      out.push_back(victim);
      selector.Remove(victim);
      selector.Insert(Item(victim, 100 + i));
    }
    return out;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

}  // namespace
}  // namespace strata::internal
