#include "select/group_balanced.h"

#include <cassert>
#include <utility>

#include "absl/strings/str_cat.h"
#include "select/selector_state.h"

namespace strata::internal {

GroupBalancedSelector::GroupBalancedSelector(const SelectorOptions& options, size_t capacity)
    : order_(options.victim_order),
      capacity_(capacity),
      group_of_(capacity, kNoSlot),
      position_(capacity, kNoSlot) {
  if (order_ == VictimOrder::kOldest) {
    prev_.assign(capacity, kNoSlot);
    next_.assign(capacity, kNoSlot);
  }
  if (order_ == VictimOrder::kLowestScore) keys_.assign(capacity, Key{0, 0});
}

uint32_t GroupBalancedSelector::GroupIndex(int32_t id) {
  const auto [it, inserted] = group_index_.try_emplace(id, static_cast<uint32_t>(groups_.size()));
  if (inserted) {
    groups_.emplace_back().id = id;
    drawn_.push_back(0);
  }
  return it->second;
}

void GroupBalancedSelector::Insert(const SelectorItem& item) {
  const Slot slot = item.slot;
  assert(slot < capacity_ && group_of_[slot] == kNoSlot);
  const uint32_t g = GroupIndex(item.group);
  Group& group = groups_[g];
  if (group.items.empty()) {
    group.nonempty_position = static_cast<uint32_t>(nonempty_.size());
    nonempty_.push_back(g);
  }
  group_of_[slot] = g;
  const uint32_t index = static_cast<uint32_t>(group.items.size());
  group.items.push_back(slot);
  position_[slot] = index;
  switch (order_) {
    case VictimOrder::kOldest:
      prev_[slot] = group.newest;
      next_[slot] = kNoSlot;
      if (group.newest == kNoSlot) {
        group.oldest = slot;
      } else {
        next_[group.newest] = slot;
      }
      group.newest = slot;
      break;
    case VictimOrder::kLowestScore:
      keys_[slot] = {item.score, item.seq};
      SiftUp(group, index);
      break;
    case VictimOrder::kRandom:
      break;
  }
  ++size_;
}

void GroupBalancedSelector::Update(const SelectorItem& item) {
  assert(item.slot < capacity_ && group_of_[item.slot] != kNoSlot);
  assert(groups_[group_of_[item.slot]].id == item.group);
  if (!heap_ordered() || keys_[item.slot].score == item.score) return;
  Group& group = groups_[group_of_[item.slot]];
  const bool decreased = item.score < keys_[item.slot].score;
  keys_[item.slot].score = item.score;
  if (decreased) {
    SiftUp(group, position_[item.slot]);
  } else {
    SiftDown(group, position_[item.slot]);
  }
}

void GroupBalancedSelector::Remove(Slot slot) {
  assert(slot < capacity_ && group_of_[slot] != kNoSlot);
  const uint32_t g = group_of_[slot];
  Group& group = groups_[g];
  if (order_ == VictimOrder::kOldest) {
    const Slot prev = prev_[slot];
    const Slot next = next_[slot];
    if (prev == kNoSlot) {
      group.oldest = next;
    } else {
      next_[prev] = next;
    }
    if (next == kNoSlot) {
      group.newest = prev;
    } else {
      prev_[next] = prev;
    }
    prev_[slot] = next_[slot] = kNoSlot;
  }
  // The group's last item fills the hole; under the heap order it may belong above or below it.
  const uint32_t index = position_[slot];
  const Slot last = group.items.back();
  group.items.pop_back();
  if (index < group.items.size()) {
    Place(group, index, last);
    if (heap_ordered()) {
      SiftUp(group, index);
      SiftDown(group, position_[last]);
    }
  }
  group_of_[slot] = kNoSlot;
  position_[slot] = kNoSlot;
  --size_;
  if (group.items.empty()) {
    const uint32_t hole = group.nonempty_position;
    const uint32_t moved = nonempty_.back();
    nonempty_[hole] = moved;
    groups_[moved].nonempty_position = hole;
    nonempty_.pop_back();
    group.nonempty_position = kNoSlot;
  }
}

void GroupBalancedSelector::Clear() {
  for (const Group& group : groups_) {
    for (Slot slot : group.items) {
      group_of_[slot] = kNoSlot;
      position_[slot] = kNoSlot;
      if (order_ == VictimOrder::kOldest) prev_[slot] = next_[slot] = kNoSlot;
    }
  }
  groups_.clear();
  group_index_.clear();
  nonempty_.clear();
  drawn_.clear();
  size_ = 0;
}

void GroupBalancedSelector::SiftUp(Group& group, uint32_t index) {
  const Slot slot = group.items[index];
  while (index > 0) {
    const uint32_t parent = (index - 1) / 2;
    if (!HeapBefore(slot, group.items[parent])) break;
    Place(group, index, group.items[parent]);
    index = parent;
  }
  Place(group, index, slot);
}

void GroupBalancedSelector::SiftDown(Group& group, uint32_t index) {
  const Slot slot = group.items[index];
  const size_t n = group.items.size();
  while (true) {
    size_t child = 2 * size_t{index} + 1;
    if (child >= n) break;
    if (child + 1 < n && HeapBefore(group.items[child + 1], group.items[child])) ++child;
    if (!HeapBefore(group.items[child], slot)) break;
    Place(group, index, group.items[child]);
    index = static_cast<uint32_t>(child);
  }
  Place(group, index, slot);
}

void GroupBalancedSelector::Sample(Rng& rng, size_t n, bool replacement, Slot* slots,
                                   double* probabilities) {
  assert(n >= 1 && size_ >= 1 && (replacement || n <= size_));
  const double nonempty = static_cast<double>(nonempty_.size());
  if (replacement) {
    for (size_t i = 0; i < n; ++i) {
      const Group& group = groups_[nonempty_[rng.UniformInt(nonempty_.size())]];
      slots[i] = group.items[rng.UniformInt(group.items.size())];
      probabilities[i] = 1.0 / (nonempty * static_cast<double>(group.items.size()));
    }
    return;
  }
  // A partial Fisher-Yates shuffle inside each group: drawn_[g] items of group g have been moved
  // to the front of its array. The swaps are undone afterwards because the heap order (and
  // position_, which is left stale meanwhile) must survive the call.
  open_groups_.assign(nonempty_.begin(), nonempty_.end());
  swaps_.clear();
  for (size_t i = 0; i < n; ++i) {
    const size_t k = rng.UniformInt(open_groups_.size());
    const uint32_t g = open_groups_[k];
    std::vector<Slot>& items = groups_[g].items;
    const uint32_t m = static_cast<uint32_t>(items.size());
    const uint32_t d = drawn_[g];
    const uint32_t j = d + static_cast<uint32_t>(rng.UniformInt(m - d));
    std::swap(items[d], items[j]);
    swaps_.push_back({g, d, j});
    slots[i] = items[d];
    probabilities[i] = 1.0 / (nonempty * static_cast<double>(m));
    if (++drawn_[g] == m) {
      open_groups_[k] = open_groups_.back();
      open_groups_.pop_back();
    }
  }
  for (size_t i = swaps_.size(); i-- > 0;) {
    const Swap& s = swaps_[i];
    std::swap(groups_[s.group].items[s.a], groups_[s.group].items[s.b]);
    drawn_[s.group] = 0;
  }
}

uint32_t GroupBalancedSelector::LargestGroup() const {
  uint32_t best = nonempty_[0];
  for (uint32_t g : nonempty_) {
    const Group& group = groups_[g];
    const size_t best_size = groups_[best].items.size();
    if (group.items.size() > best_size ||
        (group.items.size() == best_size && group.id < groups_[best].id)) {
      best = g;
    }
  }
  return best;
}

Slot GroupBalancedSelector::Victim(Rng& rng) {
  assert(size_ >= 1);
  return VictimIn(groups_[LargestGroup()].id, rng);
}

Slot GroupBalancedSelector::VictimIn(int32_t id, Rng& rng) {
  const auto it = group_index_.find(id);
  if (it == group_index_.end() || groups_[it->second].items.empty()) return kNoSlot;
  const Group& group = groups_[it->second];
  switch (order_) {
    case VictimOrder::kOldest:
      return group.oldest;
    case VictimOrder::kRandom:
      return group.items[rng.UniformInt(group.items.size())];
    case VictimOrder::kLowestScore:
      return group.items[0];
  }
  return kNoSlot;
}

std::string GroupBalancedSelector::StateTag() const {
  switch (order_) {
    case VictimOrder::kOldest:
      return "group_balanced/oldest";
    case VictimOrder::kRandom:
      return "group_balanced/random";
    case VictimOrder::kLowestScore:
      return "group_balanced/lowest_score";
  }
  return "group_balanced";
}

// State payload:
//   u32 groups, then per group in order of first appearance:
//     i32 id, u32 items, the slots of its item array in order,
//     kOldest only: the same slots again, oldest to newest
//   u32 non-empty groups, then their indices (into the groups above) in nonempty_ order
void GroupBalancedSelector::SaveState(std::string* out) const {
  StateWriter w(out, StateTag());
  w.Put<uint32_t>(static_cast<uint32_t>(groups_.size()));
  for (const Group& group : groups_) {
    w.Put<int32_t>(group.id);
    w.PutSlots(group.items);
    if (order_ == VictimOrder::kOldest) {
      for (Slot slot = group.oldest; slot != kNoSlot; slot = next_[slot]) w.Put<Slot>(slot);
    }
  }
  w.PutSlots(nonempty_);
}

absl::Status GroupBalancedSelector::LoadState(std::string_view state,
                                              absl::Span<const SelectorItem> items) {
  Clear();
  StateReader in(state, name());
  SlotTracker tracker;
  const bool listed = order_ == VictimOrder::kOldest;
  std::vector<bool> linked(listed ? capacity_ : 0);  // kOldest: slots already on a list
  absl::Status status = [&]() -> absl::Status {
    RETURN_IF_ERROR(in.ExpectTag(StateTag()));
    RETURN_IF_ERROR(tracker.Init(items, capacity_, name()));
    // A group takes at least 8 bytes (id and count), so the bytes left bound the groups.
    ASSIGN_OR_RETURN(const uint32_t num_groups, in.Count("groups", 8, ~uint32_t{0} - 1));
    groups_.reserve(num_groups);
    for (uint32_t g = 0; g < num_groups; ++g) {
      const int32_t id = in.Get<int32_t>();
      if (!group_index_.try_emplace(id, g).second) {
        return in.Corrupt("group ", id, " is listed twice");
      }
      groups_.emplace_back().id = id;
      drawn_.push_back(0);
      ASSIGN_OR_RETURN(const uint32_t m,
                       in.Count(absl::StrCat("items of group ", id),
                                sizeof(Slot) * (listed ? 2 : 1), items.size() - size_));
      Group& group = groups_[g];
      group.items.reserve(m);
      for (uint32_t i = 0; i < m; ++i) {
        const Slot slot = in.Get<Slot>();
        ASSIGN_OR_RETURN(const uint32_t k, tracker.Take(slot, in));
        if (items[k].group != id) {
          return in.Corrupt("slot ", slot, " of group ", items[k].group, " is listed in group ",
                            id);
        }
        group_of_[slot] = g;
        position_[slot] = i;
        group.items.push_back(slot);
        ++size_;
        if (heap_ordered()) {
          keys_[slot] = {items[k].score, items[k].seq};
          if (i > 0 && HeapBefore(slot, group.items[(i - 1) / 2])) {
            return in.Corrupt("group ", id, " heap item ", i, " (slot ", slot,
                              ") comes before its parent");
          }
        }
      }
      if (listed) {
        for (uint32_t i = 0; i < m; ++i) {
          const Slot slot = in.Get<Slot>();
          if (slot >= capacity_ || group_of_[slot] != g || linked[slot]) {
            return in.Corrupt("group ", id, " list element ", i, " (slot ", slot,
                              ") is not an item of the group, or is listed twice");
          }
          linked[slot] = true;
          prev_[slot] = group.newest;
          if (group.newest == kNoSlot) {
            group.oldest = slot;
          } else {
            next_[group.newest] = slot;
          }
          group.newest = slot;
        }
      }
    }
    ASSIGN_OR_RETURN(const uint32_t num_nonempty,
                     in.Count("non-empty groups", sizeof(uint32_t), num_groups));
    for (uint32_t i = 0; i < num_nonempty; ++i) {
      const uint32_t g = in.Get<uint32_t>();
      if (g >= num_groups || groups_[g].items.empty() || groups_[g].nonempty_position != kNoSlot) {
        return in.Corrupt("non-empty group ", i, " is index ", g,
                          ": out of range, empty, or listed twice");
      }
      groups_[g].nonempty_position = i;
      nonempty_.push_back(g);
    }
    for (const Group& group : groups_) {
      if (!group.items.empty() && group.nonempty_position == kNoSlot) {
        return in.Corrupt("group ", group.id, " holds items but is not listed as non-empty");
      }
    }
    RETURN_IF_ERROR(tracker.CheckAllTaken(in));
    return in.Finish();
  }();
  if (!status.ok()) Clear();
  return status;
}

size_t GroupBalancedSelector::group_size(int32_t group) const {
  const auto it = group_index_.find(group);
  return it == group_index_.end() ? 0 : groups_[it->second].items.size();
}

absl::Status GroupBalancedSelector::CheckGroup(uint32_t g) const {
  const Group& group = groups_[g];
  const std::vector<Slot>& items = group.items;
  for (size_t i = 0; i < items.size(); ++i) {
    const Slot slot = items[i];
    if (slot >= capacity_ || group_of_[slot] != g || position_[slot] != i) {
      return absl::InternalError(
          absl::StrCat("group_balanced: group ", group.id, " item ", i, " is slot ", slot,
                       " whose group index / position is not ", g, " / ", i));
    }
    if (heap_ordered() && i > 0 && HeapBefore(slot, items[(i - 1) / 2])) {
      const Slot parent = items[(i - 1) / 2];
      return absl::InternalError(absl::StrCat(
          "group_balanced: group ", group.id, " heap item ", i, " (score ", keys_[slot].score,
          ", seq ", keys_[slot].seq, ") comes before its parent (score ", keys_[parent].score,
          ", seq ", keys_[parent].seq, ")"));
    }
  }
  if (order_ == VictimOrder::kOldest) {
    // Walk the list with back-link checks (which also rules out repeats) over exactly |items|
    // steps; every slot on it must belong to this group.
    Slot prev = kNoSlot;
    Slot slot = group.oldest;
    for (size_t i = 0; i < items.size(); ++i) {
      if (slot >= capacity_ || group_of_[slot] != g || prev_[slot] != prev) {
        return absl::InternalError(absl::StrCat("group_balanced: group ", group.id,
                                                " list element ", i, " (slot ", slot,
                                                ") is foreign or has a wrong prev link"));
      }
      prev = slot;
      slot = next_[slot];
    }
    if (slot != kNoSlot || prev != group.newest) {
      return absl::InternalError(absl::StrCat("group_balanced: group ", group.id,
                                              " list does not end at its newest slot after ",
                                              items.size(), " elements"));
    }
  }
  const bool listed = group.nonempty_position != kNoSlot;
  if (listed != !items.empty() || (listed && (group.nonempty_position >= nonempty_.size() ||
                                              nonempty_[group.nonempty_position] != g))) {
    return absl::InternalError(absl::StrCat("group_balanced: group ", group.id, " holds ",
                                            items.size(), " items but its non-empty position is ",
                                            group.nonempty_position));
  }
  if (drawn_[g] != 0) {
    return absl::InternalError(
        absl::StrCat("group_balanced: group ", group.id, " has leftover sample scratch"));
  }
  const auto it = group_index_.find(group.id);
  if (it == group_index_.end() || it->second != g) {
    return absl::InternalError(
        absl::StrCat("group_balanced: group id ", group.id, " does not map to index ", g));
  }
  return absl::OkStatus();
}

absl::Status GroupBalancedSelector::CheckInvariants(absl::Span<const Slot> live) const {
  if (size_ != live.size()) {
    return absl::InternalError(
        absl::StrCat("group_balanced: size ", size_, ", table has ", live.size(), " live"));
  }
  if (group_index_.size() != groups_.size() || drawn_.size() != groups_.size()) {
    return absl::InternalError(absl::StrCat("group_balanced: ", groups_.size(), " groups, ",
                                            group_index_.size(), " ids, ", drawn_.size(),
                                            " scratch counters"));
  }
  size_t total = 0;
  size_t nonempty = 0;
  for (uint32_t g = 0; g < groups_.size(); ++g) {
    if (absl::Status s = CheckGroup(g); !s.ok()) return s;
    total += groups_[g].items.size();
    nonempty += !groups_[g].items.empty();
  }
  if (total != size_ || nonempty != nonempty_.size()) {
    return absl::InternalError(absl::StrCat("group_balanced: groups hold ", total, " items in ",
                                            nonempty, " non-empty groups; size ", size_, ", ",
                                            nonempty_.size(), " listed non-empty"));
  }
  // Each held slot sits in exactly one group array (checked above), so with equal counts the
  // held set is the live set once every live slot is held and no other slot claims a group.
  for (Slot slot : live) {
    if (slot >= capacity_ || group_of_[slot] == kNoSlot) {
      return absl::InternalError(absl::StrCat("group_balanced: live slot ", slot, " is not held"));
    }
  }
  size_t claimed = 0;
  for (uint32_t g : group_of_) claimed += (g != kNoSlot);
  if (claimed != size_) {
    return absl::InternalError(
        absl::StrCat("group_balanced: ", claimed, " slots claim a group, size is ", size_));
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
