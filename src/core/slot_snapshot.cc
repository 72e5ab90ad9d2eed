#include "core/slot_snapshot.h"

namespace strata::internal {

void SlotSnapshot::Grow(Slot slots) {
  while (blocks_.size() * kBlockSlots < slots) blocks_.push_back(std::make_unique<Block>(columns_));
}

void SlotSnapshot::Prepare(Slot slots) { Grow(slots); }

void SlotSnapshot::Copy(const SlotIndex& index, Slot s, const Record& record) {
  Grow(s + 1);
  Block& b = *blocks_[s >> kBlockBits];
  const Slot i = s & (kBlockSlots - 1);
  b.meta[i] = index.meta(s);
  b.records[i] = record;
  for (size_t c = 0; c < columns_; ++c) b.scores[i * columns_ + c] = index.score(c, s);
  if (s >= end_) end_ = s + 1;
}

size_t SlotSnapshot::Finish(Slot free_head, CheckpointData* d) const {
  const Slot high_water = end_;
  auto meta = [&](Slot s) -> const SlotIndex::Meta& {
    return blocks_[s >> kBlockBits]->meta[s & (kBlockSlots - 1)];
  };
  d->score_columns = static_cast<uint32_t>(columns_);
  d->generations.resize(high_water);
  d->items.clear();
  d->scores.clear();
  std::vector<Slot> unwritten;
  for (Slot s = 0; s < high_water; ++s) {
    const Block& b = *blocks_[s >> kBlockBits];
    const Slot i = s & (kBlockSlots - 1);
    const SlotIndex::Meta& m = b.meta[i];
    const bool live = m.gen & 1u;
    const Record& r = b.records[i];
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
    d->scores.insert(d->scores.end(), b.scores.begin() + i * columns_,
                     b.scores.begin() + (i + 1) * columns_);
  }
  d->resume_items = d->items.size();
  d->free_slots.clear();
  d->free_slots.reserve(high_water - d->items.size());
  // The walk is bounded by the high water, so a broken list cannot loop.
  for (Slot s = free_head; s != kNoSlot && s < high_water && d->free_slots.size() < high_water;
       s = static_cast<Slot>(meta(s).seq)) {
    d->free_slots.push_back(s);
  }
  d->free_slots.insert(d->free_slots.end(), unwritten.begin(), unwritten.end());
  return unwritten.size();
}

}  // namespace strata::internal
