#include "tier/compaction_picker.h"

namespace strata::internal {

std::optional<uint32_t> PickCompactionVictim(absl::Span<const SegmentUsage> segments,
                                             uint32_t active_segment, double live_ratio_threshold) {
  std::optional<uint32_t> victim;
  double best = 0.0;  // the victim's ratio
  for (const SegmentUsage& s : segments) {
    if (s.id == active_segment) continue;
    const double ratio = s.data_bytes == 0 ? 0.0 : static_cast<double>(s.live_bytes) / s.data_bytes;
    if (s.live_bytes != 0 && !(ratio < live_ratio_threshold)) continue;  // not a candidate
    if (!victim.has_value() || ratio < best) {
      victim = s.id;
      best = ratio;
    }
    if (best == 0.0) break;  // nothing can be lower: take it now
  }
  return victim;
}

}  // namespace strata::internal
