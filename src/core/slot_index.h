// SlotIndex: what a table knows of each slot — the one key codec, generations, the free list,
// the metadata a sampled item carries, its payload bytes and its score columns — and the count
// and bytes of the live items. Not thread-safe: the table calls it under its lock.
//
// Keys: key = gen << 32 | slot. A slot's generation is odd while it holds an item; removing the
// item makes it even, so every key naming the old generation is stale from then on, and puts the
// slot on the free list. Free slots are reused last-freed first, then the high water grows.
//
// Per slot (docs/design.md, "Slot index"):
//   meta(s)          32 B, half a cache line, so a sampled item costs one miss for all of it:
//     gen      u32  generation
//     sampled  u32  times sampled
//     group    i32  group (class) id
//     task     i32  task id
//     priority f64  user priority
//     seq      u64  insertion sequence; for a free slot, the next free slot (the free list)
//   item_bytes(s)    u64  payload bytes (only stored for schemas with bytes fields)
//   score(c, s)      f32  score column c (declared by the user: counted as their data); a
//                         slot's columns are side by side (scores(s))
//
// Change tracking (chunked checkpoints): between Track() and Untrack(), every change made to a
// slot below MarkCopied's mark (except a sample count) records that slot once, so that a snapshot
// copied in chunks, with the table's lock released between them, is brought up to date at its end
// by copying again only the slots that changed (TakeChanged).
#ifndef STRATA_CORE_SLOT_INDEX_H_
#define STRATA_CORE_SLOT_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "select/selector.h"
#include "strata/table.h"
#include "util/mmap_region.h"

namespace strata::internal {

class SlotIndex {
 public:
  struct alignas(32) Meta {
    uint32_t gen = 0;
    uint32_t sampled = 0;
    int32_t group = 0;
    int32_t task = 0;
    double priority = 0;
    uint64_t seq = 0;
  };
  static_assert(sizeof(Meta) == 32);

  // What an arriving item brings.
  struct NewItem {
    double priority = 0;
    int32_t group = 0;
    int32_t task = 0;
    uint64_t seq = 0;
    uint64_t bytes = 0;  // its payload bytes
  };

  // The key codec.
  static Key MakeKey(uint32_t gen, Slot slot) { return (static_cast<uint64_t>(gen) << 32) | slot; }
  static Slot SlotOf(Key key) { return static_cast<Slot>(key & 0xFFFFFFFFu); }
  static uint32_t GenOf(Key key) { return static_cast<uint32_t>(key >> 32); }

  SlotIndex() = default;
  // `capacity` slots; `fixed_bytes`: every item's payload bytes when !variable_bytes.
  static absl::StatusOr<SlotIndex> Create(size_t capacity, size_t score_columns,
                                          bool variable_bytes, uint64_t fixed_bytes);
  SlotIndex(SlotIndex&&) = default;
  SlotIndex& operator=(SlotIndex&&) = default;

  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }                // live items
  const size_t* live_count() const { return &size_; }  // for the rate limiter, which reads it
  uint64_t bytes() const { return bytes_; }            // their payload bytes
  Slot high_water() const { return high_water_; }      // slots >= this were never used
  Slot free_head() const { return free_head_; }
  size_t num_scores() const { return columns_; }

  bool live(Slot s) const { return meta_[s].gen & 1u; }
  Key KeyOf(Slot s) const { return MakeKey(meta_[s].gen, s); }
  // The live slot `key` names, or kNoSlot.
  Slot Resolve(Key key) const {
    const Slot s = SlotOf(key);
    const uint32_t gen = GenOf(key);
    if (s >= high_water_ || meta_[s].gen != gen || (gen & 1u) == 0) return kNoSlot;
    return s;
  }
  // Starts loading the metadata of the slot `key` names (keys name random slots).
  void PrefetchKey(Key key) const {
    const Slot s = SlotOf(key);
    if (s < high_water_) __builtin_prefetch(&meta_[s]);
  }
  void Prefetch(Slot s) const { __builtin_prefetch(&meta_[s]); }
  const Meta& meta(Slot s) const { return meta_[s]; }
  float score(size_t column, Slot s) const { return scores_[s * columns_ + column]; }
  // Every score column of slot `s`, in schema order.
  absl::Span<const float> scores(Slot s) const {
    return absl::MakeConstSpan(scores_.data() + s * columns_, columns_);
  }
  uint64_t item_bytes(Slot s) const { return item_bytes_.empty() ? fixed_bytes_ : item_bytes_[s]; }
  // The next slot on the free list after free slot `s`, or kNoSlot.
  Slot next_free(Slot s) const { return static_cast<Slot>(meta_[s].seq); }

  // --- Changes (each one is tracked) ---
  // Places an item in a free slot (the last freed, else a new one) and returns it; its scores
  // are zero. The caller checks there is room (size() < capacity()).
  Slot Add(const NewItem& item);
  // Removes the live item in `s`: its generation turns even and the slot is freed.
  void Remove(Slot s);
  // Counts a sample of live slot `s` and returns its metadata. Not a tracked change: sampling
  // touches slots at memory speed (a checkpoint would re-copy nearly every one), and a count
  // copied at any moment of a checkpoint is as good as one at its end (samples are not logged:
  // a crash loses the counts since the last checkpoint either way).
  const Meta& CountSample(Slot s) {
    ++meta_[s].sampled;
    return meta_[s];
  }
  void SetPriority(Slot s, double priority) {
    Changing(s);
    meta_[s].priority = priority;
  }
  void SetScore(size_t column, Slot s, float value) {
    Changing(s);
    scores_[s * columns_ + column] = value;
  }

  // --- Recovery: the state read back from a checkpoint and the log ---
  // Writable metadata of any slot below capacity (the high water grows to cover it). Size,
  // bytes and the free list are stale until Rebuild.
  Meta& RestoreMeta(Slot s) {
    if (s >= high_water_) high_water_ = s + 1;
    Changing(s);
    return meta_[s];
  }
  void RestoreItemBytes(Slot s, uint64_t bytes) {
    if (!item_bytes_.empty()) item_bytes_[s] = bytes;
  }
  // Recounts the live items and makes the free list: `free_order` first (free slots, in reuse
  // order; the caller checks they are distinct), then every other free slot, lowest first.
  // Returns the live slots in slot order.
  std::vector<Slot> Rebuild(absl::Span<const Slot> free_order);

  // --- Change tracking (see the file comment) ---
  void Track();
  // Slots below `end` are copied: a change to one of them is recorded from now on.
  void MarkCopied(Slot end) { copied_ = end; }
  // The slots changed since they were copied (each once), and forgets them.
  std::vector<Slot> TakeChanged();
  void Untrack();
  bool tracking() const { return tracking_; }

  // Live count and bytes match the slots, the free list holds exactly the other used slots.
  absl::Status CheckInvariants() const;

 private:
  void Changing(Slot s) {
    if (tracking_ && s < copied_) Changed(s);
  }
  void Changed(Slot s);

  size_t capacity_ = 0;
  uint64_t fixed_bytes_ = 0;
  size_t size_ = 0;
  uint64_t bytes_ = 0;
  Slot high_water_ = 0;
  Slot free_head_ = kNoSlot;
  // An MmapRegion rather than a std::vector: zeroed (a zero Meta is a free, never-used slot),
  // committed lazily, and on huge pages, because every sampled or updated key is a random
  // access here and at 10M items 4 KB pages make each one a TLB miss too.
  MmapRegion region_;
  Meta* meta_ = nullptr;
  std::vector<uint64_t> item_bytes_;  // schemas with bytes fields only
  size_t columns_ = 0;
  // Per slot, its score columns side by side: a slot's scores are one span (SelectorItem::scores)
  // and one cache line for a few columns.
  std::vector<float> scores_;
  bool tracking_ = false;
  Slot copied_ = 0;
  std::vector<uint64_t> changed_bits_;  // per slot, while tracking
  std::vector<Slot> changed_;
};

}  // namespace strata::internal

#endif  // STRATA_CORE_SLOT_INDEX_H_
