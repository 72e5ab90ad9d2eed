#include "select/heap.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "select/state_testing.h"
#include "util/random.h"

namespace strata::internal {
namespace {

SelectorItem Item(Slot slot, double priority, uint64_t seq) {
  return {.slot = slot, .priority = priority, .seq = seq};
}

std::vector<Slot> Top(HeapSelector& selector, size_t n) {
  Rng rng(0);
  std::vector<Slot> slots(n);
  std::vector<double> probabilities(n);
  selector.Sample(rng, n, /*replacement=*/false, slots.data(), probabilities.data());
  for (double p : probabilities) EXPECT_EQ(p, 1.0);
  return slots;
}

TEST(HeapSelectorTest, IsOrdered) {
  EXPECT_TRUE(HeapSelector(4, false).ordered());
  EXPECT_EQ(HeapSelector(4, false).name(), "min_heap");
  EXPECT_EQ(HeapSelector(4, true).name(), "max_heap");
}

TEST(HeapSelectorTest, MinHeapTopNBreaksTiesByAge) {
  HeapSelector selector(8, /*max_first=*/false);
  // (slot, priority, seq); slots 6, 2 and 4 tie at priority 1 and must come out oldest first.
  selector.Insert(Item(4, 1.0, 30));
  selector.Insert(Item(0, 5.0, 10));
  selector.Insert(Item(6, 1.0, 11));
  selector.Insert(Item(1, 0.5, 40));
  selector.Insert(Item(2, 1.0, 20));
  selector.Insert(Item(7, 9.0, 5));
  EXPECT_EQ(Top(selector, 6), (std::vector<Slot>{1, 6, 2, 4, 0, 7}));
  EXPECT_EQ(Top(selector, 3), (std::vector<Slot>{1, 6, 2}));
  Rng rng(0);
  EXPECT_EQ(selector.Victim(rng), 1u);
  // Reading the top n left the heap as it was.
  EXPECT_TRUE(selector.CheckInvariants(std::vector<Slot>{0, 1, 2, 4, 6, 7}).ok());
  EXPECT_EQ(Top(selector, 6), (std::vector<Slot>{1, 6, 2, 4, 0, 7}));
}

TEST(HeapSelectorTest, MaxHeapTopNBreaksTiesByAge) {
  HeapSelector selector(8, /*max_first=*/true);
  selector.Insert(Item(4, 1.0, 30));
  selector.Insert(Item(0, 5.0, 10));
  selector.Insert(Item(6, 5.0, 11));
  selector.Insert(Item(1, 0.5, 40));
  selector.Insert(Item(2, 5.0, 9));
  EXPECT_EQ(Top(selector, 5), (std::vector<Slot>{2, 0, 6, 4, 1}));
  Rng rng(0);
  EXPECT_EQ(selector.Victim(rng), 2u);
}

TEST(HeapSelectorTest, UpdateMovesItems) {
  HeapSelector selector(8, /*max_first=*/false);
  for (Slot s = 0; s < 6; ++s) selector.Insert(Item(s, 10.0 + s, s));
  EXPECT_EQ(Top(selector, 6), (std::vector<Slot>{0, 1, 2, 3, 4, 5}));
  selector.Update(Item(4, 0.0, 4));   // to the top
  selector.Update(Item(0, 99.0, 0));  // to the bottom
  selector.Update(Item(2, 11.0, 2));  // ties with slot 1, which is older
  EXPECT_EQ(Top(selector, 6), (std::vector<Slot>{4, 1, 2, 3, 5, 0}));
  Rng rng(0);
  EXPECT_EQ(selector.Victim(rng), 4u);
  selector.Remove(4);
  EXPECT_EQ(selector.Victim(rng), 1u);
  EXPECT_TRUE(selector.CheckInvariants(std::vector<Slot>{0, 1, 2, 3, 5}).ok());
}

class HeapDifferentialTest : public testing::TestWithParam<bool> {};

TEST_P(HeapDifferentialTest, MatchesReferenceUnderRandomOps) {
  const bool max_first = GetParam();
  constexpr Slot kCapacity = 64;
  HeapSelector selector(kCapacity, max_first);
  // The reference: (sort key, seq) -> slot, where the sort key makes the first entry the top.
  std::map<std::pair<double, uint64_t>, Slot> order;
  std::map<Slot, std::pair<double, uint64_t>> key_of;
  Rng ops(max_first ? 41 : 42), rng(0);
  uint64_t seq = 0;
  std::vector<Slot> slots(kCapacity);
  std::vector<double> probabilities(kCapacity);
  // Few distinct priorities, so ties (broken by seq) are common.
  auto priority = [&] { return static_cast<double>(ops.UniformInt(5)) * 0.25; };
  auto key = [&](double p, uint64_t s) { return std::make_pair(max_first ? -p : p, s); };
  for (int step = 0; step < 30000; ++step) {
    if (ops.UniformInt(1000) == 0) {
      selector.Clear();
      order.clear();
      key_of.clear();
    }
    const uint64_t op = ops.UniformInt(10);
    if (op < 3 && key_of.size() < kCapacity) {
      Slot slot;
      do slot = static_cast<Slot>(ops.UniformInt(kCapacity));
      while (key_of.count(slot));
      const double p = priority();
      selector.Insert(Item(slot, p, ++seq));
      order[key(p, seq)] = slot;
      key_of[slot] = key(p, seq);
    } else if (op < 5 && !key_of.empty()) {
      const auto it = std::next(key_of.begin(), ops.UniformInt(key_of.size()));
      selector.Remove(it->first);
      order.erase(it->second);
      key_of.erase(it);
    } else if (op < 7 && !key_of.empty()) {
      const auto it = std::next(key_of.begin(), ops.UniformInt(key_of.size()));
      const double p = priority();
      const uint64_t s = it->second.second;
      selector.Update(Item(it->first, p, s));
      order.erase(it->second);
      it->second = key(p, s);
      order[it->second] = it->first;
    } else if (op == 7 && !key_of.empty()) {
      // A batch of updates where the last one for a slot wins.
      std::vector<SelectorItem> batch;
      for (int k = 0; k < 4; ++k) {
        const auto it = std::next(key_of.begin(), ops.UniformInt(key_of.size()));
        batch.push_back(Item(it->first, priority(), it->second.second));
      }
      selector.UpdateBatch(batch);
      for (const SelectorItem& item : batch) {
        order.erase(key_of[item.slot]);
        key_of[item.slot] = key(item.priority, item.seq);
        order[key_of[item.slot]] = item.slot;
      }
    } else if (op == 8 && !key_of.empty()) {
      const size_t n = 1 + ops.UniformInt(key_of.size());
      selector.Sample(rng, n, ops.UniformInt(2) == 0, slots.data(), probabilities.data());
      auto it = order.begin();
      for (size_t k = 0; k < n; ++k, ++it) {
        ASSERT_EQ(slots[k], it->second) << "step " << step << " k " << k;
      }
    } else if (op == 9 && !key_of.empty()) {
      ASSERT_EQ(selector.Victim(rng), order.begin()->second) << "step " << step;
    }
    ASSERT_EQ(selector.size(), key_of.size());
    if (step % 50 == 0) {
      std::vector<Slot> live;
      live.reserve(key_of.size());
      for (const auto& [slot, k] : key_of) live.push_back(slot);
      const absl::Status status = selector.CheckInvariants(live);
      ASSERT_TRUE(status.ok()) << "step " << step << ": " << status;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(MinAndMax, HeapDifferentialTest, testing::Bool(),
                         [](const auto& info) { return info.param ? "Max" : "Min"; });

TEST(HeapSelectorTest, CheckInvariantsRejectsAWrongLiveSet) {
  HeapSelector selector(8, /*max_first=*/false);
  for (Slot s : {6u, 1u, 4u}) selector.Insert(Item(s, s, s));
  EXPECT_TRUE(selector.CheckInvariants(std::vector<Slot>{1, 4, 6}).ok());
  EXPECT_EQ(selector.CheckInvariants(std::vector<Slot>{1, 4}).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(selector.CheckInvariants(std::vector<Slot>{1, 4, 7}).code(),
            absl::StatusCode::kInternal);
}

TEST(HeapSelectorTest, IgnoresTheRng) {
  auto run = [](uint64_t seed) {
    HeapSelector selector(16, /*max_first=*/true);
    Rng rng(seed), ops(7);
    std::vector<Slot> out;
    for (Slot s = 0; s < 16; ++s) selector.Insert(Item(s, ops.UniformInt(4), s));
    for (uint64_t i = 0; i < 40; ++i) {
      const Slot victim = selector.Victim(rng);
      out.push_back(victim);
      selector.Remove(victim);
      selector.Insert(Item(victim, ops.UniformInt(4), 16 + i));
    }
    return out;
  };
  EXPECT_EQ(run(1), run(2));
}

TEST(HeapSelectorTest, LoadedStateKeepsTheArrangement) {
  constexpr size_t kCapacity = 64;
  for (bool max_first : {false, true}) {
    for (uint64_t seed : {1, 2, 3}) {
      HeapSelector original(kCapacity, max_first);
      state_testing::ItemModel model(kCapacity, 1);
      Rng rng(seed);
      state_testing::RandomHistory(original, model, rng, 400);
      ASSERT_GE(model.size(), 8u);
      std::string state;
      original.SaveState(&state);
      HeapSelector loaded(kCapacity, max_first);
      ASSERT_TRUE(loaded.LoadState(state, model.Items()).ok());
      ASSERT_TRUE(loaded.CheckInvariants(model.Live()).ok());
      std::string again;
      loaded.SaveState(&again);
      EXPECT_EQ(again, state);  // the same array, not just the same order
      EXPECT_EQ(state_testing::CountDifferences(original, loaded, model, seed, 400), 0);
      original.SaveState(&(state = ""));
      loaded.SaveState(&(again = ""));
      EXPECT_EQ(again, state);
    }
  }
}

TEST(HeapSelectorTest, LoadStateRefusesCorruptStates) {
  constexpr size_t kCapacity = 32;
  HeapSelector original(kCapacity, /*max_first=*/false);
  state_testing::ItemModel model(kCapacity, 1);
  Rng rng(5);
  state_testing::RandomHistory(original, model, rng, 60);
  ASSERT_GE(model.size(), 3u);
  ASSERT_LT(model.size(), kCapacity);
  std::string state;
  original.SaveState(&state);
  HeapSelector fresh(kCapacity, /*max_first=*/false);
  state_testing::ExpectCommonRefusals(fresh, state, model.Items(), kCapacity);
  state_testing::ExpectSlotListRefusals(fresh, state, model.Items(), kCapacity);
  // Priorities by heap index, so the saved arrangement is a heap of them; then the root and its
  // first child swapped: the same slots, not a heap.
  std::vector<SelectorItem> items = model.Items();
  std::map<Slot, double> index_of;
  for (size_t i = 0; i < items.size(); ++i) {
    index_of[state_testing::U32At(state, 4 + 4 * i)] = static_cast<double>(i);
  }
  for (SelectorItem& item : items) item.priority = index_of.at(item.slot);
  ASSERT_TRUE(fresh.LoadState(state, items).ok());
  const Slot root = state_testing::U32At(state, 4);
  const Slot child = state_testing::U32At(state, 8);
  const std::string swapped =
      state_testing::WithU32(state_testing::WithU32(state, 4, child), 8, root);
  state_testing::ExpectRefused(fresh, swapped, items, absl::StatusCode::kDataLoss,
                               "at heap index 1 (priority 0, seq");
  // A max-heap's state is not a min-heap's.
  HeapSelector max_heap(kCapacity, /*max_first=*/true);
  state_testing::ExpectRefused(max_heap, state, items, absl::StatusCode::kFailedPrecondition,
                               "saved by 'min_heap'");
}

}  // namespace
}  // namespace strata::internal
