// MakePlacement: the policy for a table's options.
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "placement/placement_policy.h"

namespace strata::internal {

absl::StatusOr<std::unique_ptr<PlacementPolicy>> MakePlacement(const PlacementOptions& o,
                                                               size_t capacity) {
  const bool ranked = o.placement == Placement::kPriority || o.placement == Placement::kScore;
  if (ranked && o.resident) {
    return absl::InvalidArgumentError(
        "placement 'priority' and 'score' need tier_sampling 'exact' (resident sampling keeps "
        "its DRAM set by swapping)");
  }
  if (o.placement == Placement::kScore && o.score_column < 0) {
    return absl::InvalidArgumentError("placement 'score' needs a score column");
  }
  if (o.resident && o.swap_policy == SwapPolicy::kScore && o.swap_score_column < 0) {
    return absl::InvalidArgumentError("swap_policy 'score' needs a score column");
  }
  std::unique_ptr<PlacementPolicy> policy;
  switch (o.placement) {
    case Placement::kPriority:
      policy = NewRankedPlacement(-1, capacity, o.lookup);
      break;
    case Placement::kScore:
      policy = NewRankedPlacement(o.score_column, capacity, o.lookup);
      break;
    case Placement::kGroupBalanced:
      policy = NewGroupBalancedPlacement(capacity, o.lookup);
      break;
    case Placement::kRecent:
    case Placement::kRandom:
      policy = NewOrderPlacement(o.placement, capacity);
      break;
  }
  if (o.resident) {
    policy =
        NewResidentSwap(std::move(policy), o.swap_policy, o.swap_score_column, capacity, o.lookup);
  }
  return policy;
}

}  // namespace strata::internal
