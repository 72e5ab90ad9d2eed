#include "select/group_balanced.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "select/state_testing.h"
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

// A group-balanced state taken apart (the layout in group_balanced.cc), to craft bad ones.
struct GroupState {
  struct Group {
    int32_t id;
    std::vector<Slot> items, list;
  };
  std::string tag;
  std::vector<Group> groups;
  std::vector<uint32_t> nonempty;

  static GroupState Parse(const std::string& state, bool listed) {
    GroupState g;
    size_t at = 0;
    auto u32 = [&] {
      uint32_t v;
      std::memcpy(&v, state.data() + at, 4);
      at += 4;
      return v;
    };
    const size_t tag_length = static_cast<uint8_t>(state[0]);
    g.tag = state.substr(1, tag_length);
    at = 1 + tag_length;
    const uint32_t groups = u32();
    for (uint32_t k = 0; k < groups; ++k) {
      Group group;
      group.id = static_cast<int32_t>(u32());
      const uint32_t m = u32();
      for (uint32_t i = 0; i < m; ++i) group.items.push_back(u32());
      if (listed) {
        for (uint32_t i = 0; i < m; ++i) group.list.push_back(u32());
      }
      g.groups.push_back(group);
    }
    const uint32_t nonempty = u32();
    for (uint32_t i = 0; i < nonempty; ++i) g.nonempty.push_back(u32());
    EXPECT_EQ(at, state.size());
    return g;
  }
  std::string Encode() const {
    std::string out(1, static_cast<char>(tag.size()));
    out += tag;
    auto u32 = [&](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
    u32(static_cast<uint32_t>(groups.size()));
    for (const Group& group : groups) {
      u32(static_cast<uint32_t>(group.id));
      u32(static_cast<uint32_t>(group.items.size()));
      for (Slot s : group.items) u32(s);
      for (Slot s : group.list) u32(s);
    }
    u32(static_cast<uint32_t>(nonempty.size()));
    for (uint32_t g : nonempty) u32(g);
    return out;
  }
};

class GroupBalancedStateTest : public testing::TestWithParam<VictimOrder> {};

// Groups seen and emptied, arrays reordered by removals and draws, the non-empty order shuffled:
// a loaded selector continues exactly as the saved one, quota included.
TEST_P(GroupBalancedStateTest, LoadedStateSamplesAndEvictsAsTheSaved) {
  constexpr size_t kCapacity = 64;
  for (uint64_t seed : {1, 2, 3}) {
    GroupBalancedSelector original(Options(GetParam()), kCapacity);
    state_testing::ItemModel model(kCapacity, 6);
    Rng rng(seed);
    state_testing::RandomHistory(original, model, rng, 500);
    ASSERT_GE(model.size(), 8u);
    std::string state;
    original.SaveState(&state);
    GroupBalancedSelector loaded(Options(GetParam()), kCapacity);
    ASSERT_TRUE(loaded.LoadState(state, model.Items()).ok());
    ASSERT_TRUE(loaded.CheckInvariants(model.Live()).ok());
    EXPECT_EQ(loaded.groups_seen(), original.groups_seen());
    EXPECT_EQ(loaded.quota(), original.quota());
    std::string again;
    loaded.SaveState(&again);
    EXPECT_EQ(again, state);
    EXPECT_EQ(state_testing::CountDifferences(original, loaded, model, seed, 500), 0);
    original.SaveState(&(state = ""));
    loaded.SaveState(&(again = ""));
    EXPECT_EQ(again, state);
  }
}

TEST_P(GroupBalancedStateTest, LoadStateRefusesCorruptStates) {
  const VictimOrder order = GetParam();
  const bool listed = order == VictimOrder::kOldest;
  constexpr size_t kCapacity = 40;
  GroupBalancedSelector original(Options(order), kCapacity);
  state_testing::ItemModel model(kCapacity, 3);
  Rng rng(13);
  state_testing::RandomHistory(original, model, rng, 70);
  ASSERT_LT(model.size(), kCapacity);
  std::string state;
  original.SaveState(&state);
  const std::vector<SelectorItem> items = model.Items();
  GroupBalancedSelector fresh(Options(order), kCapacity);
  state_testing::ExpectCommonRefusals(fresh, state, items, kCapacity);
  const GroupState good = GroupState::Parse(state, listed);
  ASSERT_EQ(good.Encode(), state);
  // Two groups holding at least 2 items each, to move items between.
  std::vector<size_t> big;
  for (size_t g = 0; g < good.groups.size(); ++g) {
    if (good.groups[g].items.size() >= 2) big.push_back(g);
  }
  ASSERT_GE(big.size(), 2u);
  const auto kDataLoss = absl::StatusCode::kDataLoss;
  auto refused = [&](const GroupState& bad, const std::string& text) {
    state_testing::ExpectRefused(fresh, bad.Encode(), items, kDataLoss, text);
  };
  {
    GroupState bad = good;
    bad.groups[big[1]].id = bad.groups[big[0]].id;
    refused(bad, "group " + std::to_string(bad.groups[big[0]].id) + " is listed twice");
  }
  {
    GroupState bad = good;  // an item moved to another group's array (and list)
    GroupState::Group& from = bad.groups[big[0]];
    GroupState::Group& to = bad.groups[big[1]];
    const Slot slot = from.items.back();
    from.items.pop_back();
    to.items.push_back(slot);
    if (listed) {
      from.list.erase(std::find(from.list.begin(), from.list.end(), slot));
      to.list.push_back(slot);
    }
    refused(bad, "slot " + std::to_string(slot) + " of group " + std::to_string(from.id) +
                     " is listed in group " + std::to_string(to.id));
  }
  {
    GroupState bad = good;
    bad.groups[0].id = 0;  // keep the count field honest; then a huge group count
    std::string encoded = bad.Encode();
    const size_t at = 1 + bad.tag.size();
    const uint32_t huge = 0x7FFFFFFF;
    std::memcpy(encoded.data() + at, &huge, 4);
    state_testing::ExpectRefused(fresh, encoded, items, kDataLoss,
                                 "2147483647 groups declared, more than its");
  }
  {
    GroupState bad = good;
    bad.nonempty.pop_back();
    refused(bad, "holds items but is not listed as non-empty");
  }
  {
    GroupState bad = good;
    ASSERT_GE(bad.nonempty.size(), 2u);
    bad.nonempty[1] = bad.nonempty[0];
    refused(bad, "out of range, empty, or listed twice");
  }
  {
    GroupState bad = good;
    bad.nonempty[0] = static_cast<uint32_t>(bad.groups.size());
    refused(bad, "out of range, empty, or listed twice");
  }
  if (listed) {
    GroupState bad = good;
    bad.groups[big[0]].list[1] = bad.groups[big[0]].list[0];
    refused(bad, "list element 1");
    bad = good;
    bad.groups[big[0]].list[0] = bad.groups[big[1]].list[0];  // another group's item
    refused(bad, "list element 0");
  }
  if (order == VictimOrder::kLowestScore) {
    // Scores by position in the array (each group's array is then a heap of them), then the
    // root and its first child swapped.
    std::vector<SelectorItem> scored = items;
    for (SelectorItem& item : scored) {
      for (const GroupState::Group& group : good.groups) {
        const auto it = std::find(group.items.begin(), group.items.end(), item.slot);
        if (it != group.items.end()) item.score = static_cast<double>(it - group.items.begin());
      }
    }
    ASSERT_TRUE(fresh.LoadState(state, scored).ok());
    GroupState bad = good;
    std::swap(bad.groups[big[0]].items[0], bad.groups[big[0]].items[1]);
    state_testing::ExpectRefused(fresh, bad.Encode(), scored, kDataLoss,
                                 "heap item 1 (slot " +
                                     std::to_string(bad.groups[big[0]].items[1]) +
                                     ") comes before its parent");
  }
  // Another victim order saved it: the layout differs, the caller rebuilds.
  const VictimOrder other =
      order == VictimOrder::kRandom ? VictimOrder::kOldest : VictimOrder::kRandom;
  GroupBalancedSelector different(Options(other), kCapacity);
  state_testing::ExpectRefused(different, state, items, absl::StatusCode::kFailedPrecondition,
                               "saved by '" + good.tag + "'");
}

INSTANTIATE_TEST_SUITE_P(AllOrders, GroupBalancedStateTest, kAllOrders, OrderName);

}  // namespace
}  // namespace strata::internal
