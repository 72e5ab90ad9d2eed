// SlotSnapshot: a copy of a table's slot index, and of where each slot's record is stored, taken
// in bounded chunks so that a checkpoint never holds the table's lock for a pass over every slot
// (docs/design.md, "Checkpointer").
//
// How a table uses it (TableImpl::CheckpointLocked), with the writer stopped so that no stored
// location changes except along with a change the index tracks (an insert, a removal):
//   under the lock, index.Track(); then repeatedly, under the lock, CopyChunk (a chunk of slots,
//   then index.MarkCopied(end)), releasing the lock between chunks; the last CopyChunk copies the
//   rest up to the high water and every slot index.TakeChanged() names, and in that critical
//   section the table takes its scalars (counters, free-list head, selector states). The copy is
//   then the index as it was at that last instant (sample counts aside), and Finish turns it
//   into a checkpoint body outside the lock.
#ifndef STRATA_CORE_SLOT_SNAPSHOT_H_
#define STRATA_CORE_SLOT_SNAPSHOT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/slot_index.h"
#include "tier/checkpoint.h"

namespace strata::internal {

class SlotSnapshot {
 public:
  // Where a slot's record is stored (the table keeps one per slot); segment kUnstored: not
  // written yet (or the slot is free).
  struct Record {
    uint32_t segment = kUnstored;
    uint32_t offset = 0;
    uint32_t checksum = 0;
    uint32_t length = 0;
  };
  static constexpr uint32_t kUnstored = 0xFFFFFFFFu;

  explicit SlotSnapshot(size_t score_columns) : columns_(score_columns) {}

  // Allocates (and touches) room for slots below `slots`, so that copying them under the lock
  // allocates nothing; call it without the lock.
  void Prepare(Slot slots);
  // Copies slot `s` of `index` as it is now, stored at `record`; a slot copied again replaces
  // its earlier copy. A slot beyond the prepared room gets a new block (never a reallocation of
  // what was copied).
  void Copy(const SlotIndex& index, Slot s, const Record& record);
  // Slots copied so far reach up to (not including) this one.
  Slot end() const { return end_; }

  // One critical section of the protocol above: copies up to `chunk` more slots of `index` (all
  // that are left when at most `chunk` are) and marks them copied; when that reaches the high
  // water, copies again every slot changed since its copy and ends the tracking. Returns whether
  // this was the last section. `record_of(slot)` is where the slot's record is stored.
  template <typename RecordOf>
  bool CopyChunk(SlotIndex& index, Slot chunk, RecordOf record_of) {
    const Slot high_water = index.high_water();
    const Slot end = high_water - end_ <= chunk ? high_water : end_ + chunk;
    for (Slot s = end_; s < end; ++s) Copy(index, s, record_of(s));
    index.MarkCopied(end);
    if (end != high_water) return false;
    for (Slot s : index.TakeChanged()) Copy(index, s, record_of(s));
    index.Untrack();
    return true;
  }

  // Fills d's generations, items, scores and free list from the copy: items are the live slots
  // with a stored record, in slot order; a live slot whose record is not written yet is recorded
  // as free, one generation back (it is written after the checkpoint and replayed, or lost with
  // the log's tail). The free list: the index's from `free_head`, in reuse order, then those
  // unwritten slots. Returns how many live slots were unwritten.
  size_t Finish(Slot free_head, CheckpointData* d) const;

 private:
  // The copy is kept in blocks of kBlockSlots slots, each allocated once.
  static constexpr Slot kBlockBits = 15;
  static constexpr Slot kBlockSlots = Slot{1} << kBlockBits;
  struct Block {
    explicit Block(size_t columns)
        : meta(kBlockSlots), records(kBlockSlots), scores(kBlockSlots * columns) {}
    std::vector<SlotIndex::Meta> meta;
    std::vector<Record> records;
    std::vector<float> scores;  // columns_ per slot
  };
  void Grow(Slot slots);

  size_t columns_;
  Slot end_ = 0;
  std::vector<std::unique_ptr<Block>> blocks_;
};

}  // namespace strata::internal

#endif  // STRATA_CORE_SLOT_SNAPSHOT_H_
