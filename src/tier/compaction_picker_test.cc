#include "tier/compaction_picker.h"

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace strata::internal {
namespace {

constexpr uint32_t kNoActive = 1000;  // an id none of the tests' segments has

std::optional<uint32_t> Pick(const std::vector<SegmentUsage>& segments, double threshold,
                             uint32_t active = kNoActive) {
  return PickCompactionVictim(segments, active, threshold);
}

TEST(CompactionPickerTest, NoSegmentsGivesNone) {
  EXPECT_EQ(Pick({}, 0.5), std::nullopt);
  EXPECT_EQ(Pick({}, 0.0), std::nullopt);
}

TEST(CompactionPickerTest, ActiveSegmentIsNeverPickedEvenWhenEmpty) {
  const std::vector<SegmentUsage> segs = {{.id = 1, .data_bytes = 100, .live_bytes = 0},
                                          {.id = 2, .data_bytes = 100, .live_bytes = 90}};
  EXPECT_EQ(Pick(segs, 0.5, /*active=*/1), std::nullopt);
  EXPECT_EQ(Pick(segs, 0.95, /*active=*/1), 2u);
  EXPECT_EQ(Pick({{.id = 7, .data_bytes = 0, .live_bytes = 0}}, 1.0, /*active=*/7), std::nullopt);
}

TEST(CompactionPickerTest, EmptySegmentIsPickedBeforeLowerRatios) {
  // Segment 1 qualifies first, but the later empty segment 3 has nothing to copy.
  const std::vector<SegmentUsage> segs = {{.id = 1, .data_bytes = 100, .live_bytes = 10},
                                          {.id = 2, .data_bytes = 100, .live_bytes = 5},
                                          {.id = 3, .data_bytes = 100, .live_bytes = 0},
                                          {.id = 4, .data_bytes = 100, .live_bytes = 0}};
  EXPECT_EQ(Pick(segs, 0.5), 3u);
}

TEST(CompactionPickerTest, EmptySegmentIsPickedWhateverTheThreshold) {
  const std::vector<SegmentUsage> segs = {{.id = 1, .data_bytes = 100, .live_bytes = 1},
                                          {.id = 2, .data_bytes = 100, .live_bytes = 0}};
  EXPECT_EQ(Pick(segs, 0.0), 2u);
  EXPECT_EQ(Pick(segs, -1.0), 2u);
}

TEST(CompactionPickerTest, LowestRatioBelowThresholdWins) {
  const std::vector<SegmentUsage> segs = {{.id = 1, .data_bytes = 100, .live_bytes = 40},
                                          {.id = 2, .data_bytes = 200, .live_bytes = 20},
                                          {.id = 3, .data_bytes = 100, .live_bytes = 30},
                                          {.id = 4, .data_bytes = 100, .live_bytes = 95}};
  EXPECT_EQ(Pick(segs, 0.5), 2u);  // 0.1 < 0.3 < 0.4
  EXPECT_EQ(Pick(segs, 0.05), std::nullopt);
  EXPECT_EQ(Pick(segs, 0.5, /*active=*/2), 3u);
}

TEST(CompactionPickerTest, RatioEqualToThresholdIsNotPicked) {
  const std::vector<SegmentUsage> segs = {{.id = 1, .data_bytes = 100, .live_bytes = 50}};
  EXPECT_EQ(Pick(segs, 0.5), std::nullopt);
  EXPECT_EQ(Pick(segs, 0.5000001), 1u);
}

TEST(CompactionPickerTest, ThresholdZeroPicksOnlySegmentsWithNoLiveBytes) {
  const std::vector<SegmentUsage> live = {{.id = 1, .data_bytes = 1 << 30, .live_bytes = 1},
                                          {.id = 2, .data_bytes = 0, .live_bytes = 4096}};
  EXPECT_EQ(Pick(live, 0.0), std::nullopt);
  std::vector<SegmentUsage> segs = live;
  segs.push_back({.id = 3, .data_bytes = 100, .live_bytes = 0});
  EXPECT_EQ(Pick(segs, 0.0), 3u);
}

TEST(CompactionPickerTest, TiesGoToTheFirstInOrder) {
  const std::vector<SegmentUsage> equal = {{.id = 5, .data_bytes = 100, .live_bytes = 20},
                                           {.id = 6, .data_bytes = 200, .live_bytes = 40},
                                           {.id = 7, .data_bytes = 100, .live_bytes = 30}};
  EXPECT_EQ(Pick(equal, 0.5), 5u);
  const std::vector<SegmentUsage> empty = {{.id = 5, .data_bytes = 100, .live_bytes = 10},
                                           {.id = 6, .data_bytes = 300, .live_bytes = 0},
                                           {.id = 7, .data_bytes = 100, .live_bytes = 0}};
  EXPECT_EQ(Pick(empty, 0.5), 6u);
  EXPECT_EQ(Pick(empty, 0.5, /*active=*/6), 7u);
}

TEST(CompactionPickerTest, NoDataBytesCountsAsRatioZero) {
  // live_bytes 0 (the table has no entry for the segment) with no data: empty, picked at once.
  EXPECT_EQ(Pick({{.id = 1, .data_bytes = 100, .live_bytes = 1},
                  {.id = 2, .data_bytes = 0, .live_bytes = 0}},
                 0.5),
            2u);
  // Live bytes but no data bytes: ratio 0, so it beats any positive ratio below the threshold,
  // but it does not count as empty.
  const std::vector<SegmentUsage> segs = {{.id = 1, .data_bytes = 100, .live_bytes = 1},
                                          {.id = 2, .data_bytes = 0, .live_bytes = 64},
                                          {.id = 3, .data_bytes = 100, .live_bytes = 0}};
  EXPECT_EQ(Pick(segs, 0.5), 2u);
  EXPECT_EQ(Pick(segs, 0.0), 3u);
}

TEST(CompactionPickerTest, MoreLiveThanDataIsARatioAboveOne) {
  const std::vector<SegmentUsage> segs = {{.id = 1, .data_bytes = 100, .live_bytes = 150}};
  EXPECT_EQ(Pick(segs, 1.0), std::nullopt);
  EXPECT_EQ(Pick(segs, 2.0), 1u);
}

// The loop TableImpl::CompactStep ran inline before the picker was split out; the picker must
// choose as it did.
std::optional<uint32_t> InlineLoop(const std::vector<SegmentUsage>& segs, uint32_t active,
                                   double threshold) {
  bool found = false;
  double best = threshold;
  uint32_t victim = 0;
  for (const SegmentUsage& s : segs) {
    if (s.id == active) continue;
    const uint64_t live = s.live_bytes;
    const double ratio = s.data_bytes == 0 ? 0.0 : static_cast<double>(live) / s.data_bytes;
    if (ratio < best || (live == 0 && !found)) {
      best = ratio;
      victim = s.id;
      found = true;
    }
    if (found && best == 0.0) break;
  }
  if (!found) return std::nullopt;
  return victim;
}

TEST(CompactionPickerTest, ChoosesAsTheInlineLoopItReplaced) {
  std::mt19937_64 rng(20240610);
  const double thresholds[] = {-0.5, 0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5};
  int picked = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<SegmentUsage> segs(rng() % 7);
    for (size_t i = 0; i < segs.size(); ++i) {
      // Few distinct sizes, so that equal ratios, empty and data-less segments all occur.
      const uint64_t data = (rng() % 5) * 64;
      const uint64_t live = rng() % 4 == 0 ? 0 : (rng() % 6) * 32;
      segs[i] =
          SegmentUsage{.id = static_cast<uint32_t>(i + 1), .data_bytes = data, .live_bytes = live};
    }
    const uint32_t active = static_cast<uint32_t>(rng() % (segs.size() + 2));
    const double threshold = thresholds[rng() % std::size(thresholds)];
    const std::optional<uint32_t> want = InlineLoop(segs, active, threshold);
    ASSERT_EQ(PickCompactionVictim(segs, active, threshold), want) << "round " << round;
    picked += want.has_value();
  }
  EXPECT_GT(picked, 5000);  // the inputs exercise both outcomes
  EXPECT_LT(picked, 19000);
}

}  // namespace
}  // namespace strata::internal
