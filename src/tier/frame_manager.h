// FrameManager: the DRAM side of a table with storage — which row ("frame") of the table's
// RowStore holds each resident item, the free frames, the spare rows that swap-ins are read
// into, and the resident bytes (all, and clean: written to storage, so droppable).
//
// Rows [0, frames) hold resident items or are free; rows [frames, frames + spares) start as
// spares. A swap-in reads a record into a spare row without the table lock, then InstallSpare
// makes that row the item's frame and turns a free frame into a spare in its place, O(1), so
// the number of frames, free + resident + spare + in flight, never changes.
//
// Invariants (CheckInvariants): frame_of and slot_of are inverse on resident items; every row is
// exactly one of resident, free, spare or in flight; the byte counts are the sums the caller
// passed. It does not know the budget or the placement order: the table decides which copy to
// drop (PlacementPolicy) and when (its DRAM budget).
//
// Thread-safety: externally synchronized (the table's mutex); a spare row taken by TakeSpare
// belongs to its reader until InstallSpare or ReturnSpare.
#ifndef STRATA_TIER_FRAME_MANAGER_H_
#define STRATA_TIER_FRAME_MANAGER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "select/selector.h"

namespace strata::internal {

class FrameManager {
 public:
  static constexpr uint32_t kNoFrame = 0xFFFFFFFFu;

  FrameManager() = default;
  // For slots in [0, slots), `frames` item rows and `spares` spare rows.
  void Init(size_t slots, uint64_t frames, uint64_t spares);

  uint64_t rows() const { return frames_ + spares_; }
  uint32_t frame_of(Slot s) const { return frame_[s]; }
  bool resident(Slot s) const { return frame_[s] != kNoFrame; }
  Slot slot_of(uint32_t frame) const { return slot_[frame]; }
  uint64_t resident_items() const { return resident_items_; }
  uint64_t resident_bytes() const { return resident_bytes_; }
  uint64_t clean_bytes() const { return clean_bytes_; }
  uint64_t dirty_bytes() const { return resident_bytes_ - clean_bytes_; }
  size_t free_frames() const { return free_.size(); }
  size_t spares() const { return spare_.size(); }

  // Whether an item of `bytes` gets a free frame under `budget` with no demotion.
  bool FitsFree(uint64_t bytes, uint64_t budget) const {
    return !free_.empty() && resident_bytes_ + bytes <= budget;
  }
  // Gives `s` a free frame for a copy of `bytes` not written yet. Precondition: a free frame.
  uint32_t Assign(Slot s, uint64_t bytes);
  // The copy of a resident item of `bytes` was written: it is clean from now on.
  void MarkClean(uint64_t bytes) { clean_bytes_ += bytes; }
  // Takes `s`'s frame back (its copy: `bytes`, clean or not) and returns it, now free.
  uint32_t Release(Slot s, uint64_t bytes, bool clean);

  // A spare row for a read in flight; false when none is left.
  bool TakeSpare(uint32_t* frame);
  // The read was not used: the row is a spare again.
  void ReturnSpare(uint32_t frame);
  // The filled spare `frame` becomes `s`'s frame, holding a clean copy of `bytes`; a free frame
  // becomes a spare in its place. Preconditions: `s` is not resident, a free frame exists.
  void InstallSpare(Slot s, uint32_t frame, uint64_t bytes);

  absl::Status CheckInvariants() const;

 private:
  uint64_t frames_ = 0;
  uint64_t spares_ = 0;
  std::vector<uint32_t> frame_;  // per slot: its frame, or kNoFrame
  std::vector<Slot> slot_;       // per row: its slot, or kNoSlot
  std::vector<uint32_t> free_;
  std::vector<uint32_t> spare_;
  uint64_t in_flight_ = 0;  // spare rows taken by reads
  uint64_t resident_items_ = 0;
  uint64_t resident_bytes_ = 0;
  uint64_t clean_bytes_ = 0;
};

}  // namespace strata::internal

#endif  // STRATA_TIER_FRAME_MANAGER_H_
