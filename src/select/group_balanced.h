// GroupBalancedSelector: class-balanced episodic memory for continual learning.
#ifndef STRATA_SELECT_GROUP_BALANCED_H_
#define STRATA_SELECT_GROUP_BALANCED_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "select/selector.h"
#include "strata/selector.h"
#include "util/random.h"

namespace strata::internal {

// Keeps groups (classes) balanced, as the class-balanced episodic memories of Miro and CarM do.
//
// As a remover: the victim comes from the group holding the most items (ties: the smallest group
// id), so a full table converges to a quota of capacity / groups_seen() items per group, and the
// quota shrinks as new groups arrive. Victim cannot see the arriving item, so the balance a table
// gets depends on its order of operations: admitting first and then evicting back to capacity
// keeps every group within one item of capacity / groups_seen(); evicting first lets an arrival
// into a group tied for largest overshoot by one more (within two). Inside that group the victim is
// picked by options.victim_order: the oldest, one at random, or the lowest score (ties: the
// oldest). As a sampler: each draw picks a non-empty group uniformly, then an item of it uniformly,
// so P(item) = 1 / (non-empty groups * |its group|). Without replacement, each draw applies that
// rule to the items not yet drawn in the call: a group uniformly among those with items left, then
// one of its remaining items uniformly. The reported probability is always the single-draw one.
//
// Layout: each group keeps its items in an array (kLowestScore: a min-heap on (score, seq); else
// unordered) that also serves uniform draws; kOldest threads an intrusive list through each group
// in seq order (the table inserts in increasing seq, so appending keeps it sorted). Insert, remove
// and update are O(1) (kLowestScore: O(log |group|)); Victim scans the groups, O(G). Memory per
// slot of capacity: 12 bytes for kRandom (group 4 + position 4 + array entry 4), 20 for kOldest
// (+ prev/next 8), 28 for kLowestScore (+ score and seq 16). Group arrays grow geometrically and
// never shrink, so after warm-up only the first item of a new group allocates; a group's array
// may keep room for its peak size after its quota has shrunk.
//
// Groups are remembered once seen, even when they empty out, until Clear, which forgets them.
//
// Thread-safety: externally synchronized (the owning table's mutex).
class GroupBalancedSelector final : public Selector {
 public:
  GroupBalancedSelector(const SelectorOptions& options, size_t capacity);

  std::string_view name() const override { return "group_balanced"; }
  void Insert(const SelectorItem& item) override;
  // Re-sifts the item under kLowestScore when its score changed; a no-op for the other orders.
  // The item's group must be the one it was inserted with.
  void Update(const SelectorItem& item) override;
  void Remove(Slot slot) override;
  void Clear() override;
  size_t size() const override { return size_; }

  void Sample(Rng& rng, size_t n, bool replacement, Slot* slots, double* probabilities) override;
  Slot Victim(Rng& rng) override;
  absl::Status CheckInvariants(absl::Span<const Slot> live) const override;

  // The state is every group seen (empty ones too: they count towards the quota) in order of
  // first appearance, each with its item array (the order draws index) and, for kOldest, its
  // list; then the order of the non-empty groups. Its tag names the victim order, which shapes it.
  void SaveState(std::string* out) const override;
  absl::Status LoadState(std::string_view state, absl::Span<const SelectorItem> items) override;

  // Items currently held in `group` (0 for a group never seen).
  size_t group_size(int32_t group) const;
  // The victim inside `group` by victim_order, as Victim picks it in the largest group; kNoSlot
  // when the group holds no item.
  Slot VictimIn(int32_t group, Rng& rng);
  // Calls fn(group id, items held) for every group holding items.
  template <typename F>
  void ForEachGroup(F fn) const {
    for (uint32_t g : nonempty_) fn(groups_[g].id, groups_[g].items.size());
  }
  // Distinct groups inserted since construction or the last Clear.
  size_t groups_seen() const { return groups_.size(); }
  // The per-group share of a full table: capacity / groups_seen() (capacity before any group).
  size_t quota() const { return groups_.empty() ? capacity_ : capacity_ / groups_.size(); }

 private:
  struct Group {
    int32_t id = 0;
    std::vector<Slot> items;
    Slot oldest = kNoSlot;                 // kOldest: head of the group's list
    Slot newest = kNoSlot;                 // kOldest: tail of the group's list
    uint32_t nonempty_position = kNoSlot;  // index in nonempty_, kNoSlot while empty
  };
  struct Key {
    double score;
    uint64_t seq;
  };
  // One in-place swap made by Sample without replacement, undone before it returns.
  struct Swap {
    uint32_t group;
    uint32_t a;
    uint32_t b;
  };

  bool heap_ordered() const { return order_ == VictimOrder::kLowestScore; }
  bool HeapBefore(Slot a, Slot b) const {
    if (keys_[a].score != keys_[b].score) return keys_[a].score < keys_[b].score;
    return keys_[a].seq < keys_[b].seq;
  }
  void Place(Group& group, uint32_t index, Slot slot) {
    group.items[index] = slot;
    position_[slot] = index;
  }
  void SiftUp(Group& group, uint32_t index);
  void SiftDown(Group& group, uint32_t index);
  uint32_t GroupIndex(int32_t id);  // creates the group on first sight
  uint32_t LargestGroup() const;
  absl::Status CheckGroup(uint32_t g) const;
  std::string StateTag() const;

  const VictimOrder order_;
  const size_t capacity_;

  size_t size_ = 0;
  std::vector<Group> groups_;                           // in order of first appearance
  absl::flat_hash_map<int32_t, uint32_t> group_index_;  // group id -> index in groups_
  std::vector<uint32_t> nonempty_;                      // indices of groups holding items

  // Per slot.
  std::vector<uint32_t> group_of_;  // index in groups_, kNoSlot when not held
  std::vector<uint32_t> position_;  // index in its group's items
  std::vector<Slot> prev_;          // kOldest only: towards older items of the same group
  std::vector<Slot> next_;          // kOldest only: towards newer items of the same group
  std::vector<Key> keys_;           // kLowestScore only

  // Scratch for Sample without replacement; empty (drawn_: all zero) between calls.
  std::vector<uint32_t> open_groups_;  // groups with undrawn items
  std::vector<uint32_t> drawn_;        // per group: items drawn so far in this call
  std::vector<Swap> swaps_;
};

}  // namespace strata::internal

#endif  // STRATA_SELECT_GROUP_BALANCED_H_
