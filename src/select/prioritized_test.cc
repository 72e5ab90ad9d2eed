#include "select/prioritized.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "select/selector.h"
#include "select/state_testing.h"
#include "strata/selector.h"
#include "util/chi_square.h"
#include "util/random.h"

namespace strata::internal {
namespace {

constexpr double kFalseAlarm = 1e-4;  // per chi-square test

// The reference: what the selector should hold, as a plain map slot -> priority.
struct Reference {
  double alpha, beta, epsilon;
  std::map<Slot, double> priority;

  double Leaf(Slot slot) const { return std::pow(priority.at(slot) + epsilon, alpha); }
  double Total() const {
    double total = 0;
    for (const auto& [slot, p] : priority) total += Leaf(slot);
    return total;
  }
  double Probability(Slot slot) const { return Leaf(slot) / Total(); }
  // (N P_i)^-beta / max_j (N P_j)^-beta for every live slot, straight from the definition.
  std::map<Slot, double> Weights() const {
    const double n = static_cast<double>(priority.size()), total = Total();
    std::map<Slot, double> weights;
    double max_weight = 0;
    for (const auto& [slot, p] : priority) {
      weights[slot] = std::pow(n * Leaf(slot) / total, -beta);
      max_weight = std::max(max_weight, weights[slot]);
    }
    for (auto& [slot, w] : weights) w /= max_weight;
    return weights;
  }
  std::vector<Slot> Live() const {
    std::vector<Slot> live;
    for (const auto& [slot, p] : priority) live.push_back(slot);
    return live;
  }
};

SelectorItem Item(Slot slot, double priority) { return {.slot = slot, .priority = priority}; }

// 50 items with distinct priorities, including 0 (reachable only through epsilon).
Reference Fill(PrioritizedSelector& selector, const SelectorOptions& options) {
  Reference ref{options.alpha, options.beta, options.epsilon, {}};
  for (Slot slot = 0; slot < 50; ++slot) {
    const double priority = 0.05 * slot;
    selector.Insert(Item(slot, priority));
    ref.priority[slot] = priority;
  }
  return ref;
}

// Chi-square of `draws` samples (in batches of `batch`) against the reference distribution;
// returns statistic / critical value, so < 1 passes. Fails the test if a non-live slot appears.
double SampleFit(PrioritizedSelector& selector, const Reference& ref, size_t capacity, Rng& rng,
                 size_t draws, size_t batch) {
  std::vector<uint64_t> observed(capacity);
  std::vector<Slot> slots(batch);
  std::vector<double> probabilities(batch);
  for (size_t done = 0; done < draws; done += batch) {
    selector.Sample(rng, batch, /*replacement=*/true, slots.data(), probabilities.data());
    for (const Slot slot : slots) {
      EXPECT_TRUE(ref.priority.count(slot)) << "sampled slot " << slot << " is not live";
      ++observed[slot];
    }
  }
  std::vector<double> expected(capacity);
  for (const auto& [slot, p] : ref.priority) expected[slot] = draws * ref.Probability(slot);
  const double dof = static_cast<double>(ref.priority.size() - 1);
  return ChiSquareStatistic(observed, expected) / ChiSquareCritical(dof, kFalseAlarm);
}

class PrioritizedDistributionTest : public ::testing::TestWithParam<std::tuple<double, bool>> {};

TEST_P(PrioritizedDistributionTest, SamplesProportionallyToPriorityPowAlpha) {
  const auto [alpha, stratified] = GetParam();
  const SelectorOptions options = Prioritized(alpha, 0.4, 0.01, stratified);
  PrioritizedSelector selector(options, 64);
  Reference ref = Fill(selector, options);
  Rng rng(11);
  EXPECT_LT(SampleFit(selector, ref, 64, rng, 200'000, 100), 1.0);

  // After updates (single and batched) and removals: removed slots must never come back.
  for (Slot slot = 0; slot < 50; slot += 3) {
    ref.priority[slot] = 3.0 - 0.05 * slot;
    selector.Update(Item(slot, ref.priority[slot]));
  }
  std::vector<SelectorItem> batch;
  for (Slot slot = 1; slot < 50; slot += 4) {
    ref.priority[slot] = 0.2 + 0.01 * slot;
    batch.push_back(Item(slot, ref.priority[slot]));
  }
  selector.UpdateBatch(batch);
  for (Slot slot = 2; slot < 50; slot += 5) {
    ref.priority.erase(slot);
    selector.Remove(slot);
  }
  ASSERT_TRUE(selector.CheckInvariants(ref.Live()).ok());
  EXPECT_LT(SampleFit(selector, ref, 64, rng, 200'000, 100), 1.0);
}

INSTANTIATE_TEST_SUITE_P(AlphaAndStratification, PrioritizedDistributionTest,
                         ::testing::Combine(::testing::Values(1.0, 0.5, 0.0), ::testing::Bool()));

TEST(PrioritizedTest, ChiSquareDetectsTheWrongAlpha) {
  // The fit above can fail: sampling with alpha 0.5 does not fit the alpha 1 distribution.
  const SelectorOptions options = Prioritized(0.5, 0.4, 0.01);
  PrioritizedSelector selector(options, 64);
  Reference ref = Fill(selector, options);
  ref.alpha = 1.0;
  Rng rng(12);
  EXPECT_GT(SampleFit(selector, ref, 64, rng, 200'000, 100), 1.0);
}

TEST(PrioritizedTest, VictimIsAProportionalDraw) {
  const SelectorOptions options = Prioritized(0.7, 0.4, 0.01);
  PrioritizedSelector selector(options, 64);
  Reference ref = Fill(selector, options);
  for (Slot slot = 10; slot < 20; ++slot) {
    selector.Remove(slot);
    ref.priority.erase(slot);
  }
  Rng rng(13);
  std::vector<uint64_t> observed(64);
  constexpr int kDraws = 100'000;
  for (int i = 0; i < kDraws; ++i) {
    const Slot victim = selector.Victim(rng);
    ASSERT_TRUE(ref.priority.count(victim)) << victim;
    ++observed[victim];
  }
  std::vector<double> expected(64);
  for (const auto& [slot, p] : ref.priority) expected[slot] = kDraws * ref.Probability(slot);
  EXPECT_LT(ChiSquareStatistic(observed, expected),
            ChiSquareCritical(ref.priority.size() - 1, kFalseAlarm));
}

TEST(PrioritizedTest, ReportedProbabilitiesAreLeafOverTotal) {
  for (const bool replacement : {true, false}) {
    const SelectorOptions options = Prioritized(0.7, 0.4, 1e-3, /*stratified=*/true);
    PrioritizedSelector selector(options, 64);
    const Reference ref = Fill(selector, options);
    Rng rng(14);
    std::vector<Slot> slots(40);
    std::vector<double> probabilities(40);
    selector.Sample(rng, 40, replacement, slots.data(), probabilities.data());
    for (size_t i = 0; i < slots.size(); ++i) {
      // Exactly what the tree holds, and within rounding of the definition.
      EXPECT_EQ(probabilities[i], selector.leaf(slots[i]) / selector.total());
      EXPECT_NEAR(probabilities[i], ref.Probability(slots[i]), 1e-12 * probabilities[i]);
      EXPECT_EQ(selector.leaf(slots[i]), ref.Leaf(slots[i]));
    }
  }
}

TEST(PrioritizedTest, WeightsMatchTheDefinition) {
  for (const double beta : {0.0, 0.4, 0.5, 1.0, 2.5}) {
    const SelectorOptions options = Prioritized(0.6, beta, 1e-2);
    PrioritizedSelector selector(options, 64);
    Reference ref = Fill(selector, options);
    selector.Remove(0);  // the least likely item: P_min must follow it
    ref.priority.erase(0);
    Rng rng(15);
    std::vector<Slot> slots(256);
    std::vector<double> probabilities(256), weights(256);
    selector.Sample(rng, 256, /*replacement=*/true, slots.data(), probabilities.data());
    selector.Weights(probabilities, Selector::kConfiguredBeta, weights.data());
    const std::map<Slot, double> expected_weights = ref.Weights();
    for (size_t i = 0; i < slots.size(); ++i) {
      const double expected = expected_weights.at(slots[i]);
      EXPECT_NEAR(weights[i], expected, 1e-12 * expected) << "beta " << beta;
      EXPECT_GT(weights[i], 0);
      EXPECT_LE(weights[i], 1.0);
    }
    // The least likely live item gets exactly 1.
    const double p_min = selector.leaf(1) / selector.total();
    double w_min = 0;
    selector.Weights(absl::MakeConstSpan(&p_min, 1), Selector::kConfiguredBeta, &w_min);
    EXPECT_EQ(w_min, 1.0);
  }
}

TEST(PrioritizedTest, WithoutReplacementDrawsDistinctSlotsAndRestoresTheTree) {
  const SelectorOptions options = Prioritized(0.7, 0.4, 1e-3);
  PrioritizedSelector selector(options, 64);
  Reference ref = Fill(selector, options);
  for (Slot slot = 40; slot < 50; ++slot) {
    selector.Remove(slot);
    ref.priority.erase(slot);
  }
  const double total = selector.total();
  Rng rng(16);
  for (const size_t n : {size_t{1}, size_t{5}, size_t{39}, size_t{40}}) {
    std::vector<Slot> slots(n);
    std::vector<double> probabilities(n);
    selector.Sample(rng, n, /*replacement=*/false, slots.data(), probabilities.data());
    const std::set<Slot> distinct(slots.begin(), slots.end());
    EXPECT_EQ(distinct.size(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(ref.priority.count(slots[i]));
      EXPECT_EQ(probabilities[i], selector.leaf(slots[i]) / total);
    }
    const std::vector<Slot> live = ref.Live();
    if (n == 40) {
      EXPECT_EQ(distinct, std::set<Slot>(live.begin(), live.end()));
    }
    EXPECT_EQ(selector.total(), total);  // bit-identical: recomputed, not subtracted and re-added
    EXPECT_EQ(selector.size(), 40u);
    EXPECT_TRUE(selector.CheckInvariants(live).ok());
  }
}

TEST(PrioritizedTest, WithoutReplacementSecondDrawExcludesTheFirst) {
  // Five items, alpha 1: the second of two draws without replacement has
  // P2(j) = sum_{i != j} P(i) P(j) / (1 - P(i)), not P(j).
  const SelectorOptions options = Prioritized(1.0, 0.4, 1e-9);
  PrioritizedSelector selector(options, 5);
  std::vector<double> p = {1, 2, 3, 4, 5};
  for (Slot slot = 0; slot < 5; ++slot) selector.Insert(Item(slot, p[slot]));
  for (double& x : p) x /= 15;
  Rng rng(17);
  constexpr int kDraws = 100'000;
  std::vector<uint64_t> first(5), second(5);
  Slot slots[2];
  double probabilities[2];
  for (int i = 0; i < kDraws; ++i) {
    selector.Sample(rng, 2, /*replacement=*/false, slots, probabilities);
    ASSERT_NE(slots[0], slots[1]);
    ++first[slots[0]];
    ++second[slots[1]];
  }
  std::vector<double> expected_first(5), expected_second(5);
  for (int j = 0; j < 5; ++j) {
    expected_first[j] = kDraws * p[j];
    for (int i = 0; i < 5; ++i) {
      if (i != j) expected_second[j] += kDraws * p[i] * p[j] / (1 - p[i]);
    }
  }
  EXPECT_LT(ChiSquareStatistic(first, expected_first), ChiSquareCritical(4, kFalseAlarm));
  EXPECT_LT(ChiSquareStatistic(second, expected_second), ChiSquareCritical(4, kFalseAlarm));
}

TEST(PrioritizedTest, SameSeedSameResults) {
  for (const bool stratified : {false, true}) {
    const SelectorOptions options = Prioritized(0.7, 0.5, 1e-6, stratified);
    PrioritizedSelector a(options, 1000), b(options, 1000);
    for (Slot slot = 0; slot < 1000; ++slot) {
      a.Insert(Item(slot, slot % 17));
      b.Insert(Item(slot, slot % 17));
    }
    Rng rng_a(18), rng_b(18), priorities(99);
    std::vector<Slot> slots_a(300), slots_b(300);
    std::vector<double> prob_a(300), prob_b(300);
    for (int round = 0; round < 10; ++round) {
      const bool replacement = round % 2 == 0;
      a.Sample(rng_a, 300, replacement, slots_a.data(), prob_a.data());
      b.Sample(rng_b, 300, replacement, slots_b.data(), prob_b.data());
      ASSERT_EQ(slots_a, slots_b);
      ASSERT_EQ(prob_a, prob_b);
      ASSERT_EQ(a.Victim(rng_a), b.Victim(rng_b));
      std::vector<SelectorItem> items(slots_a.size());
      for (size_t i = 0; i < items.size(); ++i) {
        items[i] = Item(slots_a[i], priorities.Uniform01());
      }
      a.UpdateBatch(items);
      b.UpdateBatch(items);
    }
  }
}

TEST(PrioritizedTest, UpdateBatchEqualsSequentialUpdates) {
  const SelectorOptions options = Prioritized(0.7, 0.5, 1e-6);
  PrioritizedSelector batched(options, 3000), sequential(options, 3000);
  for (Slot slot = 0; slot < 3000; ++slot) {
    batched.Insert(Item(slot, 1.0));
    sequential.Insert(Item(slot, 1.0));
  }
  Rng rng(19);
  for (int round = 0; round < 50; ++round) {
    std::vector<SelectorItem> items;
    const size_t n = 1 + rng.UniformInt(500);
    // A narrow range of slots, so that many appear more than once: the last one must win.
    const Slot base = static_cast<Slot>(rng.UniformInt(2800));
    for (size_t i = 0; i < n; ++i) {
      items.push_back(Item(base + static_cast<Slot>(rng.UniformInt(200)), 10 * rng.Uniform01()));
    }
    batched.UpdateBatch(items);
    for (const SelectorItem& item : items) sequential.Update(item);
    for (Slot slot = 0; slot < 3000; ++slot) {
      ASSERT_EQ(batched.leaf(slot), sequential.leaf(slot));
    }
    ASSERT_EQ(batched.total(), sequential.total());
  }
  std::vector<Slot> live(3000);
  for (Slot slot = 0; slot < 3000; ++slot) live[slot] = slot;
  EXPECT_TRUE(batched.CheckInvariants(live).ok());
}

TEST(PrioritizedTest, RandomOperationsMatchTheReference) {
  // Thousands of random inserts, updates (single and batched), removals, samples and the odd
  // clear, checked against the reference after every operation.
  for (const size_t capacity : {size_t{1}, size_t{13}, size_t{512}, size_t{513}}) {
    const SelectorOptions options = Prioritized(0.8, 0.6, 1e-3, capacity % 2 == 1);
    PrioritizedSelector selector(options, capacity);
    Reference ref{options.alpha, options.beta, options.epsilon, {}};
    Rng rng(20 + capacity);
    std::vector<Slot> slots(64);
    std::vector<double> probabilities(64), weights(64);
    for (int op = 0; op < 4000; ++op) {
      const uint64_t kind = rng.UniformInt(100);
      const Slot slot = static_cast<Slot>(rng.UniformInt(capacity));
      const double priority = rng.UniformInt(10) == 0 ? 0.0 : 5 * rng.Uniform01();
      const bool live = ref.priority.count(slot) > 0;
      if (kind < 35) {
        if (live) {
          selector.Update(Item(slot, priority));
        } else {
          selector.Insert(Item(slot, priority));
        }
        ref.priority[slot] = priority;
      } else if (kind < 55) {
        if (live) {
          selector.Remove(slot);
          ref.priority.erase(slot);
        }
      } else if (kind < 70 && !ref.priority.empty()) {
        std::vector<SelectorItem> items;
        const std::vector<Slot> all = ref.Live();
        for (uint64_t i = rng.UniformInt(2 * all.size() + 1); i > 0; --i) {
          const Slot s = all[rng.UniformInt(all.size())];
          items.push_back(Item(s, 5 * rng.Uniform01()));
          ref.priority[s] = items.back().priority;
        }
        selector.UpdateBatch(items);
      } else if (kind < 99 && !ref.priority.empty()) {
        const bool replacement = rng.UniformInt(2) == 0;
        const size_t n =
            1 + rng.UniformInt(replacement ? 64 : std::min<size_t>(64, ref.priority.size()));
        selector.Sample(rng, n, replacement, slots.data(), probabilities.data());
        selector.Weights(absl::MakeConstSpan(probabilities.data(), n), Selector::kConfiguredBeta,
                         weights.data());
        const std::map<Slot, double> expected_weights = ref.Weights();
        for (size_t i = 0; i < n; ++i) {
          ASSERT_TRUE(ref.priority.count(slots[i])) << "sampled a non-live slot " << slots[i];
          ASSERT_NEAR(probabilities[i], ref.Probability(slots[i]), 1e-12 * probabilities[i]);
          ASSERT_NEAR(weights[i], expected_weights.at(slots[i]), 1e-12 * weights[i]);
        }
        ASSERT_TRUE(ref.priority.count(selector.Victim(rng)));
      } else if (kind == 99) {
        selector.Clear();
        ref.priority.clear();
      }
      ASSERT_EQ(selector.size(), ref.priority.size());
      const absl::Status status = selector.CheckInvariants(ref.Live());
      ASSERT_TRUE(status.ok()) << status << " after op " << op;
      for (const auto& [s, p] : ref.priority) ASSERT_EQ(selector.leaf(s), ref.Leaf(s));
      ASSERT_NEAR(selector.total(), ref.Total(), 1e-12 * ref.Total());
    }
  }
}

TEST(PrioritizedTest, EdgeCapacitiesReachEverySlot) {
  // Capacity 1, not a multiple of 8, 8^k and 8^k + 1: every slot (the last one especially) is
  // reachable, and stratified batches larger than the table hit the very top of the total.
  for (const size_t capacity : {1, 7, 13, 64, 512, 513, 4097}) {
    for (const bool stratified : {false, true}) {
      PrioritizedSelector selector(Prioritized(1.0, 0.5, 1e-6, stratified), capacity);
      std::vector<Slot> live;
      for (Slot slot = 0; slot < capacity; ++slot) {
        selector.Insert(Item(slot, 1.0));
        live.push_back(slot);
      }
      ASSERT_TRUE(selector.CheckInvariants(live).ok());
      Rng rng(21);
      const size_t n = 4 * capacity;
      std::vector<Slot> slots(n);
      std::vector<double> probabilities(n);
      std::vector<bool> seen(capacity);
      for (int round = 0; round < 20; ++round) {
        selector.Sample(rng, n, /*replacement=*/true, slots.data(), probabilities.data());
        for (const Slot slot : slots) {
          ASSERT_LT(slot, capacity);
          seen[slot] = true;
        }
      }
      EXPECT_EQ(std::count(seen.begin(), seen.end(), true), static_cast<long>(capacity))
          << "capacity " << capacity << (stratified ? " stratified" : "");
      selector.Sample(rng, capacity, /*replacement=*/false, slots.data(), probabilities.data());
      std::sort(slots.begin(), slots.begin() + capacity);
      EXPECT_TRUE(std::equal(live.begin(), live.end(), slots.begin()));
    }
  }
}

TEST(PrioritizedTest, TopOfTheRangeNeverReturnsAnEmptySlot) {
  // Mass only at the front of the table, the rest empty: the last stratum's query sits at the
  // top of the total, where rounding must not slide into the empty slots behind it.
  for (const size_t capacity : {9, 65, 513, 4097}) {
    PrioritizedSelector selector(Prioritized(0.7, 0.5, 1e-6, /*stratified=*/true), capacity);
    const Slot last_live = static_cast<Slot>(capacity / 3);
    std::vector<Slot> live;
    for (Slot slot = 0; slot <= last_live; ++slot) {
      selector.Insert(Item(slot, 0.1 * slot));  // inexact sums
      live.push_back(slot);
    }
    ASSERT_TRUE(selector.CheckInvariants(live).ok());
    Rng rng(22);
    std::vector<Slot> slots(10'000);
    std::vector<double> probabilities(10'000);
    for (int round = 0; round < 20; ++round) {
      selector.Sample(rng, slots.size(), /*replacement=*/true, slots.data(), probabilities.data());
      for (const Slot slot : slots) ASSERT_LE(slot, last_live);
      EXPECT_EQ(slots.back(), last_live);
    }
  }
}

TEST(PrioritizedTest, ExtremePrioritiesStayLiveAndFinite) {
  // (0 + 1e-6)^100 underflows and (1e300)^2 overflows: both are clamped, so the first stays
  // sampleable and the total stays finite.
  PrioritizedSelector selector(Prioritized(100.0, 0.5, 1e-6), 4);
  selector.Insert(Item(0, 0.0));
  EXPECT_GT(selector.leaf(0), 0);
  Rng rng(23);
  Slot slot;
  double probability;
  selector.Sample(rng, 1, /*replacement=*/true, &slot, &probability);
  EXPECT_EQ(slot, 0u);
  selector.Insert(Item(1, 1e300));
  EXPECT_TRUE(std::isfinite(selector.total()));
  EXPECT_TRUE(selector.CheckInvariants({0, 1}).ok());
}

TEST(PrioritizedTest, CheckInvariantsRejectsAWrongLiveSet) {
  PrioritizedSelector selector(Prioritized(), 20);
  for (Slot slot = 0; slot < 10; ++slot) selector.Insert(Item(slot, 1.0));
  std::vector<Slot> live = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_TRUE(selector.CheckInvariants(live).ok());
  live[9] = 10;  // 9 is live but not listed, 10 is listed but empty
  const absl::Status status = selector.CheckInvariants(live);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(std::string(status.message()).find("slot 9"), std::string::npos) << status;
  live.pop_back();
  EXPECT_FALSE(selector.CheckInvariants(live).ok());  // size mismatch
}

TEST(PrioritizedTest, LeafValueFastPathsMatchPow) {
  for (const double alpha : {0.0, 1.0, 0.7}) {
    PrioritizedSelector selector(Prioritized(alpha, 0.5, 1e-6), 1);
    for (const double p : {0.0, 0.3, 1.0, 7.5, 1e6}) {
      EXPECT_EQ(selector.LeafValue(p), std::pow(p + 1e-6, alpha)) << alpha << " " << p;
    }
  }
}

TEST(PrioritizedTest, LoadedStateSamplesWeighsAndEvictsAsTheSaved) {
  constexpr size_t kCapacity = 100;  // not a power of 8: a partial top level
  for (bool stratified : {false, true}) {
    const SelectorOptions options = Prioritized(0.6, 0.4, 1e-3, stratified);
    for (uint64_t seed : {1, 2}) {
      PrioritizedSelector original(options, kCapacity);
      state_testing::ItemModel model(kCapacity, 1);
      Rng rng(seed);
      state_testing::RandomHistory(original, model, rng, 500);
      ASSERT_GE(model.size(), 8u);
      std::string state;
      original.SaveState(&state);
      PrioritizedSelector loaded(options, kCapacity);
      ASSERT_TRUE(loaded.LoadState(state, model.Items()).ok());
      ASSERT_TRUE(loaded.CheckInvariants(model.Live()).ok());
      EXPECT_EQ(loaded.total(), original.total());
      for (Slot s = 0; s < kCapacity; ++s) ASSERT_EQ(loaded.leaf(s), original.leaf(s)) << s;
      EXPECT_EQ(state_testing::CountDifferences(original, loaded, model, seed, 500), 0);
    }
  }
}

TEST(PrioritizedTest, LoadedStateTakesPrioritiesFromTheItemsAndAlphaFromTheOptions) {
  constexpr size_t kCapacity = 20;
  PrioritizedSelector original(Prioritized(0.6), kCapacity);
  state_testing::ItemModel model(kCapacity, 1);
  Rng rng(4);
  state_testing::RandomHistory(original, model, rng, 40);
  std::string state;
  original.SaveState(&state);
  // Reopened with another alpha: the leaves follow it, as a rebuild would give.
  PrioritizedSelector loaded(Prioritized(1.0), kCapacity);
  ASSERT_TRUE(loaded.LoadState(state, model.Items()).ok());
  for (const SelectorItem& item : model.Items()) {
    EXPECT_EQ(loaded.leaf(item.slot), loaded.LeafValue(item.priority));
  }
}

TEST(PrioritizedTest, LoadStateRefusesCorruptStates) {
  constexpr size_t kCapacity = 32;
  PrioritizedSelector original(Prioritized(), kCapacity);
  state_testing::ItemModel model(kCapacity, 1);
  Rng rng(9);
  state_testing::RandomHistory(original, model, rng, 60);
  ASSERT_GE(model.size(), 2u);
  ASSERT_LT(model.size(), kCapacity);
  std::string state;
  original.SaveState(&state);
  // The tree follows from the items' priorities: the state lists nothing.
  EXPECT_EQ(state, state_testing::ImplicitSlotList("prioritized", model.size()));
  PrioritizedSelector fresh(Prioritized(), kCapacity);
  state_testing::ExpectCommonRefusals(fresh, state, model.Items(), kCapacity);
  // States that list the slots (written before the implicit form) are still read and checked.
  const std::string listed = state_testing::ExplicitSlotList("prioritized", model.Live());
  ASSERT_TRUE(fresh.LoadState(listed, model.Items()).ok());
  for (Slot s = 0; s < kCapacity; ++s) ASSERT_EQ(fresh.leaf(s), original.leaf(s)) << s;
  state_testing::ExpectCommonRefusals(fresh, listed, model.Items(), kCapacity);
  state_testing::ExpectSlotListRefusals(fresh, listed, model.Items(), kCapacity);
  const Slot first = state_testing::U32At(listed, 4), second = state_testing::U32At(listed, 8);
  const std::string swapped =
      state_testing::WithU32(state_testing::WithU32(listed, 4, second), 8, first);
  state_testing::ExpectRefused(fresh, swapped, model.Items(), absl::StatusCode::kDataLoss,
                               "slots out of order");
  EXPECT_EQ(fresh.total(), 0.0);
}

}  // namespace
}  // namespace strata::internal
