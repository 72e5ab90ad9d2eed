#include "tier/frame_manager.h"

#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "util/random.h"

namespace strata::internal {
namespace {

TEST(FrameManagerTest, AssignAndReleaseKeepTheCountsAndTheMapping) {
  FrameManager fm;
  fm.Init(/*slots=*/10, /*frames=*/3, /*spares=*/2);
  EXPECT_EQ(fm.rows(), 5u);
  EXPECT_EQ(fm.free_frames(), 3u);
  EXPECT_TRUE(fm.FitsFree(100, 100));
  EXPECT_FALSE(fm.FitsFree(101, 100));
  const uint32_t a = fm.Assign(4, 60);
  const uint32_t b = fm.Assign(7, 40);
  EXPECT_NE(a, b);
  EXPECT_LT(a, 3u);  // item rows, not spares
  EXPECT_LT(b, 3u);
  EXPECT_EQ(fm.frame_of(4), a);
  EXPECT_EQ(fm.slot_of(b), 7u);
  EXPECT_TRUE(fm.resident(4));
  EXPECT_FALSE(fm.resident(5));
  EXPECT_EQ(fm.resident_bytes(), 100u);
  EXPECT_EQ(fm.dirty_bytes(), 100u);
  EXPECT_FALSE(fm.FitsFree(1, 100));  // a frame is free, but not the budget
  fm.MarkClean(60);
  EXPECT_EQ(fm.clean_bytes(), 60u);
  EXPECT_EQ(fm.Release(4, 60, /*clean=*/true), a);
  EXPECT_FALSE(fm.resident(4));
  EXPECT_EQ(fm.slot_of(a), kNoSlot);
  EXPECT_EQ(fm.resident_bytes(), 40u);
  EXPECT_EQ(fm.clean_bytes(), 0u);
  EXPECT_EQ(fm.resident_items(), 1u);
  EXPECT_EQ(fm.free_frames(), 2u);
  EXPECT_TRUE(fm.CheckInvariants().ok()) << fm.CheckInvariants();
}

TEST(FrameManagerTest, ASwapInTradesItsSpareForAFreeFrame) {
  FrameManager fm;
  fm.Init(10, 2, 1);
  fm.Assign(0, 8);
  uint32_t spare = 0;
  ASSERT_TRUE(fm.TakeSpare(&spare));
  EXPECT_EQ(spare, 2u);  // the first spare row
  uint32_t none = 0;
  EXPECT_FALSE(fm.TakeSpare(&none));  // one read in flight uses the only spare
  EXPECT_TRUE(fm.CheckInvariants().ok()) << fm.CheckInvariants();
  fm.InstallSpare(5, spare, 8);
  EXPECT_EQ(fm.frame_of(5), spare);
  EXPECT_EQ(fm.clean_bytes(), 8u);  // a swapped-in copy is a stored record's
  EXPECT_EQ(fm.free_frames(), 0u);  // the free frame became the spare
  EXPECT_EQ(fm.spares(), 1u);
  EXPECT_TRUE(fm.CheckInvariants().ok()) << fm.CheckInvariants();
  // A read that is not used gives its spare back.
  ASSERT_TRUE(fm.TakeSpare(&spare));
  fm.ReturnSpare(spare);
  EXPECT_EQ(fm.spares(), 1u);
  EXPECT_TRUE(fm.CheckInvariants().ok()) << fm.CheckInvariants();
}

TEST(FrameManagerTest, RandomOperationsKeepEveryRowAccountedFor) {
  FrameManager fm;
  constexpr size_t kSlots = 64;
  fm.Init(kSlots, 16, 4);
  Rng rng(3);
  std::set<Slot> resident;
  std::vector<uint32_t> in_flight;
  for (int step = 0; step < 20000; ++step) {
    const Slot s = static_cast<Slot>(rng.UniformInt(kSlots));
    switch (rng.UniformInt(4)) {
      case 0:
        if (!fm.resident(s) && fm.free_frames() > 0) {
          fm.Assign(s, 1);
          resident.insert(s);
        }
        break;
      case 1:
        if (fm.resident(s)) {
          fm.Release(s, 1, /*clean=*/false);
          resident.erase(s);
        }
        break;
      case 2: {
        uint32_t f;
        if (fm.TakeSpare(&f)) in_flight.push_back(f);
        break;
      }
      case 3:
        if (!in_flight.empty()) {
          const uint32_t f = in_flight.back();
          in_flight.pop_back();
          if (!fm.resident(s) && fm.free_frames() > 0) {
            fm.InstallSpare(s, f, 1);
            resident.insert(s);
            fm.Release(s, 1, /*clean=*/true);  // keep clean bytes balanced for the check below
            resident.erase(s);
          } else {
            fm.ReturnSpare(f);
          }
        }
        break;
    }
    ASSERT_EQ(fm.resident_items(), resident.size());
    if (step % 97 == 0) {
      ASSERT_TRUE(fm.CheckInvariants().ok()) << fm.CheckInvariants();
    }
  }
  for (Slot s : resident) EXPECT_EQ(fm.slot_of(fm.frame_of(s)), s);
  EXPECT_TRUE(fm.CheckInvariants().ok()) << fm.CheckInvariants();
}

}  // namespace
}  // namespace strata::internal
