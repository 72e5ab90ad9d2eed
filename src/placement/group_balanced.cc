// Group-balanced placement: groups (classes) share DRAM equally, as a class-balanced episodic
// memory. The copy dropped next is the oldest written one of the group with the most DRAM copies
// (written or not: a stream of new items must not push every written copy of the other groups
// out first); free frames are refilled from the groups with the fewest; and the maintenance
// thread moves DRAM from the group with the most copies to one with stored items and the fewest
// until no such group is 2+ copies behind.
#include "select/group_balanced.h"

#include <algorithm>
#include <climits>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "placement/placement_policy.h"
#include "strata/table.h"
#include "tier/cold_set.h"

namespace strata::internal {
namespace {

using Counts = absl::flat_hash_map<int32_t, int64_t>;

class GroupBalancedPlacement final : public PlacementPolicy {
 public:
  GroupBalancedPlacement(size_t capacity, PlacementLookup lookup)
      : clean_(GroupBalanced(), capacity), cold_(capacity), lookup_(std::move(lookup)) {}

  std::string_view name() const override { return "group_balanced"; }
  bool has_maintenance() const override { return true; }

  void Enter(const PlacementItem& item, Residence where) override {
    switch (where) {
      case Residence::kDirty:
        ++dirty_[item.group];
        break;
      case Residence::kClean:
        clean_.Insert(item);
        break;
      case Residence::kCold:
        cold_.Insert(item.slot, item.group);
        break;
      case Residence::kMoving:
        ++moving_[item.group];
        break;
      case Residence::kNone:
        break;
    }
  }
  void Leave(const PlacementItem& item, Residence where) override {
    switch (where) {
      case Residence::kDirty:
        --dirty_[item.group];
        break;
      case Residence::kClean:
        clean_.Remove(item.slot);
        break;
      case Residence::kCold:
        cold_.Remove(item.slot, item.group);
        break;
      case Residence::kMoving:
        --moving_[item.group];
        break;
      case Residence::kNone:
        break;
    }
  }
  size_t droppable() const override { return clean_.size(); }
  Slot NextDemotion(Rng& rng) override { return clean_.VictimIn(MostCopies(Copies()), rng); }

  void PlanMaintenance(const MaintenanceRoom& room, Rng& rng,
                       std::vector<PlacementMove>* moves) override {
    if (room.inserts_pending || cold_.size() == 0) return;
    Counts copies = Copies();  // counting the moves of this step
    if (room.free_items > 0) {
      for (size_t i = 0; i < std::min(room.free_items, room.max_moves); ++i) {
        const Slot in = TakeFewest(&copies, rng, nullptr);
        if (in == kNoSlot) break;
        moves->push_back(PlacementMove{kNoSlot, in});
      }
      return;
    }
    std::vector<PlacementItem> outs;
    while (moves->size() < room.max_moves && clean_.size() > 0) {
      int64_t fewest = 0;
      const int32_t group = FewestGroup(copies, &fewest);
      if (group == kNoGroup) break;
      const int32_t most = MostCopies(copies);
      if (copies[most] <= fewest + 1) break;
      const Slot out = clean_.VictimIn(most, rng);
      outs.push_back(lookup_(out, -1));
      clean_.Remove(out);  // out of the order while the plan is made
      --copies[most];
      const Slot in = TakeFewest(&copies, rng, nullptr);
      moves->push_back(PlacementMove{out, in});
    }
    for (const PlacementItem& out : outs) clean_.Insert(out);
  }

  void Describe(TierInfo* info) const override {
    absl::flat_hash_map<int32_t, TierInfo::Group> groups;
    clean_.ForEachGroup([&](int32_t g, size_t n) { groups[g].dram_items = n; });
    for (const auto& [g, n] : Items()) {
      if (n > 0) groups[g].items = static_cast<uint64_t>(n);
    }
    for (auto& [g, entry] : groups) {
      entry.group = g;
      info->groups.push_back(entry);
    }
    std::sort(info->groups.begin(), info->groups.end(),
              [](const TierInfo::Group& a, const TierInfo::Group& b) { return a.group < b.group; });
  }

  absl::Status CheckInvariants(
      absl::Span<const Slot> clean,
      const absl::flat_hash_map<int32_t, uint64_t>& items_per_group) const override {
    if (clean_.size() != clean.size()) {
      return absl::InternalError(absl::StrCat("group-balanced placement holds ", clean_.size(),
                                              " clean copies, the table ", clean.size()));
    }
    const Counts items = Items();
    for (const auto& [g, n] : items) {
      const auto it = items_per_group.find(g);
      const uint64_t want = it == items_per_group.end() ? 0 : it->second;
      if (n < 0 || static_cast<uint64_t>(n) != want) {
        return absl::InternalError(
            absl::StrCat("group ", g, " holds ", want, " items, placement counts ", n));
      }
    }
    for (const auto& [g, n] : items_per_group) {
      if (n > 0 && !items.contains(g)) {
        return absl::InternalError(absl::StrCat("group ", g, "'s items are not counted"));
      }
    }
    return clean_.CheckInvariants(clean);
  }

 private:
  static constexpr int32_t kNoGroup = INT32_MIN;

  // Per group, its DRAM copies, written or not.
  Counts Copies() const {
    Counts copies = dirty_;
    clean_.ForEachGroup([&](int32_t g, size_t n) { copies[g] += static_cast<int64_t>(n); });
    return copies;
  }
  // Per group, its live items in any residence.
  Counts Items() const {
    Counts items = Copies();
    cold_.ForEachGroup([&](int32_t g, size_t n) { items[g] += static_cast<int64_t>(n); });
    for (const auto& [g, n] : moving_) items[g] += n;
    for (auto it = items.begin(); it != items.end();) {
      if (it->second == 0) {
        items.erase(it++);
      } else {
        ++it;
      }
    }
    return items;
  }
  // Of the groups with a written DRAM copy (one that can be dropped), the one with the most
  // `copies` (ties: the smallest id). Precondition: clean_ is not empty.
  int32_t MostCopies(const Counts& copies) const {
    int32_t most_group = 0;
    int64_t most = -1;
    clean_.ForEachGroup([&](int32_t g, size_t) {
      const auto it = copies.find(g);
      const int64_t n = it == copies.end() ? 0 : it->second;
      if (n > most || (n == most && g < most_group)) most = n, most_group = g;
    });
    return most_group;
  }
  // Of the groups with stored-only items, the one with the fewest `copies` (ties: the smallest
  // id), its count in *fewest; kNoGroup if none.
  int32_t FewestGroup(const Counts& copies, int64_t* fewest) const {
    int32_t best_group = kNoGroup;
    int64_t best = -1;
    cold_.ForEachGroup([&](int32_t g, size_t) {
      const auto it = copies.find(g);
      const int64_t n = it == copies.end() ? 0 : it->second;
      if (best < 0 || n < best || (n == best && g < best_group)) best = n, best_group = g;
    });
    if (fewest != nullptr) *fewest = best;
    return best_group;
  }
  // A random stored-only item of the group with the fewest copies, now kMoving and counted in
  // `copies`; kNoSlot if none.
  Slot TakeFewest(Counts* copies, Rng& rng, int64_t* fewest) {
    const int32_t group = FewestGroup(*copies, fewest);
    if (group == kNoGroup) return kNoSlot;
    const Slot in = cold_.Pick(group, rng);
    cold_.Remove(in, group);
    ++moving_[group];
    ++(*copies)[group];
    return in;
  }

  GroupBalancedSelector clean_;  // written DRAM copies, by group, oldest first
  ColdSet cold_;                 // stored only, by group
  Counts dirty_;                 // per group: DRAM copies not written yet
  Counts moving_;                // per group: stored items being read into DRAM
  const PlacementLookup lookup_;
};

}  // namespace

std::unique_ptr<PlacementPolicy> NewGroupBalancedPlacement(size_t capacity,
                                                           PlacementLookup lookup) {
  return std::make_unique<GroupBalancedPlacement>(capacity, std::move(lookup));
}

}  // namespace strata::internal
