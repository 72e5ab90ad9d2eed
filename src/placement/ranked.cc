// Priority and score placement: DRAM keeps the items with the highest key — the priority, or a
// score column (importance) — and drops the lowest first. The maintenance thread fills free
// frames with the highest stored items and promotes a stored item whenever its key exceeds the
// lowest resident one (each promotion demotes that one), so after updates DRAM converges to the
// top keys. Keys are compared as they are now: updates re-sort both heaps.
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "placement/placement_policy.h"
#include "select/heap.h"

namespace strata::internal {
namespace {

class RankedPlacement final : public PlacementPolicy {
 public:
  RankedPlacement(int score_column, size_t capacity, PlacementLookup lookup)
      : score_column_(score_column),
        clean_(capacity, /*max_first=*/false),
        cold_(capacity, /*max_first=*/true),
        lookup_(std::move(lookup)) {}

  std::string_view name() const override { return score_column_ < 0 ? "priority" : "score"; }
  int score_column() const override { return score_column_; }
  bool orders_by_priority() const override { return score_column_ < 0; }
  bool has_maintenance() const override { return true; }

  void Enter(const PlacementItem& item, Residence where) override {
    if (Selector* h = HeapOf(where)) h->Insert(Keyed(item));
  }
  void Leave(const PlacementItem& item, Residence where) override {
    if (Selector* h = HeapOf(where)) h->Remove(item.slot);
  }
  void Update(const PlacementItem& item, Residence where) override {
    if (Selector* h = HeapOf(where)) h->Update(Keyed(item));
  }
  size_t droppable() const override { return clean_.size(); }
  Slot NextDemotion(Rng& rng) override { return clean_.Victim(rng); }

  void PlanMaintenance(const MaintenanceRoom& room, Rng& rng,
                       std::vector<PlacementMove>* moves) override {
    if (room.inserts_pending || cold_.size() == 0) return;
    if (room.free_items > 0) {
      // Free frames (after an open, deletions, a larger budget): the highest stored items.
      for (size_t i = 0; i < std::min(room.free_items, room.max_moves) && cold_.size() > 0; ++i) {
        const Slot in = cold_.Victim(rng);
        cold_.Remove(in);
        moves->push_back(PlacementMove{kNoSlot, in});
      }
      return;
    }
    // Promote while the highest stored item outranks the lowest resident one. The outs leave
    // the order while the plan is made, so that each pair takes the next lowest.
    std::vector<PlacementItem> outs;
    while (moves->size() < room.max_moves && cold_.size() > 0 && clean_.size() > 0) {
      const Slot in = cold_.Victim(rng);
      const Slot out = clean_.Victim(rng);
      const PlacementItem in_item = Keyed(lookup_(in, score_column_));
      const PlacementItem out_item = Keyed(lookup_(out, score_column_));
      if (in_item.priority <= out_item.priority) break;
      clean_.Remove(out);
      outs.push_back(out_item);
      cold_.Remove(in);
      moves->push_back(PlacementMove{out, in});
    }
    for (const PlacementItem& out : outs) clean_.Insert(out);
  }

  absl::Status CheckInvariants(absl::Span<const Slot> clean,
                               const absl::flat_hash_map<int32_t, uint64_t>&) const override {
    if (clean_.size() != clean.size()) {
      return absl::InternalError(absl::StrCat(std::string(name()), " placement holds ",
                                              clean_.size(), " clean copies, the table ",
                                              clean.size()));
    }
    return clean_.CheckInvariants(clean);
  }

 private:
  // The heaps order by SelectorItem::priority: the key goes there.
  PlacementItem Keyed(PlacementItem item) const {
    if (score_column_ >= 0) item.priority = item.score;
    return item;
  }
  Selector* HeapOf(Residence where) {
    return where == Residence::kClean  ? static_cast<Selector*>(&clean_)
           : where == Residence::kCold ? static_cast<Selector*>(&cold_)
                                       : nullptr;
  }

  const int score_column_;
  HeapSelector clean_;  // resident and written: lowest key first (the next demotion)
  HeapSelector cold_;   // stored only: highest key first (the next promotion)
  const PlacementLookup lookup_;
};

}  // namespace

std::unique_ptr<PlacementPolicy> NewRankedPlacement(int score_column, size_t capacity,
                                                    PlacementLookup lookup) {
  return std::make_unique<RankedPlacement>(score_column, capacity, std::move(lookup));
}

}  // namespace strata::internal
