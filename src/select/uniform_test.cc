#include "select/uniform.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "select/fifo.h"
#include "select/state_testing.h"
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

// A selector loaded from a saved state draws exactly what the saver draws next; one rebuilt by
// inserting the same items in seq order (what a checkpoint did before states) does not, because
// removals reordered the dense array.
TEST(UniformSelectorTest, LoadedStateSamplesAndEvictsAsTheSaved) {
  constexpr size_t kCapacity = 64;
  for (uint64_t seed : {1, 2, 3}) {
    UniformSelector original(kCapacity);
    state_testing::ItemModel model(kCapacity, 4);
    Rng rng(seed);
    state_testing::RandomHistory(original, model, rng, 400);
    ASSERT_GE(model.size(), 8u);
    std::string state;
    original.SaveState(&state);
    UniformSelector loaded(kCapacity), rebuilt(kCapacity);
    ASSERT_TRUE(loaded.LoadState(state, model.Items()).ok());
    ASSERT_TRUE(loaded.CheckInvariants(model.Live()).ok());
    std::string again;
    loaded.SaveState(&again);
    EXPECT_EQ(again, state);
    std::vector<SelectorItem> by_seq = model.Items();
    std::sort(by_seq.begin(), by_seq.end(),
              [](const SelectorItem& a, const SelectorItem& b) { return a.seq < b.seq; });
    for (const SelectorItem& item : by_seq) rebuilt.Insert(item);
    state_testing::ItemModel model_copy = model;
    EXPECT_EQ(state_testing::CountDifferences(original, loaded, model, seed, 400), 0);
    // The same comparison catches the rebuilt one (so it can fail).
    UniformSelector original_again(kCapacity);
    ASSERT_TRUE(original_again.LoadState(state, model_copy.Items()).ok());
    EXPECT_GT(state_testing::CountDifferences(original_again, rebuilt, model_copy, seed, 400), 0);
  }
}

TEST(UniformSelectorTest, LoadStateRefusesCorruptStates) {
  constexpr size_t kCapacity = 32;
  UniformSelector original(kCapacity);
  state_testing::ItemModel model(kCapacity, 1);
  Rng rng(7);
  state_testing::RandomHistory(original, model, rng, 60);
  ASSERT_GE(model.size(), 2u);
  ASSERT_LT(model.size(), kCapacity);
  std::string state;
  original.SaveState(&state);
  UniformSelector fresh(kCapacity);
  state_testing::ExpectCommonRefusals(fresh, state, model.Items(), kCapacity);
  state_testing::ExpectSlotListRefusals(fresh, state, model.Items(), kCapacity);
  // Its order is its own: a state that does not list it is corrupt.
  state_testing::ExpectRefused(fresh, state_testing::ImplicitSlotList("uniform", model.size()),
                               model.Items(), absl::StatusCode::kDataLoss,
                               "an implicit slot list, which this selector never writes");
  // A FIFO's state has the same layout, but is not a uniform one.
  FifoSelector fifo(kCapacity, /*newest_first=*/false);
  for (const SelectorItem& item : model.Items()) fifo.Insert(item);
  std::string fifo_state;
  fifo.SaveState(&fifo_state);
  state_testing::ExpectRefused(fresh, fifo_state, model.Items(),
                               absl::StatusCode::kFailedPrecondition, "saved by 'fifo'");
}

}  // namespace
}  // namespace strata::internal
