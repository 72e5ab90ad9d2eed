#include "core/slot_index.h"

#include <algorithm>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/random.h"

namespace strata::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

SlotIndex MakeIndex(size_t capacity, size_t scores = 0, bool variable = false) {
  absl::StatusOr<SlotIndex> index = SlotIndex::Create(capacity, scores, variable, 100);
  EXPECT_TRUE(index.ok()) << index.status();
  return std::move(index).value();
}

SlotIndex::NewItem Item(uint64_t seq, uint64_t bytes = 100) {
  return SlotIndex::NewItem{
      .priority = 1.0 + seq, .group = 3, .task = 4, .seq = seq, .bytes = bytes};
}

TEST(SlotIndexTest, KeyCodecRoundTrips) {
  const Key key = SlotIndex::MakeKey(7, 12345);
  EXPECT_EQ(SlotIndex::SlotOf(key), 12345u);
  EXPECT_EQ(SlotIndex::GenOf(key), 7u);
  EXPECT_EQ(key, (uint64_t{7} << 32) | 12345u);
}

TEST(SlotIndexTest, AddedItemsResolveAndCarryTheirMetadata) {
  SlotIndex index = MakeIndex(8, /*scores=*/2);
  const Slot a = index.Add(Item(0));
  const Slot b = index.Add(Item(1));
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.bytes(), 200u);
  EXPECT_EQ(index.high_water(), 2u);
  EXPECT_EQ(index.Resolve(index.KeyOf(a)), a);
  EXPECT_EQ(SlotIndex::GenOf(index.KeyOf(a)) % 2, 1u);  // odd: live
  const SlotIndex::Meta& m = index.meta(b);
  EXPECT_EQ(m.priority, 2.0);
  EXPECT_EQ(m.group, 3);
  EXPECT_EQ(m.task, 4);
  EXPECT_EQ(m.seq, 1u);
  EXPECT_EQ(m.sampled, 0u);
  EXPECT_EQ(index.score(0, b), 0.0f);
  index.SetScore(1, b, 2.5f);
  EXPECT_EQ(index.score(1, b), 2.5f);
  index.SetScore(0, b, -1.0f);
  EXPECT_THAT(index.scores(b), ElementsAre(-1.0f, 2.5f));  // every column, schema order
  EXPECT_THAT(index.scores(a), ElementsAre(0.0f, 0.0f));
  EXPECT_EQ(index.CountSample(b).sampled, 1u);
  index.SetPriority(b, 9.0);
  EXPECT_EQ(index.meta(b).priority, 9.0);
  EXPECT_TRUE(index.CheckInvariants().ok());
}

TEST(SlotIndexTest, RemovedKeysGoStaleAndSlotsAreReusedLastFreedFirst) {
  SlotIndex index = MakeIndex(8);
  std::vector<Key> keys;
  for (uint64_t i = 0; i < 4; ++i) keys.push_back(index.KeyOf(index.Add(Item(i))));
  index.Remove(1);
  index.Remove(3);
  EXPECT_EQ(index.Resolve(keys[1]), kNoSlot);
  EXPECT_EQ(index.Resolve(keys[3]), kNoSlot);
  EXPECT_EQ(index.Resolve(keys[2]), 2u);
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.bytes(), 200u);
  EXPECT_TRUE(index.CheckInvariants().ok());
  const Slot first = index.Add(Item(4));
  const Slot second = index.Add(Item(5));
  const Slot third = index.Add(Item(6));
  EXPECT_EQ(first, 3u);  // the last freed
  EXPECT_EQ(second, 1u);
  EXPECT_EQ(third, 4u);  // then the high water grows
  // The reused slot's key differs from its old one: the old key stays stale.
  EXPECT_NE(index.KeyOf(first), keys[3]);
  EXPECT_EQ(index.Resolve(keys[3]), kNoSlot);
}

TEST(SlotIndexTest, ForeignAndNeverUsedKeysDoNotResolve) {
  SlotIndex index = MakeIndex(8);
  const Slot s = index.Add(Item(0));
  EXPECT_EQ(index.Resolve(SlotIndex::MakeKey(1, 5)), kNoSlot);  // beyond the high water
  EXPECT_EQ(index.Resolve(SlotIndex::MakeKey(3, s)), kNoSlot);  // a later generation
  EXPECT_EQ(index.Resolve(SlotIndex::MakeKey(0, s)), kNoSlot);  // even: never live
  EXPECT_EQ(index.Resolve(kNoKey), kNoSlot);
}

TEST(SlotIndexTest, VariableItemBytesAreCountedPerItem) {
  SlotIndex index = MakeIndex(8, 0, /*variable=*/true);
  const Slot a = index.Add(Item(0, 10));
  const Slot b = index.Add(Item(1, 1000));
  EXPECT_EQ(index.item_bytes(a), 10u);
  EXPECT_EQ(index.item_bytes(b), 1000u);
  EXPECT_EQ(index.bytes(), 1010u);
  index.Remove(b);
  EXPECT_EQ(index.bytes(), 10u);
  EXPECT_TRUE(index.CheckInvariants().ok());
}

TEST(SlotIndexTest, RebuildPutsTheGivenOrderFirstThenTheRestLowestFirst) {
  SlotIndex index = MakeIndex(16);
  // As recovery does: generations written directly.
  for (Slot s = 0; s < 8; ++s) index.RestoreMeta(s).gen = (s % 3 == 0) ? 1 : 2;  // 0, 3, 6 live
  const std::vector<Slot> order = {5, 1};
  const std::vector<Slot> live = index.Rebuild(order);
  EXPECT_THAT(live, ElementsAre(0, 3, 6));
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(index.bytes(), 300u);
  EXPECT_TRUE(index.CheckInvariants().ok());
  std::vector<Slot> reused;
  for (int i = 0; i < 6; ++i) reused.push_back(index.Add(Item(i)));
  EXPECT_THAT(reused, ElementsAre(5, 1, 2, 4, 7, 8));
}

TEST(SlotIndexTest, CheckInvariantsCatchesABrokenFreeList) {
  SlotIndex index = MakeIndex(8);
  for (uint64_t i = 0; i < 4; ++i) index.Add(Item(i));
  index.Remove(2);
  index.RestoreMeta(2).seq = 2;  // a free list that loops
  EXPECT_FALSE(index.CheckInvariants().ok());
}

TEST(SlotIndexTest, TrackingRecordsEachChangeBelowTheCopiedMarkOnce) {
  SlotIndex index = MakeIndex(64, 1);
  for (uint64_t i = 0; i < 10; ++i) index.Add(Item(i));
  index.Track();
  index.MarkCopied(5);
  index.SetPriority(1, 2.0);
  index.SetScore(0, 1, 2.0f);  // the same slot again: recorded once
  index.SetPriority(7, 3.0);   // not copied yet: nothing to record
  index.SetScore(0, 4, 1.0f);
  index.Remove(2);
  index.CountSample(3);  // sample counts are not tracked
  EXPECT_THAT(index.TakeChanged(), UnorderedElementsAre(1, 4, 2));
  EXPECT_TRUE(index.TakeChanged().empty());
  index.MarkCopied(10);
  index.Remove(8);
  EXPECT_EQ(index.Add(Item(10)), 8u);  // reuses 8: recorded once
  index.SetPriority(1, 5.0);           // recorded again after TakeChanged
  EXPECT_THAT(index.TakeChanged(), UnorderedElementsAre(8, 1));
  index.Untrack();
  index.SetPriority(1, 6.0);
  EXPECT_FALSE(index.tracking());
  index.Track();
  EXPECT_TRUE(index.TakeChanged().empty());
}

// A random history: the index agrees with a model of live keys, and every stale key stays stale.
TEST(SlotIndexTest, RandomHistoryMatchesAModel) {
  SlotIndex index = MakeIndex(256);
  Rng rng(7);
  std::vector<Key> live;
  std::vector<Key> dead;
  for (int step = 0; step < 20000; ++step) {
    if (live.size() < 256 && (live.empty() || rng.Uniform01() < 0.55)) {
      live.push_back(index.KeyOf(index.Add(Item(step))));
    } else {
      const size_t i = rng.UniformInt(live.size());
      index.Remove(index.Resolve(live[i]));
      dead.push_back(live[i]);
      live[i] = live.back();
      live.pop_back();
    }
  }
  EXPECT_EQ(index.size(), live.size());
  for (Key k : live) EXPECT_NE(index.Resolve(k), kNoSlot);
  for (Key k : dead) ASSERT_EQ(index.Resolve(k), kNoSlot) << k;
  EXPECT_TRUE(index.CheckInvariants().ok());
}

}  // namespace
}  // namespace strata::internal
