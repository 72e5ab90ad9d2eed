#include "select/group_balanced.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "util/chi_square.h"
#include "util/random.h"

namespace strata::internal {
namespace {

constexpr double kAlpha = 1e-4;

SelectorOptions Options(VictimOrder order) {
  return GroupBalanced(order, order == VictimOrder::kLowestScore ? "loss" : "");
}

SelectorItem Item(Slot slot, int32_t group, uint64_t seq, double score = 0) {
  return {.slot = slot, .group = group, .seq = seq, .score = score};
}

// Groups of unequal sizes with ids that are neither dense nor sorted by arrival.
struct Population {
  std::vector<int32_t> ids = {42, -7, 3};
  std::vector<Slot> sizes = {3, 6, 11};
  std::map<Slot, int32_t> group_of;

  Slot total() const { return 3 + 6 + 11; }
  int group_index(int32_t id) const {
    return static_cast<int>(std::find(ids.begin(), ids.end(), id) - ids.begin());
  }
  // Inserts the groups' items interleaved, into slots in a scrambled order.
  void Fill(GroupBalancedSelector& selector) {
    Slot slot = 0;
    uint64_t seq = 0;
    for (Slot k = 0; k < 11; ++k) {
      for (size_t g = 0; g < ids.size(); ++g) {
        if (k >= sizes[g]) continue;
        const Slot scrambled = (slot++ * 7) % total();
        selector.Insert(Item(scrambled, ids[g], ++seq, /*score=*/1.0));
        group_of[scrambled] = ids[g];
      }
    }
  }
};

class GroupBalancedOrderTest : public testing::TestWithParam<VictimOrder> {};

TEST_P(GroupBalancedOrderTest, SamplesGroupsEquallyAndItemsUniformlyWithinGroups) {
  GroupBalancedSelector selector(Options(GetParam()), 20);
  Population pop;
  pop.Fill(selector);
  ASSERT_EQ(selector.size(), pop.total());
  Rng rng(51);
  constexpr int kDraws = 330000;
  std::vector<uint64_t> per_group(3), per_item(pop.total());
  Slot slots[10];
  double probabilities[10];
  for (int i = 0; i < kDraws / 10; ++i) {
    selector.Sample(rng, 10, /*replacement=*/true, slots, probabilities);
    for (int k = 0; k < 10; ++k) {
      const int g = pop.group_index(pop.group_of.at(slots[k]));
      ASSERT_DOUBLE_EQ(probabilities[k], 1.0 / (3.0 * pop.sizes[g]));
      ++per_group[g];
      ++per_item[slots[k]];
    }
  }
  EXPECT_LT(ChiSquareStatistic(per_group, std::vector<double>(3, kDraws / 3.0)),
            ChiSquareCritical(2, kAlpha));
  std::vector<double> expected(pop.total());
  for (const auto& [slot, id] : pop.group_of) {
    expected[slot] = kDraws / (3.0 * pop.sizes[pop.group_index(id)]);
  }
  EXPECT_LT(ChiSquareStatistic(per_item, expected), ChiSquareCritical(pop.total() - 1, kAlpha));
}

TEST_P(GroupBalancedOrderTest, SamplesWithoutReplacementBalancedAndDistinct) {
  // With n no larger than the smallest group no group runs out, so every draw picks a group
  // uniformly and an item is included with probability n / (groups * |its group|).
  GroupBalancedSelector selector(Options(GetParam()), 20);
  Population pop;
  pop.Fill(selector);
  Rng rng(52);
  constexpr size_t kBatch = 3;
  constexpr int kCalls = 100000;
  std::vector<uint64_t> per_group(3), per_item(pop.total());
  Slot slots[kBatch];
  double probabilities[kBatch];
  for (int i = 0; i < kCalls; ++i) {
    selector.Sample(rng, kBatch, /*replacement=*/false, slots, probabilities);
    ASSERT_EQ(std::set<Slot>(slots, slots + kBatch).size(), kBatch);
    for (size_t k = 0; k < kBatch; ++k) {
      const int g = pop.group_index(pop.group_of.at(slots[k]));
      ASSERT_DOUBLE_EQ(probabilities[k], 1.0 / (3.0 * pop.sizes[g]));
      ++per_group[g];
      ++per_item[slots[k]];
    }
  }
  EXPECT_LT(ChiSquareStatistic(per_group, std::vector<double>(3, kCalls * kBatch / 3.0)),
            ChiSquareCritical(2, kAlpha));
  std::vector<double> expected(pop.total());
  for (const auto& [slot, id] : pop.group_of) {
    expected[slot] = double{kCalls} * kBatch / (3.0 * pop.sizes[pop.group_index(id)]);
  }
  EXPECT_LT(ChiSquareStatistic(per_item, expected), ChiSquareCritical(pop.total() - 1, kAlpha));
  std::vector<Slot> live;
  for (const auto& [slot, id] : pop.group_of) live.push_back(slot);
  EXPECT_TRUE(selector.CheckInvariants(live).ok());
}

TEST_P(GroupBalancedOrderTest, SampleOfEveryItemWithoutReplacementLeavesStateIntact) {
  GroupBalancedSelector selector(Options(GetParam()), 20);
  Population pop;
  pop.Fill(selector);
  std::vector<Slot> live;
  for (const auto& [slot, id] : pop.group_of) live.push_back(slot);
  Rng rng(53);
  std::vector<Slot> slots(pop.total());
  std::vector<double> probabilities(pop.total());
  for (int i = 0; i < 20; ++i) {
    selector.Sample(rng, pop.total(), /*replacement=*/false, slots.data(), probabilities.data());
    std::vector<Slot> sorted = slots;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(sorted, live);
    const absl::Status status = selector.CheckInvariants(live);
    ASSERT_TRUE(status.ok()) << status;
  }
}

const auto kAllOrders =
    testing::Values(VictimOrder::kOldest, VictimOrder::kRandom, VictimOrder::kLowestScore);

std::string OrderName(const testing::TestParamInfo<VictimOrder>& info) {
  switch (info.param) {
    case VictimOrder::kOldest:
      return "Oldest";
    case VictimOrder::kRandom:
      return "Random";
    case VictimOrder::kLowestScore:
      return "LowestScore";
  }
  return "";
}

INSTANTIATE_TEST_SUITE_P(AllOrders, GroupBalancedOrderTest, kAllOrders, OrderName);

TEST(GroupBalancedSelectorTest, EvictsTheOldestOfTheLargestGroup) {
  GroupBalancedSelector selector(Options(VictimOrder::kOldest), 16);
  Rng rng(0);
  // group 5: slots 0 (seq 1), 3 (seq 4), 4 (seq 5); group 2: slots 1 (seq 2), 2 (seq 3).
  selector.Insert(Item(0, 5, 1));
  selector.Insert(Item(1, 2, 2));
  selector.Insert(Item(2, 2, 3));
  selector.Insert(Item(3, 5, 4));
  selector.Insert(Item(4, 5, 5));
  EXPECT_EQ(selector.Victim(rng), 0u);
  selector.Remove(0);
  // 2 vs 2: the tie goes to the smaller id, 2, whose oldest is slot 1.
  EXPECT_EQ(selector.Victim(rng), 1u);
  selector.Remove(1);
  EXPECT_EQ(selector.Victim(rng), 3u);
  selector.Remove(3);
  EXPECT_EQ(selector.Victim(rng), 2u);  // 1 vs 1: group 2
  selector.Insert(Item(0, -1, 6));      // a negative id wins the tie now
  EXPECT_EQ(selector.Victim(rng), 0u);
  EXPECT_EQ(selector.group_size(5), 1u);
  EXPECT_EQ(selector.group_size(2), 1u);
  EXPECT_EQ(selector.group_size(-1), 1u);
  EXPECT_EQ(selector.group_size(99), 0u);
  EXPECT_EQ(selector.groups_seen(), 3u);
  EXPECT_EQ(selector.quota(), 16u / 3);
  EXPECT_TRUE(selector.CheckInvariants(std::vector<Slot>{0, 2, 4}).ok());
}

TEST(GroupBalancedSelectorTest, EvictsTheLowestScoreOfTheLargestGroup) {
  GroupBalancedSelector selector(Options(VictimOrder::kLowestScore), 16);
  Rng rng(0);
  selector.Insert(Item(0, 1, 1, 0.5));
  selector.Insert(Item(1, 1, 2, 0.2));
  selector.Insert(Item(2, 1, 3, 0.2));  // ties with slot 1, which is older
  selector.Insert(Item(3, 1, 4, 0.9));
  selector.Insert(Item(4, 0, 5, 0.0));  // the lowest score, but in the smaller group
  EXPECT_EQ(selector.Victim(rng), 1u);
  selector.Update(Item(3, 1, 4, 0.1));  // now the lowest of group 1
  EXPECT_EQ(selector.Victim(rng), 3u);
  selector.Update(Item(3, 1, 4, 0.7));
  selector.Update(Item(1, 1, 2, 0.6));
  EXPECT_EQ(selector.Victim(rng), 2u);
  selector.Remove(2);
  EXPECT_EQ(selector.Victim(rng), 0u);  // 0.5 < 0.6 < 0.7
  selector.Remove(0);
  selector.Remove(1);
  EXPECT_EQ(selector.Victim(rng), 4u);  // 1 vs 1: group 0
  EXPECT_TRUE(selector.CheckInvariants(std::vector<Slot>{3, 4}).ok());
}

TEST(GroupBalancedSelectorTest, EvictsUniformlyWithinTheLargestGroup) {
  GroupBalancedSelector selector(Options(VictimOrder::kRandom), 32);
  for (Slot s = 0; s < 12; ++s) selector.Insert(Item(s, 1, s));
  for (Slot s = 12; s < 20; ++s) selector.Insert(Item(s, 0, s));
  Rng rng(54);
  constexpr int kVictims = 120000;
  std::vector<uint64_t> observed(20);
  for (int i = 0; i < kVictims; ++i) ++observed[selector.Victim(rng)];
  std::vector<double> expected(20, 0.0);
  for (Slot s = 0; s < 12; ++s) expected[s] = kVictims / 12.0;
  EXPECT_LT(ChiSquareStatistic(observed, expected), ChiSquareCritical(11, kAlpha));
}

// An episodic memory of capacity C receives task after task, each bringing new classes, and
// after each task every class seen so far holds within one item of C / classes. That needs the
// arriving item counted when the victim is chosen, i.e. admit first, then evict back to C (with
// evict-then-admit, an arriving item of a group tied for largest can push it to quota + 2; see
// EvictBeforeAdmitStaysWithinTwoOfTheShare).
void RunTasks(VictimOrder order, bool admit_first, double tolerance) {
  constexpr Slot kCapacity = 100;
  GroupBalancedSelector selector(Options(order), kCapacity + 1);
  Rng rng(55), stream(56);
  std::vector<Slot> free;
  for (Slot s = kCapacity + 1; s-- > 0;) free.push_back(s);
  uint64_t seq = 0;
  int32_t next_class = 0;
  const int classes_per_task[] = {2, 1, 3, 1, 2, 4, 1, 2, 1, 5};
  for (int task = 0; task < 10; ++task) {
    const int32_t first = next_class;
    next_class += classes_per_task[task];
    for (int i = 0; i < 5 * static_cast<int>(kCapacity); ++i) {
      const int32_t cls = first + static_cast<int32_t>(stream.UniformInt(next_class - first));
      if (!admit_first && selector.size() == kCapacity) {
        const Slot victim = selector.Victim(rng);
        selector.Remove(victim);
        free.push_back(victim);
      }
      const Slot slot = free.back();
      free.pop_back();
      selector.Insert(Item(slot, cls, ++seq, /*score=*/stream.Uniform01()));
      if (admit_first && selector.size() > kCapacity) {
        const Slot victim = selector.Victim(rng);
        selector.Remove(victim);
        free.push_back(victim);
      }
    }
    ASSERT_EQ(selector.size(), kCapacity);
    ASSERT_EQ(selector.groups_seen(), static_cast<size_t>(next_class));
    const double share = double{kCapacity} / next_class;
    for (int32_t cls = 0; cls < next_class; ++cls) {
      const double held = static_cast<double>(selector.group_size(cls));
      EXPECT_LT(std::abs(held - share), tolerance)
          << "task " << task << " class " << cls << " holds " << held << ", share " << share;
    }
  }
}

TEST_P(GroupBalancedOrderTest, QuotasAdaptAsNewGroupsArrive) {
  RunTasks(GetParam(), /*admit_first=*/true, /*tolerance=*/1.0);
}

TEST_P(GroupBalancedOrderTest, EvictBeforeAdmitStaysWithinTwoOfTheShare) {
  RunTasks(GetParam(), /*admit_first=*/false, /*tolerance=*/2.0);
}

TEST(GroupBalancedSelectorTest, QuotaFollowsGroupsSeen) {
  GroupBalancedSelector selector(Options(VictimOrder::kOldest), 100);
  EXPECT_EQ(selector.quota(), 100u);
  for (int32_t g = 0; g < 7; ++g) {
    selector.Insert(Item(g, g, g));
    EXPECT_EQ(selector.quota(), 100u / (g + 1));
  }
  selector.Remove(3);  // an emptied group still counts as seen
  EXPECT_EQ(selector.groups_seen(), 7u);
  EXPECT_EQ(selector.quota(), 100u / 7);
}

// Brute-force reference: per group, its items sorted by the victim order's key.
struct Reference {
  using Key = std::tuple<double, uint64_t, Slot>;  // (score or 0, seq, slot)
  std::map<int32_t, std::set<Key>> groups;         // groups seen, possibly empty
  std::map<Slot, std::pair<int32_t, Key>> items;

  size_t nonempty() const {
    size_t n = 0;
    for (const auto& [id, keys] : groups) n += !keys.empty();
    return n;
  }
  int32_t largest() const {
    int32_t best = 0;
    size_t best_size = 0;
    for (const auto& [id, keys] : groups) {  // ascending ids: ">" keeps the smallest on ties
      if (keys.size() > best_size) best = id, best_size = keys.size();
    }
    return best;
  }
};

class GroupBalancedDifferentialTest : public testing::TestWithParam<VictimOrder> {};

TEST_P(GroupBalancedDifferentialTest, MatchesReferenceUnderRandomOps) {
  const VictimOrder order = GetParam();
  const bool by_score = order == VictimOrder::kLowestScore;
  constexpr Slot kCapacity = 64;
  GroupBalancedSelector selector(Options(order), kCapacity);
  Reference ref;
  Rng ops(60 + static_cast<int>(order)), rng(61);
  uint64_t seq = 0;
  std::vector<Slot> slots(2 * kCapacity);
  std::vector<double> probabilities(2 * kCapacity);
  auto key = [&](double score, uint64_t s, Slot slot) {
    return Reference::Key(by_score ? score : 0.0, s, slot);
  };
  auto random_item = [&] { return std::next(ref.items.begin(), ops.UniformInt(ref.items.size())); };
  for (int step = 0; step < 30000; ++step) {
    if (ops.UniformInt(2000) == 0) {
      selector.Clear();
      ref = Reference();
    }
    const uint64_t op = ops.UniformInt(10);
    if (op < 3 && ref.items.size() < kCapacity) {
      Slot slot;
      do slot = static_cast<Slot>(ops.UniformInt(kCapacity));
      while (ref.items.count(slot));
      // Skewed group ids, negatives included; few distinct scores so ties happen.
      const int32_t group = static_cast<int32_t>(ops.UniformInt(1 + ops.UniformInt(8))) - 2;
      const double score = static_cast<double>(ops.UniformInt(4));
      selector.Insert(Item(slot, group, ++seq, score));
      ref.groups[group].insert(key(score, seq, slot));
      ref.items[slot] = {group, key(score, seq, slot)};
    } else if (op < 5 && !ref.items.empty()) {
      const auto it = random_item();
      selector.Remove(it->first);
      ref.groups[it->second.first].erase(it->second.second);
      ref.items.erase(it);
    } else if (op == 5 && !ref.items.empty()) {
      const auto it = random_item();
      auto& [group, k] = it->second;
      const double score = static_cast<double>(ops.UniformInt(4));
      selector.Update(Item(it->first, group, std::get<1>(k), score));
      ref.groups[group].erase(k);
      k = key(score, std::get<1>(k), it->first);
      ref.groups[group].insert(k);
    } else if (op < 8 && !ref.items.empty()) {
      const bool replacement = op == 6;
      const size_t n = 1 + ops.UniformInt(replacement ? 2 * ref.items.size() : ref.items.size());
      selector.Sample(rng, n, replacement, slots.data(), probabilities.data());
      const double groups = static_cast<double>(ref.nonempty());
      for (size_t k = 0; k < n; ++k) {
        ASSERT_TRUE(ref.items.count(slots[k])) << "step " << step;
        const size_t group_size = ref.groups[ref.items[slots[k]].first].size();
        ASSERT_DOUBLE_EQ(probabilities[k], 1.0 / (groups * group_size)) << "step " << step;
      }
      if (!replacement) {
        ASSERT_EQ(std::set<Slot>(slots.begin(), slots.begin() + n).size(), n) << "step " << step;
      }
    } else if (op >= 8 && !ref.items.empty()) {
      const Slot victim = selector.Victim(rng);
      const int32_t largest = ref.largest();
      ASSERT_TRUE(ref.items.count(victim)) << "step " << step;
      ASSERT_EQ(ref.items[victim].first, largest) << "step " << step;
      if (order != VictimOrder::kRandom) {
        ASSERT_EQ(victim, std::get<2>(*ref.groups[largest].begin())) << "step " << step;
      }
      if (op == 9) {  // evict it, as a remover's table does
        selector.Remove(victim);
        ref.groups[largest].erase(ref.items[victim].second);
        ref.items.erase(victim);
      }
    }
    ASSERT_EQ(selector.size(), ref.items.size());
    ASSERT_EQ(selector.groups_seen(), ref.groups.size());
    if (step % 50 == 0) {
      for (const auto& [id, keys] : ref.groups) ASSERT_EQ(selector.group_size(id), keys.size());
      std::vector<Slot> live;
      for (const auto& [slot, item] : ref.items) live.push_back(slot);
      const absl::Status status = selector.CheckInvariants(live);
      ASSERT_TRUE(status.ok()) << "step " << step << ": " << status;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllOrders, GroupBalancedDifferentialTest, kAllOrders, OrderName);

TEST(GroupBalancedSelectorTest, CheckInvariantsRejectsAWrongLiveSet) {
  GroupBalancedSelector selector(Options(VictimOrder::kOldest), 8);
  selector.Insert(Item(6, 0, 1));
  selector.Insert(Item(1, 1, 2));
  selector.Insert(Item(4, 0, 3));
  EXPECT_TRUE(selector.CheckInvariants(std::vector<Slot>{1, 4, 6}).ok());
  EXPECT_EQ(selector.CheckInvariants(std::vector<Slot>{1, 4}).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(selector.CheckInvariants(std::vector<Slot>{1, 4, 7}).code(),
            absl::StatusCode::kInternal);
}

TEST(GroupBalancedSelectorTest, ClearForgetsGroups) {
  GroupBalancedSelector selector(Options(VictimOrder::kOldest), 8);
  selector.Insert(Item(0, 3, 1));
  selector.Insert(Item(1, 4, 2));
  selector.Clear();
  EXPECT_EQ(selector.size(), 0u);
  EXPECT_EQ(selector.groups_seen(), 0u);
  EXPECT_EQ(selector.group_size(3), 0u);
  EXPECT_TRUE(selector.CheckInvariants({}).ok());
  selector.Insert(Item(1, 4, 3));
  Rng rng(0);
  EXPECT_EQ(selector.Victim(rng), 1u);
}

TEST(GroupBalancedSelectorTest, SameSeedSameResults) {
  auto run = [](uint64_t seed) {
    GroupBalancedSelector selector(Options(VictimOrder::kRandom), 32);
    Rng rng(seed);
    std::vector<Slot> out;
    for (Slot s = 0; s < 32; ++s) selector.Insert(Item(s, static_cast<int32_t>(s % 5), s));
    Slot slots[8];
    double probabilities[8];
    for (uint64_t i = 0; i < 100; ++i) {
      selector.Sample(rng, 8, /*replacement=*/i % 2 == 0, slots, probabilities);
      out.insert(out.end(), slots, slots + 8);
      const Slot victim = selector.Victim(rng);
      out.push_back(victim);
      selector.Remove(victim);
      selector.Insert(Item(victim, static_cast<int32_t>(i % 7), 32 + i));
    }
    return out;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

}  // namespace
}  // namespace strata::internal
