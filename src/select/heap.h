// HeapSelector: priority order, lowest first (kMinHeap) or highest first (kMaxHeap).
#ifndef STRATA_SELECT_HEAP_H_
#define STRATA_SELECT_HEAP_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "select/selector.h"
#include "util/random.h"

namespace strata::internal {

// Orders items by priority, ties broken by age (smaller seq first): Sample returns the top n in
// that order with probability 1 each, Victim is the top. As a min-heap remover it evicts the
// least useful item; as a max-heap sampler it hands out the top items.
//
// A binary heap of entries (priority, seq, slot) plus a slot -> heap index map: insert, remove and
// update are O(log N). The keys live in the heap entries so that a sift compares neighbours
// without chasing slots. Sample reads the top n without touching the heap: a small frontier heap
// of heap indices, seeded with the root and fed with the children of each index it emits, yields
// them in order in O(n log n). Memory: 28 bytes per slot of capacity (24 per entry, 4 per
// position), allocated up front; the frontier scratch grows to the largest n asked for and is
// kept, so steady-state calls do not allocate.
//
// Thread-safety: externally synchronized (the owning table's mutex).
class HeapSelector final : public Selector {
 public:
  HeapSelector(size_t capacity, bool max_first);

  std::string_view name() const override { return max_first_ ? "max_heap" : "min_heap"; }
  void Insert(const SelectorItem& item) override;
  // Moves the item to its place for the new priority (seq is unchanged by definition).
  void Update(const SelectorItem& item) override;
  void Remove(Slot slot) override;
  void Clear() override;
  size_t size() const override { return heap_.size(); }
  bool ordered() const override { return true; }

  void Sample(Rng& rng, size_t n, bool replacement, Slot* slots, double* probabilities) override;
  Slot Victim(Rng& rng) override;
  // The state is the heap's arrangement (its slots in array order), which later sifts depend on.
  void SaveState(std::string* out) const override;
  absl::Status LoadState(std::string_view state, absl::Span<const SelectorItem> items) override;
  absl::Status CheckInvariants(absl::Span<const Slot> live) const override;

 private:
  struct Entry {
    double priority;
    uint64_t seq;
    Slot slot;
  };

  // Whether `a` comes out of the heap before `b`.
  bool Before(const Entry& a, const Entry& b) const {
    if (a.priority != b.priority)
      return max_first_ ? a.priority > b.priority : a.priority < b.priority;
    return a.seq < b.seq;
  }
  void Place(uint32_t index, const Entry& entry) {
    heap_[index] = entry;
    position_[entry.slot] = index;
  }
  // Move the entry at `index` towards the root / the leaves until the heap property holds.
  void SiftUp(uint32_t index);
  void SiftDown(uint32_t index);

  const bool max_first_;
  std::vector<Entry> heap_;
  std::vector<uint32_t> position_;  // slot -> index in heap_, kNoSlot when not held
  std::vector<uint32_t> frontier_;  // Sample's scratch: heap indices, itself a heap
};

}  // namespace strata::internal

#endif  // STRATA_SELECT_HEAP_H_
