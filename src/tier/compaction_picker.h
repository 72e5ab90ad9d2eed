// Which segment the compactor reclaims next (docs/design.md, "Space reclamation"). Picking is a
// pure function of the segments' sizes and live bytes, apart from the step that runs it
// (TableImpl::CompactStep copies the victim's live records and drops it), so each rule is
// tested on its own (compaction_picker_test.cc).
#ifndef STRATA_TIER_COMPACTION_PICKER_H_
#define STRATA_TIER_COMPACTION_PICKER_H_

#include <cstdint>
#include <optional>

#include "absl/types/span.h"

namespace strata::internal {

// One segment as the picker sees it.
struct SegmentUsage {
  uint32_t id = 0;
  uint64_t data_bytes = 0;  // bytes of its data file (SegmentInfo::data_bytes)
  uint64_t live_bytes = 0;  // bytes its live records take in that file (FileSpan); 0 if none
};

// Returns the segment to compact next, or nullopt when none qualifies. Contract:
//  * `active_segment` is never picked, even when it holds no live bytes.
//  * A segment's live ratio is live_bytes / data_bytes, and 0 when data_bytes is 0.
//  * Candidates are the segments with no live bytes (whatever the threshold, even 0 or below:
//    a dead segment is dropped without copying) and those whose ratio is strictly below
//    `live_ratio_threshold` (a ratio equal to it does not qualify).
//  * The candidate with the lowest ratio wins; among equal ratios the first in `segments` (the
//    caller passes them oldest id first). So the first segment of ratio 0 is taken at once:
//    an empty one, or one with data_bytes 0 when the threshold is above 0.
// Pure: no state, no I/O; thread-safe.
std::optional<uint32_t> PickCompactionVictim(absl::Span<const SegmentUsage> segments,
                                             uint32_t active_segment, double live_ratio_threshold);

}  // namespace strata::internal

#endif  // STRATA_TIER_COMPACTION_PICKER_H_
