// Test helpers for Selector::SaveState / LoadState (used by the strategies' _test.cc files only):
// a model of the items a selector holds, random histories, and a lock-step comparison of two
// selectors under the same calls and the same Rng state.
#ifndef STRATA_SELECT_STATE_TESTING_H_
#define STRATA_SELECT_STATE_TESTING_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "select/selector.h"
#include "select/selector_state.h"
#include "util/random.h"

namespace strata::internal::state_testing {

// The items a selector holds, as the table would describe them to it.
class ItemModel {
 public:
  ItemModel(size_t capacity, int32_t groups) : capacity_(capacity), groups_(groups) {}

  // In ascending slot order, as LoadState wants them.
  std::vector<SelectorItem> Items() const {
    std::vector<SelectorItem> items;
    for (const auto& [slot, item] : live_) items.push_back(item);
    return items;
  }
  std::vector<Slot> Live() const {
    std::vector<Slot> slots;
    for (const auto& [slot, item] : live_) slots.push_back(slot);
    return slots;
  }
  size_t size() const { return live_.size(); }
  bool full() const { return live_.size() == capacity_; }

  // A new item in a random free slot (precondition: !full()).
  SelectorItem NewItem(Rng& rng) {
    Slot slot;
    do {
      slot = static_cast<Slot>(rng.UniformInt(capacity_));
    } while (live_.count(slot));
    SelectorItem item{.slot = slot,
                      .priority = Value(rng),
                      .group = static_cast<int32_t>(rng.UniformInt(groups_)) * 7 - 3,
                      .seq = next_seq_++,
                      .score = Value(rng)};
    live_[slot] = item;
    return item;
  }
  // A random live item (precondition: size() > 0).
  const SelectorItem& Pick(Rng& rng) const {
    auto it = live_.begin();
    std::advance(it, rng.UniformInt(live_.size()));
    return it->second;
  }
  // The item with a new priority and score (its slot, group and seq stay).
  SelectorItem Updated(Slot slot, Rng& rng) {
    SelectorItem& item = live_.at(slot);
    item.priority = Value(rng);
    item.score = Value(rng);
    return item;
  }
  void Remove(Slot slot) { live_.erase(slot); }

 private:
  // A few distinct values, so heaps see ties (broken by seq) as well as order.
  static double Value(Rng& rng) { return static_cast<double>(rng.UniformInt(6)) * 0.5; }

  const size_t capacity_;
  const int32_t groups_;
  std::map<Slot, SelectorItem> live_;
  uint64_t next_seq_ = 1;
};

// Drives `selector` through `steps` random inserts, removes, updates, samples and victims (what a
// table does to its sampler and remover), keeping `model` in step.
inline void RandomHistory(Selector& selector, ItemModel& model, Rng& rng, int steps) {
  std::vector<Slot> slots(8);
  std::vector<double> probabilities(8);
  for (int i = 0; i < steps; ++i) {
    const uint64_t op = rng.UniformInt(10);
    if (model.size() == 0 || (op < 5 && !model.full())) {
      selector.Insert(model.NewItem(rng));
    } else if (op < 7) {
      const Slot slot = model.Pick(rng).slot;
      selector.Remove(slot);
      model.Remove(slot);
    } else if (op < 8) {
      selector.Update(model.Updated(model.Pick(rng).slot, rng));
    } else if (op < 9) {
      const size_t n = std::min<size_t>(model.size(), 1 + rng.UniformInt(8));
      selector.Sample(rng, n, /*replacement=*/rng.UniformInt(2) == 0, slots.data(),
                      probabilities.data());
    } else {
      const Slot victim = selector.Victim(rng);
      selector.Remove(victim);
      model.Remove(victim);
    }
  }
}

// Runs the same `steps` random calls on `a` and `b` (a and b hold the same items, described by
// `model`), each with its own Rng started in the same state, and returns how many of their
// answers differed (slots, probabilities, weights or victims). Keeps `model` in step.
inline int CountDifferences(Selector& a, Selector& b, ItemModel& model, uint64_t seed, int steps) {
  Rng rng_a(seed), rng_b(seed), ops(seed ^ 0x9e3779b97f4a7c15ull);
  int differences = 0;
  std::vector<Slot> slots_a(16), slots_b(16);
  std::vector<double> p_a(16), p_b(16), w_a(16), w_b(16);
  for (int i = 0; i < steps; ++i) {
    const uint64_t op = ops.UniformInt(10);
    if (model.size() == 0 || (op < 3 && !model.full())) {
      const SelectorItem item = model.NewItem(ops);
      a.Insert(item);
      b.Insert(item);
    } else if (op < 4) {
      const Slot slot = model.Pick(ops).slot;
      a.Remove(slot);
      b.Remove(slot);
      model.Remove(slot);
    } else if (op < 5) {
      const SelectorItem item = model.Updated(model.Pick(ops).slot, ops);
      a.Update(item);
      b.Update(item);
    } else if (op < 8) {
      const size_t n = std::min<size_t>(model.size(), 1 + ops.UniformInt(16));
      const bool replacement = ops.UniformInt(2) == 0;
      a.Sample(rng_a, n, replacement, slots_a.data(), p_a.data());
      b.Sample(rng_b, n, replacement, slots_b.data(), p_b.data());
      a.Weights({p_a.data(), n}, Selector::kConfiguredBeta, w_a.data());
      b.Weights({p_b.data(), n}, Selector::kConfiguredBeta, w_b.data());
      for (size_t k = 0; k < n; ++k) {
        // Bit for bit: a resumed run must not drift by rounding either.
        differences += slots_a[k] != slots_b[k] ||
                       std::memcmp(&p_a[k], &p_b[k], sizeof(double)) != 0 ||
                       std::memcmp(&w_a[k], &w_b[k], sizeof(double)) != 0;
      }
    } else {
      const Slot victim_a = a.Victim(rng_a);
      const Slot victim_b = b.Victim(rng_b);
      if (victim_a != victim_b) {
        ++differences;
        break;  // the two now hold different items; stop comparing
      }
      a.Remove(victim_a);
      b.Remove(victim_a);
      model.Remove(victim_a);
    }
  }
  EXPECT_TRUE(a.CheckInvariants(model.Live()).ok()) << a.CheckInvariants(model.Live());
  return differences;
}

// The state with the u32 at byte `offset` (counted from the end of the tag) set to `value`.
inline std::string WithU32(std::string state, size_t offset, uint32_t value) {
  const size_t at = 1 + static_cast<uint8_t>(state[0]) + offset;
  std::memcpy(state.data() + at, &value, sizeof(value));
  return state;
}
inline uint32_t U32At(const std::string& state, size_t offset) {
  uint32_t value;
  std::memcpy(&value, state.data() + 1 + static_cast<uint8_t>(state[0]) + offset, sizeof(value));
  return value;
}

// Expects LoadState to refuse `state` with `code` and a message containing `text`, and to leave
// the selector empty and usable.
inline void ExpectRefused(Selector& selector, const std::string& state,
                          const std::vector<SelectorItem>& items, absl::StatusCode code,
                          const std::string& text) {
  const absl::Status status = selector.LoadState(state, items);
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_NE(status.message().find(text), std::string::npos)
      << "'" << status.message() << "' does not contain '" << text << "'";
  EXPECT_EQ(selector.size(), 0u);
  EXPECT_TRUE(selector.CheckInvariants({}).ok()) << selector.CheckInvariants({});
}

// Refusals of a state that names its slots (not an implicit list): `free` is a slot no item
// holds.
inline void ExpectNamedSlotRefusals(Selector& fresh, const std::string& state,
                                    const std::vector<SelectorItem>& items, Slot free) {
  const auto kDataLoss = absl::StatusCode::kDataLoss;
  const auto by_slot = [](const SelectorItem& a, const SelectorItem& b) { return a.slot < b.slot; };
  // The state names a slot whose item is gone (another item holds a slot it does not name).
  std::vector<SelectorItem> moved = items;
  moved[0].slot = free;
  std::sort(moved.begin(), moved.end(), by_slot);
  ExpectRefused(fresh, state, moved, kDataLoss,
                "names slot " + std::to_string(items[0].slot) + ", which holds no live item");
  // An item the state does not name.
  std::vector<SelectorItem> more = items;
  SelectorItem extra = items[0];
  extra.slot = free;
  more.push_back(extra);
  std::sort(more.begin(), more.end(), by_slot);
  ExpectRefused(fresh, state, more, kDataLoss,
                "names " + std::to_string(items.size()) + " of the " +
                    std::to_string(items.size() + 1) + " live items");
}

// Refusals every strategy makes, whatever its layout: `fresh` is an empty selector of the kind
// that saved `state` over `items` (at least 2, below `capacity`, with a free slot).
inline void ExpectCommonRefusals(Selector& fresh, const std::string& state,
                                 const std::vector<SelectorItem>& items, size_t capacity) {
  ASSERT_GE(items.size(), 2u);
  const auto kDataLoss = absl::StatusCode::kDataLoss;
  ExpectRefused(fresh, "", items, kDataLoss, "truncated in its tag");
  ExpectRefused(fresh, state.substr(0, state.size() - 1), items, kDataLoss, "state: ");
  ExpectRefused(fresh, state + '\0', items, kDataLoss, "1 bytes after its end");
  // Saved by another strategy: not corruption, the caller rebuilds.
  std::string other(1, '\x08');
  other += "nonesuch";
  ExpectRefused(fresh, other + state.substr(1 + static_cast<uint8_t>(state[0])), items,
                absl::StatusCode::kFailedPrecondition, "saved by 'nonesuch'");
  Slot free = 0;
  while (std::any_of(items.begin(), items.end(),
                     [&](const SelectorItem& i) { return i.slot == free; })) {
    ++free;
  }
  ASSERT_LT(free, capacity);
  if (state.size() >= 1 + static_cast<uint8_t>(state[0]) + 4 && U32At(state, 0) == kImplicitSlots) {
    // An implicit list names no slot: it stands for the items it is loaded over, if as many.
    std::vector<SelectorItem> fewer(items.begin(), items.end() - 1);
    ExpectRefused(fresh, state, fewer, kDataLoss,
                  "an implicit slot list of " + std::to_string(items.size()) +
                      " items, loaded over " + std::to_string(fewer.size()));
    ExpectRefused(fresh, state.substr(0, state.size() - 4), items, kDataLoss, "truncated");
  } else {
    ExpectNamedSlotRefusals(fresh, state, items, free);
  }
  // The caller's mistake, not the state's.
  std::vector<SelectorItem> unsorted = items;
  std::swap(unsorted[0], unsorted[1]);
  ExpectRefused(fresh, state, unsorted, absl::StatusCode::kInvalidArgument, "ascending");
  // Still usable after all of that.
  ASSERT_TRUE(fresh.LoadState(state, items).ok());
  EXPECT_EQ(fresh.size(), items.size());
}

// A state of `tag` whose payload is the explicit slot list `slots` (what uniform and heaps
// write, and what every slot-list strategy reads).
inline std::string ExplicitSlotList(std::string_view tag, const std::vector<Slot>& slots) {
  std::string state;
  StateWriter(&state, tag).PutSlots(slots);
  return state;
}

// An implicit slot list of `count` items for `tag`.
inline std::string ImplicitSlotList(std::string_view tag, uint32_t count) {
  std::string state;
  StateWriter(&state, tag).PutImplicitSlots(count);
  return state;
}

// Refusals of the layouts that are one list of slots (u32 count, then slots): uniform, fifo,
// heap, prioritized. `state` was saved over `items` (at least 2).
inline void ExpectSlotListRefusals(Selector& fresh, const std::string& state,
                                   const std::vector<SelectorItem>& items, size_t capacity) {
  const auto kDataLoss = absl::StatusCode::kDataLoss;
  ASSERT_EQ(U32At(state, 0), items.size());
  ExpectRefused(fresh, WithU32(state, 0, 0xFFFFFFFEu), items, kDataLoss,
                "4294967294 slots declared, more than its");
  ExpectRefused(fresh,
                WithU32(state, 0, static_cast<uint32_t>(items.size() + 1)) + std::string(4, '\0'),
                items, kDataLoss, "at most " + std::to_string(items.size()) + " possible");
  ExpectRefused(fresh, WithU32(state, 4, static_cast<uint32_t>(capacity + 5)), items, kDataLoss,
                "names slot " + std::to_string(capacity + 5) + ", out of range");
  ExpectRefused(fresh, WithU32(state, 8, U32At(state, 4)), items, kDataLoss,
                "names slot " + std::to_string(U32At(state, 4)) + " twice");
}

}  // namespace strata::internal::state_testing

#endif  // STRATA_SELECT_STATE_TESTING_H_
