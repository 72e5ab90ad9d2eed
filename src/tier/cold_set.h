// ColdSet: the stored items that have no DRAM copy, by group — what the resident+swap mode
// swaps in. O(1) insert, remove and uniform pick within a group; 4 bytes per slot.
// Externally synchronized (the table's mutex).
#ifndef STRATA_TIER_COLD_SET_H_
#define STRATA_TIER_COLD_SET_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "select/selector.h"
#include "util/random.h"

namespace strata::internal {

class ColdSet {
 public:
  explicit ColdSet(size_t capacity) : pos_(capacity, kAbsent) {}

  bool contains(Slot s) const { return pos_[s] != kAbsent; }
  size_t size() const { return size_; }

  void Insert(Slot s, int32_t group) {
    std::vector<Slot>& v = GroupOf(group);
    pos_[s] = static_cast<uint32_t>(v.size());
    v.push_back(s);
    ++size_;
  }
  // `group` must be the one s was inserted with.
  void Remove(Slot s, int32_t group) {
    std::vector<Slot>& v = GroupOf(group);
    const uint32_t p = pos_[s];
    v[p] = v.back();
    pos_[v[p]] = p;
    v.pop_back();
    pos_[s] = kAbsent;
    --size_;
  }
  // A uniformly random member of `group`, or kNoSlot if it has none.
  Slot Pick(int32_t group, Rng& rng) const {
    auto it = index_.find(group);
    if (it == index_.end() || groups_[it->second].empty()) return kNoSlot;
    const std::vector<Slot>& v = groups_[it->second];
    return v[rng.UniformInt(v.size())];
  }
  // Calls fn(group, members) for every group with members.
  template <typename F>
  void ForEachGroup(F fn) const {
    for (const auto& [group, i] : index_) {
      if (!groups_[i].empty()) fn(group, groups_[i].size());
    }
  }
  // A uniformly random member of any group, or kNoSlot when empty.
  Slot PickAny(Rng& rng) const {
    if (size_ == 0) return kNoSlot;
    uint64_t k = rng.UniformInt(size_);
    for (const std::vector<Slot>& v : groups_) {
      if (k < v.size()) return v[k];
      k -= v.size();
    }
    return kNoSlot;
  }

 private:
  static constexpr uint32_t kAbsent = 0xFFFFFFFFu;
  std::vector<Slot>& GroupOf(int32_t group) {
    auto [it, added] = index_.try_emplace(group, groups_.size());
    if (added) groups_.emplace_back();
    return groups_[it->second];
  }

  std::vector<uint32_t> pos_;  // per slot: index in its group's vector, or kAbsent
  absl::flat_hash_map<int32_t, size_t> index_;
  std::vector<std::vector<Slot>> groups_;
  size_t size_ = 0;
};

}  // namespace strata::internal

#endif  // STRATA_TIER_COLD_SET_H_
