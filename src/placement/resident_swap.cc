// Resident sampling (TierSampling::kResident, as Miro and CarM): Sample draws only from items
// with a DRAM copy, and a swapper rotates stored items in. This policy wraps the one that
// orders demotions (recent, random or group-balanced) and adds what the swapper needs: the
// stored-only items by group, the choice of victims in a sampled batch, and their replacements
// — a random stored item of the victim's group (Miro), or, with SwapPolicy::kScore, the
// lowest-score items of the batch go out and the highest-score of a few random stored
// candidates of the group comes in (CarM's gate). Free frames are refilled at random unless the
// inner policy plans its own refill (group-balanced).
#include <algorithm>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "placement/placement_policy.h"
#include "tier/cold_set.h"

namespace strata::internal {
namespace {

constexpr int kScoreCandidates = 4;  // SwapPolicy::kScore: stored candidates per swap

class ResidentSwap final : public PlacementPolicy {
 public:
  ResidentSwap(std::unique_ptr<PlacementPolicy> inner, SwapPolicy swap_policy, int score_column,
               size_t capacity, PlacementLookup lookup)
      : inner_(std::move(inner)),
        by_score_(swap_policy == SwapPolicy::kScore),
        score_column_(by_score_ ? score_column : -1),
        cold_(capacity),
        lookup_(std::move(lookup)) {}

  std::string_view name() const override { return inner_->name(); }
  int score_column() const override { return score_column_; }
  bool has_maintenance() const override { return true; }

  void Enter(const PlacementItem& item, Residence where) override {
    if (where == Residence::kCold) cold_.Insert(item.slot, item.group);
    inner_->Enter(item, where);
  }
  void Leave(const PlacementItem& item, Residence where) override {
    if (where == Residence::kCold) cold_.Remove(item.slot, item.group);
    inner_->Leave(item, where);
  }
  void Update(const PlacementItem& item, Residence where) override { inner_->Update(item, where); }
  size_t droppable() const override { return inner_->droppable(); }
  Slot NextDemotion(Rng& rng) override { return inner_->NextDemotion(rng); }

  void PlanMaintenance(const MaintenanceRoom& room, Rng& rng,
                       std::vector<PlacementMove>* moves) override {
    if (inner_->has_maintenance()) {
      const size_t first = moves->size();
      inner_->PlanMaintenance(room, rng, moves);
      for (size_t i = first; i < moves->size(); ++i) {
        const Slot in = (*moves)[i].in;
        cold_.Remove(in, lookup_(in, -1).group);  // the inner policy made it kMoving
      }
      return;
    }
    if (room.inserts_pending) return;
    for (size_t i = 0; i < std::min(room.free_items, room.max_moves); ++i) {
      const Slot in = cold_.PickAny(rng);
      if (in == kNoSlot) break;
      Take(in);
      moves->push_back(PlacementMove{kNoSlot, in});
    }
  }

  void ChooseSwapVictims(absl::Span<const PlacementItem> batch, size_t k, Rng& rng,
                         std::vector<Slot>* victims) override {
    std::vector<PlacementItem> chosen(batch.begin(), batch.end());
    k = std::min(k, chosen.size());
    if (by_score_) {  // the best learned go out first
      std::partial_sort(
          chosen.begin(), chosen.begin() + static_cast<ptrdiff_t>(k), chosen.end(),
          [](const PlacementItem& a, const PlacementItem& b) { return a.score < b.score; });
    } else {  // at random (a repeated one is skipped by the swapper)
      for (size_t i = 0; i < k; ++i) {
        std::swap(chosen[i], chosen[i + rng.UniformInt(chosen.size() - i)]);
      }
    }
    for (size_t i = 0; i < k; ++i) victims->push_back(chosen[i].slot);
  }

  void PlanSwaps(absl::Span<const PlacementItem> victims, Rng& rng,
                 std::vector<PlacementMove>* moves) override {
    for (const PlacementItem& v : victims) {
      Slot in = cold_.Pick(v.group, rng);
      if (in == kNoSlot) continue;  // nothing of that group is on storage only
      if (by_score_) {              // the hardest of a few candidates
        float best = lookup_(in, score_column_).score;
        for (int c = 1; c < kScoreCandidates; ++c) {
          const Slot other = cold_.Pick(v.group, rng);
          const float score = lookup_(other, score_column_).score;
          if (score > best) in = other, best = score;
        }
      }
      Take(in);
      moves->push_back(PlacementMove{v.slot, in});
    }
  }

  void Describe(TierInfo* info) const override { inner_->Describe(info); }
  absl::Status CheckInvariants(
      absl::Span<const Slot> clean,
      const absl::flat_hash_map<int32_t, uint64_t>& items_per_group) const override {
    return inner_->CheckInvariants(clean, items_per_group);
  }

 private:
  // `in` goes from kCold to kMoving (a plan picked it: it is not picked twice).
  void Take(Slot in) {
    const PlacementItem item = lookup_(in, score_column_);
    cold_.Remove(in, item.group);
    inner_->Leave(item, Residence::kCold);
    inner_->Enter(item, Residence::kMoving);
  }

  const std::unique_ptr<PlacementPolicy> inner_;
  const bool by_score_;
  const int score_column_;
  ColdSet cold_;  // stored only, by group: the swap-in candidates
  const PlacementLookup lookup_;
};

}  // namespace

std::unique_ptr<PlacementPolicy> NewResidentSwap(std::unique_ptr<PlacementPolicy> inner,
                                                 SwapPolicy swap_policy, int swap_score_column,
                                                 size_t capacity, PlacementLookup lookup) {
  return std::make_unique<ResidentSwap>(std::move(inner), swap_policy, swap_score_column, capacity,
                                        std::move(lookup));
}

}  // namespace strata::internal
