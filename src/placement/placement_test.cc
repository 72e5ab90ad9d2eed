// Unit tests of the placement policies, driven through the PlacementPolicy interface as the
// table drives them: items enter and leave residences, and the policy answers which copy to
// drop and what to bring in.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"
#include "placement/placement_policy.h"
#include "strata/table.h"

namespace strata::internal {
namespace {

// A toy table: per slot its item (priority, group, seq, score) and residence.
class Harness {
 public:
  explicit Harness(PlacementOptions o, size_t capacity = 64) {
    o.lookup = [this](Slot s, int column) {
      PlacementItem item = items_.at(s);
      item.score = column >= 0 ? item.score : 0.0;
      return item;
    };
    auto p = MakePlacement(o, capacity);
    EXPECT_TRUE(p.ok()) << p.status();
    policy = std::move(p).value();
  }
  // Adds a live item in `where`.
  void Add(Slot s, Residence where, double priority = 1, int32_t group = 0, double score = 0) {
    items_[s] = PlacementItem{
        .slot = s, .priority = priority, .group = group, .seq = seq_++, .score = score};
    where_[s] = where;
    policy->Enter(Item(s), where);
  }
  void Move(Slot s, Residence to) {
    policy->Leave(Item(s), where_.at(s));
    where_[s] = to;
    if (to != Residence::kNone) policy->Enter(Item(s), to);
  }
  void SetScore(Slot s, double score) {
    items_[s].score = score;
    policy->Update(Item(s), where_.at(s));
  }
  void SetPriority(Slot s, double priority) {
    items_[s].priority = priority;
    policy->Update(Item(s), where_.at(s));
  }
  // Applies a plan as the table would after its reads succeeded.
  void Apply(const std::vector<PlacementMove>& moves) {
    for (const PlacementMove& m : moves) {
      EXPECT_EQ(where_.at(m.in), Residence::kCold);
      where_[m.in] = Residence::kMoving;  // the plan did this inside the policy
      if (m.out != kNoSlot) Move(m.out, Residence::kCold);
      Move(m.in, Residence::kClean);
    }
  }
  std::vector<PlacementMove> Plan(size_t free_items, size_t max_moves = 100) {
    std::vector<PlacementMove> moves;
    policy->PlanMaintenance({.free_items = free_items, .max_moves = max_moves}, rng, &moves);
    return moves;
  }
  absl::Status Check() const {
    std::vector<Slot> clean;
    absl::flat_hash_map<int32_t, uint64_t> groups;
    for (const auto& [s, w] : where_) {
      if (w == Residence::kNone) continue;
      if (w == Residence::kClean) clean.push_back(s);
      ++groups[items_.at(s).group];
    }
    std::sort(clean.begin(), clean.end());
    return policy->CheckInvariants(clean, groups);
  }
  std::set<Slot> In(Residence r) const {
    std::set<Slot> out;
    for (const auto& [s, w] : where_) {
      if (w == r) out.insert(s);
    }
    return out;
  }
  PlacementItem Item(Slot s) const {
    PlacementItem item = items_.at(s);
    if (policy->score_column() < 0) item.score = 0;
    return item;
  }

  std::unique_ptr<PlacementPolicy> policy;
  Rng rng{7};

 private:
  std::map<Slot, PlacementItem> items_;
  std::map<Slot, Residence> where_;
  uint64_t seq_ = 0;
};

TEST(OrderPlacementTest, RecentDropsTheOldestCleanCopyAndIgnoresTheRest) {
  Harness h({.placement = Placement::kRecent});
  EXPECT_EQ(h.policy->name(), "recent");
  EXPECT_FALSE(h.policy->has_maintenance());
  h.Add(0, Residence::kDirty);
  h.Add(1, Residence::kClean);
  h.Add(2, Residence::kClean);
  h.Add(3, Residence::kCold);
  EXPECT_EQ(h.policy->droppable(), 2u);
  EXPECT_EQ(h.policy->NextDemotion(h.rng), 1u);
  h.Move(0, Residence::kClean);  // written after 1 and 2 were: still the newest copy
  h.Move(1, Residence::kCold);
  EXPECT_EQ(h.policy->NextDemotion(h.rng), 2u);
  EXPECT_TRUE(h.Plan(10).empty());
  EXPECT_TRUE(h.Check().ok()) << h.Check();
}

TEST(OrderPlacementTest, RandomDropsEachCleanCopyAboutEquallyOften) {
  Harness h({.placement = Placement::kRandom});
  for (Slot s = 0; s < 4; ++s) h.Add(s, Residence::kClean);
  std::map<Slot, int> picks;
  constexpr int kDraws = 4000;
  for (int i = 0; i < kDraws; ++i) ++picks[h.policy->NextDemotion(h.rng)];
  // Binomial(4000, 1/4): sd ~27; 6 sd either side.
  for (Slot s = 0; s < 4; ++s) EXPECT_NEAR(picks[s], kDraws / 4, 165) << s;
}

TEST(RankedPlacementTest, ScoreKeepsTheHighestScoresAndPromotesRisingOnes) {
  Harness h({.placement = Placement::kScore, .score_column = 0});
  EXPECT_EQ(h.policy->name(), "score");
  EXPECT_EQ(h.policy->score_column(), 0);
  EXPECT_FALSE(h.policy->orders_by_priority());
  EXPECT_TRUE(h.policy->has_maintenance());
  h.Add(0, Residence::kClean, /*priority=*/0.1, 0, /*score=*/0.5);
  h.Add(1, Residence::kClean, /*priority=*/9, 0, /*score=*/0.2);
  h.Add(2, Residence::kClean, 1, 0, 0.9);
  h.Add(5, Residence::kDirty, 1, 0, 0.0);        // not droppable, whatever its score
  EXPECT_EQ(h.policy->NextDemotion(h.rng), 1u);  // the lowest score, whatever the priority
  h.Add(3, Residence::kCold, 1, 0, 0.1);
  h.Add(4, Residence::kCold, 1, 0, 0.3);
  // 0.3 outranks the lowest resident (0.2); 0.1 does not outrank the next (0.5).
  std::vector<PlacementMove> moves = h.Plan(/*free_items=*/0);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].out, 1u);
  EXPECT_EQ(moves[0].in, 4u);
  h.Apply(moves);
  EXPECT_TRUE(h.Check().ok()) << h.Check();
  EXPECT_EQ(h.policy->NextDemotion(h.rng), 4u);  // 0.3 is the lowest now
  EXPECT_TRUE(h.Plan(0).empty());                // converged: every stored score is lower
  // A stored item's score rises above two residents: it comes in for the lowest one.
  h.SetScore(3, 0.95);
  moves = h.Plan(0);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].out, 4u);
  EXPECT_EQ(moves[0].in, 3u);
  h.Apply(moves);
  // A resident's score falls: it is the next to go.
  h.SetScore(2, 0.01);
  EXPECT_EQ(h.policy->NextDemotion(h.rng), 2u);
  // Free frames are filled with the highest stored items first.
  h.Add(6, Residence::kCold, 1, 0, 0.7);
  h.Add(7, Residence::kCold, 1, 0, 0.6);
  moves = h.Plan(/*free_items=*/2);
  ASSERT_EQ(moves.size(), 2u);
  EXPECT_EQ(moves[0].in, 6u);
  EXPECT_EQ(moves[1].in, 7u);
  EXPECT_EQ(moves[0].out, kNoSlot);
  h.Apply(moves);
  EXPECT_TRUE(h.Check().ok()) << h.Check();
  // Inserts in progress: nothing is planned (they take the free frames).
  std::vector<PlacementMove> none;
  h.policy->PlanMaintenance({.free_items = 5, .max_moves = 10, .inserts_pending = true}, h.rng,
                            &none);
  EXPECT_TRUE(none.empty());
}

TEST(RankedPlacementTest, PriorityOrdersByPriorityAndBoundsAStep) {
  Harness h({.placement = Placement::kPriority});
  EXPECT_EQ(h.policy->name(), "priority");
  EXPECT_TRUE(h.policy->orders_by_priority());
  EXPECT_EQ(h.policy->score_column(), -1);
  for (Slot s = 0; s < 10; ++s) h.Add(s, Residence::kClean, /*priority=*/1 + s);
  for (Slot s = 10; s < 20; ++s) h.Add(s, Residence::kCold, /*priority=*/100 + s);
  EXPECT_EQ(h.policy->NextDemotion(h.rng), 0u);
  std::vector<PlacementMove> moves = h.Plan(0, /*max_moves=*/4);
  ASSERT_EQ(moves.size(), 4u);  // bounded by max_moves; distinct outs, lowest first
  for (size_t i = 0; i < moves.size(); ++i) {
    EXPECT_EQ(moves[i].out, i);
    EXPECT_EQ(moves[i].in, 19 - i);
  }
  h.Apply(moves);
  EXPECT_TRUE(h.Check().ok()) << h.Check();
  h.SetPriority(5, 1000);  // a clean copy rises: no longer among the next demotions
  EXPECT_EQ(h.policy->NextDemotion(h.rng), 4u);
}

TEST(GroupBalancedPlacementTest, DropsFromTheGroupWithMostCopiesCountingUnwrittenOnes) {
  Harness h({.placement = Placement::kGroupBalanced});
  // Group 0: 2 clean copies; group 1: 1 clean + 3 dirty.
  h.Add(0, Residence::kClean, 1, 0);
  h.Add(1, Residence::kClean, 1, 0);
  h.Add(2, Residence::kClean, 1, 1);
  for (Slot s = 3; s < 6; ++s) h.Add(s, Residence::kDirty, 1, 1);
  EXPECT_EQ(h.policy->NextDemotion(h.rng), 2u);  // group 1's only written copy
  h.Move(2, Residence::kCold);
  EXPECT_EQ(h.policy->NextDemotion(h.rng), 0u);  // group 1 has nothing droppable left
  EXPECT_TRUE(h.Check().ok()) << h.Check();
  TierInfo info;
  h.policy->Describe(&info);
  ASSERT_EQ(info.groups.size(), 2u);
  EXPECT_EQ(info.groups[0].group, 0);
  EXPECT_EQ(info.groups[0].dram_items, 2u);
  EXPECT_EQ(info.groups[0].items, 2u);
  EXPECT_EQ(info.groups[1].dram_items, 0u);  // written copies only
  EXPECT_EQ(info.groups[1].items, 4u);
}

TEST(GroupBalancedPlacementTest, RefillsTheFewestAndRebalancesUntilWithinOne) {
  Harness h({.placement = Placement::kGroupBalanced});
  // Group 0: 6 clean copies; groups 1 and 2: 4 stored items each, no copy.
  for (Slot s = 0; s < 6; ++s) h.Add(s, Residence::kClean, 1, 0);
  for (Slot s = 6; s < 14; ++s) h.Add(s, Residence::kCold, 1, s < 10 ? 1 : 2);
  // Two free frames: one for each of the groups without copies.
  std::vector<PlacementMove> moves = h.Plan(/*free_items=*/2);
  ASSERT_EQ(moves.size(), 2u);
  std::set<int32_t> groups;
  for (const PlacementMove& m : moves) {
    EXPECT_EQ(m.out, kNoSlot);
    groups.insert(h.Item(m.in).group);
  }
  EXPECT_EQ(groups, (std::set<int32_t>{1, 2}));
  h.Apply(moves);
  EXPECT_TRUE(h.Check().ok()) << h.Check();
  // No free frames: move copies from group 0 (6) until no group is 2+ behind: 6/1/1 -> 4/2/2.
  for (int step = 0; step < 10; ++step) {
    moves = h.Plan(0);
    if (moves.empty()) break;
    h.Apply(moves);
  }
  std::map<int32_t, int> copies;
  for (Slot s : h.In(Residence::kClean)) ++copies[h.Item(s).group];
  EXPECT_EQ(copies[0] + copies[1] + copies[2], 8);
  const auto [lo, hi] = std::minmax({copies[0], copies[1], copies[2]});
  EXPECT_LE(hi - lo, 1) << copies[0] << "/" << copies[1] << "/" << copies[2];
  EXPECT_TRUE(h.Check().ok()) << h.Check();
}

TEST(ResidentSwapTest, ReplacesEachVictimWithAStoredItemOfItsGroup) {
  Harness h({.placement = Placement::kRecent, .resident = true});
  EXPECT_TRUE(h.policy->has_maintenance());
  h.Add(0, Residence::kClean, 1, 0);
  h.Add(1, Residence::kClean, 1, 1);
  h.Add(2, Residence::kClean, 1, 2);
  h.Add(3, Residence::kCold, 1, 0);
  h.Add(4, Residence::kCold, 1, 1);
  std::vector<PlacementMove> moves;
  h.policy->PlanSwaps({h.Item(0), h.Item(1), h.Item(2)}, h.rng, &moves);
  ASSERT_EQ(moves.size(), 2u);  // group 2 has nothing stored only
  EXPECT_EQ(moves[0].out, 0u);
  EXPECT_EQ(moves[0].in, 3u);
  EXPECT_EQ(moves[1].out, 1u);
  EXPECT_EQ(moves[1].in, 4u);
  // Picked items are not picked again until they are cold once more.
  std::vector<PlacementMove> again;
  h.policy->PlanSwaps({h.Item(0)}, h.rng, &again);
  EXPECT_TRUE(again.empty());
  h.Apply(moves);
  EXPECT_TRUE(h.Check().ok()) << h.Check();
  // Warm-up into free frames: at random from what is stored only.
  h.Add(5, Residence::kCold, 1, 2);
  EXPECT_EQ(h.Plan(/*free_items=*/3).size(), 3u);  // 0, 1 and 5 are cold now
}

TEST(ResidentSwapTest, ScoreSwapsOutTheLowestAndPrefersHigherCandidates) {
  Harness h({.placement = Placement::kRecent,
             .resident = true,
             .swap_policy = SwapPolicy::kScore,
             .swap_score_column = 0});
  EXPECT_EQ(h.policy->score_column(), 0);
  for (Slot s = 0; s < 6; ++s) h.Add(s, Residence::kClean, 1, 0, /*score=*/s);
  std::vector<PlacementItem> batch;
  for (Slot s : {4u, 1u, 5u, 0u, 3u}) batch.push_back(h.Item(s));
  std::vector<Slot> victims;
  h.policy->ChooseSwapVictims(batch, 2, h.rng, &victims);
  EXPECT_EQ(std::set<Slot>(victims.begin(), victims.end()), (std::set<Slot>{0, 1}));
  // One stored item with a high score among many low: with 4 candidates per swap it comes in
  // with probability 1 - (9/10)^4 = 0.34 per swap, against 0.1 at random.
  int high = 0;
  constexpr int kTrials = 2000;
  for (int t = 0; t < kTrials; ++t) {
    Harness g({.placement = Placement::kRecent,
               .resident = true,
               .swap_policy = SwapPolicy::kScore,
               .swap_score_column = 0});
    g.rng = Rng(1000 + t);
    g.Add(0, Residence::kClean, 1, 0, 0);
    for (Slot s = 1; s <= 10; ++s) g.Add(s, Residence::kCold, 1, 0, s == 10 ? 5.0 : 0.5);
    std::vector<PlacementMove> m;
    g.policy->PlanSwaps({g.Item(0)}, g.rng, &m);
    ASSERT_EQ(m.size(), 1u);
    high += m[0].in == 10;
  }
  // Binomial(2000, 0.344): sd ~21; 6 sd.
  EXPECT_NEAR(high, 0.3439 * kTrials, 130);
}

TEST(MakePlacementTest, RefusesCombinationsThatDoNotExist) {
  auto make = [](PlacementOptions o) { return MakePlacement(o, 8).status(); };
  EXPECT_EQ(make({.placement = Placement::kPriority, .resident = true}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(make({.placement = Placement::kScore, .score_column = 0, .resident = true}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(make({.placement = Placement::kScore}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(make({.resident = true, .swap_policy = SwapPolicy::kScore}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(make({.placement = Placement::kGroupBalanced, .resident = true}).ok());
}

}  // namespace
}  // namespace strata::internal
