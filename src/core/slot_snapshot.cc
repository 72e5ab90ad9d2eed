#include "core/slot_snapshot.h"

namespace strata::internal {

void SlotSnapshot::Copy(const SlotIndex& index, Slot s, const Record& record) {
  if (s >= meta_.size()) {
    meta_.resize(s + 1);
    records_.resize(s + 1);
    scores_.resize((s + 1) * columns_);
  }
  meta_[s] = index.meta(s);
  records_[s] = record;
  for (size_t c = 0; c < columns_; ++c) scores_[s * columns_ + c] = index.score(c, s);
}

size_t SlotSnapshot::Finish(Slot free_head, CheckpointData* d) const {
  const size_t high_water = meta_.size();
  d->score_columns = static_cast<uint32_t>(columns_);
  d->generations.resize(high_water);
  d->items.clear();
  d->scores.clear();
  std::vector<Slot> unwritten;
  for (Slot s = 0; s < high_water; ++s) {
    const SlotIndex::Meta& m = meta_[s];
    const bool live = m.gen & 1u;
    const Record& r = records_[s];
    if (!live || r.segment == kUnstored) {
      d->generations[s] = live ? m.gen - 1 : m.gen;
      if (live) unwritten.push_back(s);
      continue;
    }
    d->generations[s] = m.gen;
    d->items.push_back(CheckpointItem{.slot = s,
                                      .times_sampled = m.sampled,
                                      .group = m.group,
                                      .task = m.task,
                                      .priority = m.priority,
                                      .seq = m.seq,
                                      .segment = r.segment,
                                      .offset = r.offset,
                                      .checksum = r.checksum,
                                      .length = r.length});
    d->scores.insert(d->scores.end(), scores_.begin() + s * columns_,
                     scores_.begin() + (s + 1) * columns_);
  }
  d->resume_items = d->items.size();
  d->free_slots.clear();
  d->free_slots.reserve(high_water - d->items.size());
  // The walk is bounded by the high water, so a broken list cannot loop.
  for (Slot s = free_head; s != kNoSlot && s < high_water && d->free_slots.size() < high_water;
       s = static_cast<Slot>(meta_[s].seq)) {
    d->free_slots.push_back(s);
  }
  d->free_slots.insert(d->free_slots.end(), unwritten.begin(), unwritten.end());
  return unwritten.size();
}

}  // namespace strata::internal
