// The placement plug point: which items of a table with storage keep a DRAM copy.
//
// Every live item of such a table is in exactly one Residence at a time, and the table tells
// its policy every move between them (Leave the old one, Enter the new one), with the item's
// priority, group, seq and — for a policy with a score column — score:
//
//   insert ──> kDirty ──written──> kClean ──demoted──> kCold ──picked by a plan──> kMoving
//                                    ^                   ^                            │
//                                    └──── read in ──────┴──── the read failed ───────┘
//   (opening a directory: every item Enters kCold; removal: Leave from wherever it is)
//
// The policy answers three questions: which clean copy to drop when DRAM is full
// (NextDemotion), what the maintenance thread should bring in next (PlanMaintenance: warm-up
// into free frames, promotion, rebalancing), and, in resident-sampling mode, which stored items
// replace the swap victims of a sampled batch (PlanSwaps). A plan's `in` items go from kCold to
// kMoving inside the policy (the table does not call Leave/Enter for that step); the table then
// moves each one to kClean (read in) or back to kCold (failed, or its victim changed).
//
// Policies, one file each in this folder: order.cc (recent, random: a fixed demotion order and
// no background work), ranked.cc (priority, score: the highest values stay, higher stored ones
// are promoted), group_balanced.cc (groups share DRAM equally), resident_swap.cc (resident
// sampling: wraps another policy and adds the swapper). MakePlacement (factory.cc) builds them.
//
// Thread-safety: externally synchronized; the table calls every method with its mutex held.
#ifndef STRATA_PLACEMENT_PLACEMENT_POLICY_H_
#define STRATA_PLACEMENT_PLACEMENT_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "select/selector.h"
#include "strata/options.h"
#include "util/random.h"

namespace strata {
struct TierInfo;
}

namespace strata::internal {

enum class Residence : uint8_t {
  kNone,    // not live (before insert, after removal): never Entered or Left
  kDirty,   // a DRAM copy whose record is not written yet: it cannot be dropped
  kClean,   // a DRAM copy of a stored record: it may be dropped
  kCold,    // stored only: a candidate to bring into DRAM
  kMoving,  // stored only, picked by a plan: being read into DRAM
};

// What a policy knows of an item (the table fills every field; `score` from score_column()).
using PlacementItem = SelectorItem;

// One exchange for the maintenance thread: read `in` into DRAM in place of `out`'s copy, or into
// a free frame when out is kNoSlot.
struct PlacementMove {
  Slot out = kNoSlot;
  Slot in = kNoSlot;
};

// What a maintenance step may do.
struct MaintenanceRoom {
  size_t free_items = 0;         // items that fit into free frames under the budget now
  size_t max_moves = 0;          // at most this many moves per step
  bool inserts_pending = false;  // writes are queued: inserts are taking the free frames
};

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  virtual std::string_view name() const = 0;

  // The score column PlacementItem::score carries (-1: none), and whether priority updates
  // matter. The table calls Update only for what a policy orders by.
  virtual int score_column() const { return -1; }
  virtual bool orders_by_priority() const { return false; }
  // Whether the maintenance thread runs for this policy.
  virtual bool has_maintenance() const { return false; }

  // `item` enters / leaves `where` (never kNone; see the diagram above).
  virtual void Enter(const PlacementItem& item, Residence where) = 0;
  virtual void Leave(const PlacementItem& item, Residence where) = 0;
  // The priority (orders_by_priority) or score (score_column) of an item in `where` changed.
  virtual void Update(const PlacementItem& item, Residence where) {}

  // Clean copies NextDemotion may pick from.
  virtual size_t droppable() const = 0;
  // The clean copy to drop next. Precondition: droppable() > 0. It stays kClean until the table
  // moves it.
  virtual Slot NextDemotion(Rng& rng) = 0;

  // Appends at most room.max_moves moves (none: nothing to do). Each `in` is now kMoving; the
  // `out`s are distinct clean copies and stay kClean.
  virtual void PlanMaintenance(const MaintenanceRoom& room, Rng& rng,
                               std::vector<PlacementMove>* moves) {}
  // Resident sampling: of the sampled batch `batch` (items with a DRAM copy; score from
  // score_column()), the k to swap out, appended to *victims.
  virtual void ChooseSwapVictims(absl::Span<const PlacementItem> batch, size_t k, Rng& rng,
                                 std::vector<Slot>* victims) {}
  // Resident sampling: a replacement for each victim (clean copies), as moves with out =
  // victim; a victim without one is skipped.
  virtual void PlanSwaps(absl::Span<const PlacementItem> victims, Rng& rng,
                         std::vector<PlacementMove>* moves) {}

  // Per-group figures for TierInfo::groups (group-balanced placement only).
  virtual void Describe(TierInfo* info) const {}
  // Checks the policy's bookkeeping against the table: the clean copies (sorted) and the live
  // items per group.
  virtual absl::Status CheckInvariants(
      absl::Span<const Slot> clean,
      const absl::flat_hash_map<int32_t, uint64_t>& items_per_group) const = 0;
};

// How a policy looks up a live item it holds (the table's metadata; score from `score_column`,
// -1: 0). Called under the table's mutex, like every policy method.
using PlacementLookup = std::function<PlacementItem(Slot slot, int score_column)>;

struct PlacementOptions {
  Placement placement = Placement::kRecent;
  int score_column = -1;  // Placement::kScore: the column kept hot
  bool resident = false;  // TierSampling::kResident
  SwapPolicy swap_policy = SwapPolicy::kRandomInGroup;
  int swap_score_column = -1;  // SwapPolicy::kScore
  PlacementLookup lookup;
};

// Builds the policy for slots in [0, capacity). InvalidArgument for combinations that do not
// exist (priority or score placement with resident sampling; a missing score column).
absl::StatusOr<std::unique_ptr<PlacementPolicy>> MakePlacement(const PlacementOptions& options,
                                                               size_t capacity);

// The policies, for MakePlacement and tests.
// Recent (FIFO) or random demotion order.
std::unique_ptr<PlacementPolicy> NewOrderPlacement(Placement placement, size_t capacity);
// Keeps the highest priorities (score_column -1) or scores of `score_column`.
std::unique_ptr<PlacementPolicy> NewRankedPlacement(int score_column, size_t capacity,
                                                    PlacementLookup lookup);
std::unique_ptr<PlacementPolicy> NewGroupBalancedPlacement(size_t capacity, PlacementLookup lookup);
std::unique_ptr<PlacementPolicy> NewResidentSwap(std::unique_ptr<PlacementPolicy> inner,
                                                 SwapPolicy swap_policy, int swap_score_column,
                                                 size_t capacity, PlacementLookup lookup);

}  // namespace strata::internal

#endif  // STRATA_PLACEMENT_PLACEMENT_POLICY_H_
