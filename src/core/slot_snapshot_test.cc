#include "core/slot_snapshot.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/random.h"

namespace strata::internal {
namespace {

using ::testing::ElementsAre;

SlotIndex MakeIndex(size_t capacity, size_t scores) {
  absl::StatusOr<SlotIndex> index = SlotIndex::Create(capacity, scores, false, 8);
  EXPECT_TRUE(index.ok()) << index.status();
  return std::move(index).value();
}

SlotIndex::NewItem Item(uint64_t seq) {
  return SlotIndex::NewItem{.priority = 0.5 * seq, .group = 1, .task = 2, .seq = seq, .bytes = 8};
}

SlotSnapshot::Record StoredAt(Slot s) { return SlotSnapshot::Record{1, 100 * s, 7 * s, 64}; }

TEST(SlotSnapshotTest, LiveStoredSlotsBecomeItemsInSlotOrder) {
  SlotIndex index = MakeIndex(8, 1);
  for (uint64_t i = 0; i < 5; ++i) index.Add(Item(i));
  index.SetScore(0, 3, 4.5f);
  index.CountSample(3);
  index.Remove(1);
  SlotSnapshot snap(1);
  for (Slot s = 0; s < index.high_water(); ++s) {
    snap.Copy(index, s, s == 4 ? SlotSnapshot::Record{} : StoredAt(s));  // 4: unwritten
  }
  CheckpointData d;
  EXPECT_EQ(snap.Finish(index.free_head(), &d), 1u);
  EXPECT_EQ(d.score_columns, 1u);
  EXPECT_THAT(d.generations, ElementsAre(1, 2, 1, 1, 0));  // unwritten 4: one back, free
  ASSERT_EQ(d.items.size(), 3u);
  EXPECT_EQ(d.items[2].slot, 3u);
  EXPECT_EQ(d.items[2].times_sampled, 1u);
  EXPECT_EQ(d.items[2].priority, 1.5);
  EXPECT_EQ(d.items[2].seq, 3u);
  EXPECT_EQ(d.items[2].offset, 300u);
  EXPECT_EQ(d.items[2].checksum, 21u);
  EXPECT_EQ(d.items[2].length, 64u);
  EXPECT_THAT(d.scores, ElementsAre(0.0f, 0.0f, 4.5f));
  EXPECT_EQ(d.resume_items, 3u);
  EXPECT_THAT(d.free_slots, ElementsAre(1, 4));  // the free list, then the unwritten
  // The body it makes is one the decoder accepts.
  EXPECT_TRUE(DecodeCheckpoint(EncodeCheckpoint(d), "test").ok());
}

// The protocol of TableImpl::CheckpointLocked, with random changes between chunks: the result is
// a snapshot of the final index taken in one pass (sample counts aside).
TEST(SlotSnapshotTest, ChunkedCopyWithTrackedChangesEqualsOnePassAtTheEnd) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SlotIndex index = MakeIndex(4096, 2);
    Rng rng(seed);
    std::vector<Slot> live;
    auto churn = [&](int steps) {
      for (int k = 0; k < steps; ++k) {
        const double u = rng.Uniform01();
        if (live.size() < 4000 && (live.empty() || u < 0.4)) {
          live.push_back(index.Add(Item(rng.UniformInt(1000))));
        } else if (u < 0.6) {
          const size_t i = rng.UniformInt(live.size());
          index.Remove(live[i]);
          live[i] = live.back();
          live.pop_back();
        } else if (u < 0.8) {
          index.CountSample(live[rng.UniformInt(live.size())]);
        } else if (u < 0.9) {
          index.SetPriority(live[rng.UniformInt(live.size())], rng.Uniform01());
        } else {
          index.SetScore(rng.UniformInt(2), live[rng.UniformInt(live.size())],
                         static_cast<float>(rng.Uniform01()));
        }
      }
    };
    churn(3000);
    SlotSnapshot chunked(2);
    index.Track();
    const Slot chunk = 1 + static_cast<Slot>(rng.UniformInt(700));
    Slot free_head;
    for (;;) {
      if (chunked.CopyChunk(index, chunk, StoredAt)) {
        free_head = index.free_head();
        break;
      }
      churn(200);  // the lock is released between chunks
    }
    SlotSnapshot one_pass(2);
    for (Slot s = 0; s < index.high_water(); ++s) one_pass.Copy(index, s, StoredAt(s));
    CheckpointData a, b;
    chunked.Finish(free_head, &a);
    one_pass.Finish(index.free_head(), &b);
    // Sample counts are not tracked: each is the item's count at some moment of the copy, at
    // most its final one. Everything else is exactly the final state.
    ASSERT_EQ(a.items.size(), b.items.size());
    for (size_t k = 0; k < a.items.size(); ++k) {
      ASSERT_LE(a.items[k].times_sampled, b.items[k].times_sampled);
      a.items[k].times_sampled = b.items[k].times_sampled;
    }
    ASSERT_EQ(EncodeCheckpoint(a), EncodeCheckpoint(b)) << "seed " << seed << " chunk " << chunk;
    EXPECT_EQ(a.items.size(), live.size());
  }
}

TEST(SlotSnapshotTest, ABrokenFreeListCannotMakeFinishLoop) {
  SlotIndex index = MakeIndex(8, 0);
  for (uint64_t i = 0; i < 3; ++i) index.Add(Item(i));
  index.Remove(1);
  index.RestoreMeta(1).seq = 1;  // points at itself
  SlotSnapshot snap(0);
  for (Slot s = 0; s < 3; ++s) snap.Copy(index, s, StoredAt(s));
  CheckpointData d;
  snap.Finish(index.free_head(), &d);
  EXPECT_LE(d.free_slots.size(), 3u);
}

}  // namespace
}  // namespace strata::internal
