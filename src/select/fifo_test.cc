#include "select/fifo.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "select/state_testing.h"
#include "util/random.h"

namespace strata::internal {
namespace {

SelectorItem Item(Slot slot, uint64_t seq) { return {.slot = slot, .seq = seq}; }

// All items in the selector's order, read through Sample (which must not change anything).
std::vector<Slot> Order(FifoSelector& selector, Rng& rng) {
  std::vector<Slot> slots(selector.size());
  std::vector<double> probabilities(selector.size());
  if (slots.empty()) return slots;
  selector.Sample(rng, slots.size(), /*replacement=*/true, slots.data(), probabilities.data());
  for (double p : probabilities) EXPECT_EQ(p, 1.0);
  return slots;
}

TEST(FifoSelectorTest, IsOrdered) {
  EXPECT_TRUE(FifoSelector(4, false).ordered());
  EXPECT_EQ(FifoSelector(4, false).name(), "fifo");
  EXPECT_EQ(FifoSelector(4, true).name(), "lifo");
}

TEST(FifoSelectorTest, FifoOrderAfterInterleavedInsertsAndRemoves) {
  FifoSelector selector(8, /*newest_first=*/false);
  Rng rng(1);
  // seq 1..5 into slots 3, 0, 7, 2, 5.
  selector.Insert(Item(3, 1));
  selector.Insert(Item(0, 2));
  selector.Insert(Item(7, 3));
  selector.Insert(Item(2, 4));
  selector.Insert(Item(5, 5));
  EXPECT_EQ(Order(selector, rng), (std::vector<Slot>{3, 0, 7, 2, 5}));
  EXPECT_EQ(selector.Victim(rng), 3u);
  selector.Remove(7);  // middle
  selector.Remove(3);  // head
  selector.Remove(5);  // tail
  EXPECT_EQ(Order(selector, rng), (std::vector<Slot>{0, 2}));
  EXPECT_EQ(selector.Victim(rng), 0u);
  selector.Insert(Item(3, 6));  // a reused slot goes to the back: it is the newest
  selector.Insert(Item(7, 7));
  EXPECT_EQ(Order(selector, rng), (std::vector<Slot>{0, 2, 3, 7}));
  Slot first[2];
  double probabilities[2];
  selector.Sample(rng, 2, /*replacement=*/false, first, probabilities);
  EXPECT_EQ(first[0], 0u);
  EXPECT_EQ(first[1], 2u);
  EXPECT_EQ(selector.size(), 4u);
  EXPECT_TRUE(selector.CheckInvariants(std::vector<Slot>{0, 2, 3, 7}).ok());
}

TEST(FifoSelectorTest, LifoOrderAfterInterleavedInsertsAndRemoves) {
  FifoSelector selector(8, /*newest_first=*/true);
  Rng rng(1);
  selector.Insert(Item(3, 1));
  selector.Insert(Item(0, 2));
  selector.Insert(Item(7, 3));
  selector.Insert(Item(2, 4));
  EXPECT_EQ(Order(selector, rng), (std::vector<Slot>{2, 7, 0, 3}));
  EXPECT_EQ(selector.Victim(rng), 2u);
  selector.Remove(2);  // the newest: the next newest takes over
  selector.Remove(0);
  EXPECT_EQ(Order(selector, rng), (std::vector<Slot>{7, 3}));
  EXPECT_EQ(selector.Victim(rng), 7u);
  selector.Insert(Item(0, 5));
  EXPECT_EQ(selector.Victim(rng), 0u);
  EXPECT_EQ(Order(selector, rng), (std::vector<Slot>{0, 7, 3}));
  selector.Clear();
  EXPECT_EQ(selector.size(), 0u);
  EXPECT_TRUE(selector.CheckInvariants({}).ok());
  selector.Insert(Item(5, 6));
  EXPECT_EQ(Order(selector, rng), (std::vector<Slot>{5}));
}

TEST(FifoSelectorTest, UpdateDoesNotMoveItems) {
  FifoSelector selector(4, /*newest_first=*/false);
  Rng rng(1);
  for (Slot s = 0; s < 4; ++s) selector.Insert({.slot = s, .priority = 1.0, .seq = s});
  selector.Update({.slot = 3, .priority = 100.0, .seq = 3});
  selector.Update({.slot = 0, .priority = 0.0, .seq = 0});
  EXPECT_EQ(Order(selector, rng), (std::vector<Slot>{0, 1, 2, 3}));
}

class FifoDifferentialTest : public testing::TestWithParam<bool> {};

TEST_P(FifoDifferentialTest, MatchesReferenceUnderRandomOps) {
  const bool newest_first = GetParam();
  constexpr Slot kCapacity = 48;
  FifoSelector selector(kCapacity, newest_first);
  std::map<uint64_t, Slot> by_seq;  // the reference: items sorted by age
  std::map<Slot, uint64_t> seq_of;
  Rng ops(newest_first ? 31 : 32), rng(0);
  uint64_t seq = 0;
  std::vector<Slot> slots(kCapacity);
  std::vector<double> probabilities(kCapacity);
  auto expected_order = [&] {
    std::vector<Slot> order;
    order.reserve(by_seq.size());
    for (const auto& [s, slot] : by_seq) order.push_back(slot);
    if (newest_first) std::reverse(order.begin(), order.end());
    return order;
  };
  for (int step = 0; step < 20000; ++step) {
    if (ops.UniformInt(500) == 0) {
      selector.Clear();
      by_seq.clear();
      seq_of.clear();
    }
    const uint64_t op = ops.UniformInt(10);
    if (op < 4 && seq_of.size() < kCapacity) {
      Slot slot;
      do slot = static_cast<Slot>(ops.UniformInt(kCapacity));
      while (seq_of.count(slot));
      selector.Insert(Item(slot, ++seq));
      by_seq[seq] = slot;
      seq_of[slot] = seq;
    } else if (op < 7 && !seq_of.empty()) {
      const auto it = std::next(seq_of.begin(), ops.UniformInt(seq_of.size()));
      selector.Remove(it->first);
      by_seq.erase(it->second);
      seq_of.erase(it);
    } else if (op == 7 && !seq_of.empty()) {
      const size_t n = 1 + ops.UniformInt(seq_of.size());
      selector.Sample(rng, n, ops.UniformInt(2) == 0, slots.data(), probabilities.data());
      const std::vector<Slot> order = expected_order();
      for (size_t k = 0; k < n; ++k) {
        ASSERT_EQ(slots[k], order[k]) << "step " << step << " k " << k;
        ASSERT_EQ(probabilities[k], 1.0);
      }
    } else if (op == 8 && !seq_of.empty()) {
      ASSERT_EQ(selector.Victim(rng), expected_order().front()) << "step " << step;
    } else if (op == 9 && !seq_of.empty()) {
      // The common remover pattern: evict the victim, insert a new item into its slot.
      const Slot victim = selector.Victim(rng);
      selector.Remove(victim);
      by_seq.erase(seq_of[victim]);
      selector.Insert(Item(victim, ++seq));
      by_seq[seq] = victim;
      seq_of[victim] = seq;
    }
    ASSERT_EQ(selector.size(), seq_of.size());
    if (step % 50 == 0) {
      std::vector<Slot> live;
      live.reserve(seq_of.size());
      for (const auto& [slot, s] : seq_of) live.push_back(slot);
      const absl::Status status = selector.CheckInvariants(live);
      ASSERT_TRUE(status.ok()) << "step " << step << ": " << status;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(FifoAndLifo, FifoDifferentialTest, testing::Bool(),
                         [](const auto& info) { return info.param ? "Lifo" : "Fifo"; });

TEST(FifoSelectorTest, CheckInvariantsRejectsAWrongLiveSet) {
  FifoSelector selector(8, /*newest_first=*/false);
  for (Slot s : {6u, 1u, 4u}) selector.Insert(Item(s, s));
  EXPECT_TRUE(selector.CheckInvariants(std::vector<Slot>{1, 4, 6}).ok());
  EXPECT_EQ(selector.CheckInvariants(std::vector<Slot>{1, 4}).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(selector.CheckInvariants(std::vector<Slot>{1, 4, 7}).code(),
            absl::StatusCode::kInternal);
}

TEST(FifoSelectorTest, IgnoresTheRng) {
  // Ordered selectors are deterministic whatever the seed; the same ops give the same results.
  auto run = [](uint64_t seed) {
    FifoSelector selector(16, /*newest_first=*/false);
    Rng rng(seed);
    std::vector<Slot> out;
    for (Slot s = 0; s < 16; ++s) selector.Insert(Item(s, s));
    for (uint64_t i = 0; i < 40; ++i) {
      const Slot victim = selector.Victim(rng);
      out.push_back(victim);
      selector.Remove(victim);
      selector.Insert(Item(victim, 16 + i));
    }
    return out;
  };
  EXPECT_EQ(run(1), run(2));
}

TEST(FifoSelectorTest, LoadedStateKeepsTheListOrder) {
  constexpr size_t kCapacity = 48;
  for (bool newest_first : {false, true}) {
    for (uint64_t seed : {1, 2}) {
      FifoSelector original(kCapacity, newest_first);
      state_testing::ItemModel model(kCapacity, 3);
      Rng rng(seed);
      state_testing::RandomHistory(original, model, rng, 300);
      // A few items entering out of seq order (a resident-mode sampler sees items in the order
      // they get a frame): the list order is not the seq order, and the state must keep it.
      std::vector<SelectorItem> late;
      for (int i = 0; i < 4 && !model.full(); ++i) late.push_back(model.NewItem(rng));
      for (size_t i = late.size(); i-- > 0;) original.Insert(late[i]);
      ASSERT_GE(model.size(), 8u);
      std::string state;
      original.SaveState(&state);
      FifoSelector loaded(kCapacity, newest_first);
      ASSERT_TRUE(loaded.LoadState(state, model.Items()).ok());
      ASSERT_TRUE(loaded.CheckInvariants(model.Live()).ok());
      Rng unused(0);
      EXPECT_EQ(Order(loaded, unused), Order(original, unused));
      EXPECT_EQ(state_testing::CountDifferences(original, loaded, model, seed, 300), 0);
    }
  }
}

TEST(FifoSelectorTest, InSeqOrderTheStateListsNothingAndLoadsTheSameList) {
  constexpr size_t kCapacity = 48;
  for (bool newest_first : {false, true}) {
    FifoSelector original(kCapacity, newest_first);
    state_testing::ItemModel model(kCapacity, 3);
    Rng rng(5);
    state_testing::RandomHistory(original, model, rng, 300);
    ASSERT_GE(model.size(), 8u);
    std::string state;
    original.SaveState(&state);
    EXPECT_EQ(state, state_testing::ImplicitSlotList(original.name(), model.size()));
    FifoSelector loaded(kCapacity, newest_first);
    ASSERT_TRUE(loaded.LoadState(state, model.Items()).ok());
    Rng unused(0);
    EXPECT_EQ(Order(loaded, unused), Order(original, unused));
    EXPECT_EQ(state_testing::CountDifferences(original, loaded, model, 5, 300), 0);
    // One insert out of seq order, and the state lists the slots again.
    SelectorItem early = model.NewItem(rng);
    early.seq = 0;
    loaded.Insert(early);
    std::string listed;
    loaded.SaveState(&listed);
    EXPECT_EQ(state_testing::U32At(listed, 0), model.size());
  }
}

TEST(FifoSelectorTest, LoadStateRefusesCorruptStates) {
  constexpr size_t kCapacity = 32;
  FifoSelector original(kCapacity, /*newest_first=*/false);
  state_testing::ItemModel model(kCapacity, 1);
  Rng rng(3);
  state_testing::RandomHistory(original, model, rng, 60);
  ASSERT_GE(model.size(), 2u);
  ASSERT_LT(model.size(), kCapacity);
  std::string state;
  original.SaveState(&state);
  // Inserted in seq order: the list is implicit.
  ASSERT_EQ(state_testing::U32At(state, 0), kImplicitSlots);
  FifoSelector fresh(kCapacity, /*newest_first=*/false);
  state_testing::ExpectCommonRefusals(fresh, state, model.Items(), kCapacity);
  // A listed state (what an out-of-order history writes) is checked slot by slot.
  Rng unused(0);
  const std::string listed = state_testing::ExplicitSlotList("fifo", Order(original, unused));
  state_testing::ExpectCommonRefusals(fresh, listed, model.Items(), kCapacity);
  state_testing::ExpectSlotListRefusals(fresh, listed, model.Items(), kCapacity);
  // The same layout from a LIFO: a different strategy, so the caller rebuilds.
  FifoSelector lifo(kCapacity, /*newest_first=*/true);
  state_testing::ExpectRefused(lifo, state, model.Items(), absl::StatusCode::kFailedPrecondition,
                               "saved by 'fifo', not 'lifo'");
}

}  // namespace
}  // namespace strata::internal
