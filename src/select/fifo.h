// FifoSelector: insertion order, oldest first (kFifo) or newest first (kLifo).
#ifndef STRATA_SELECT_FIFO_H_
#define STRATA_SELECT_FIFO_H_

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

// Orders items by insertion: Sample returns the first n (oldest first for FIFO, newest first for
// LIFO) with probability 1 each, and Victim is the first (FIFO: the oldest, LIFO: the newest).
//
// The table inserts items in increasing seq, so appending at the tail keeps the list sorted by
// seq without storing it. An intrusive doubly linked list threads the slots (prev/next arrays),
// so insert and remove anywhere are O(1) and a sample of n walks n links. Memory: 8 bytes per
// slot of capacity (4 prev + 4 next), allocated up front; no call allocates.
//
// Thread-safety: externally synchronized (the owning table's mutex).
class FifoSelector final : public Selector {
 public:
  FifoSelector(size_t capacity, bool newest_first);

  std::string_view name() const override { return newest_first_ ? "lifo" : "fifo"; }
  bool needs_updates() const override { return false; }
  void Insert(const SelectorItem& item) override;
  void Update(const SelectorItem& item) override;
  void Remove(Slot slot) override;
  void Clear() override;
  size_t size() const override { return size_; }
  bool ordered() const override { return true; }

  void Sample(Rng& rng, size_t n, bool replacement, Slot* slots, double* probabilities) override;
  Slot Victim(Rng& rng) override;
  // The state is the list, oldest first (the order of insertion, which LoadState replays); while
  // it is in seq order, an implicit list (nothing per item).
  void SaveState(std::string* out) const override;
  absl::Status LoadState(std::string_view state, absl::Span<const SelectorItem> items) override;
  absl::Status CheckInvariants(absl::Span<const Slot> live) const override;

 private:
  // prev_[slot] of a slot that is not held; distinct from kNoSlot, which ends the list.
  static constexpr Slot kDetached = kNoSlot - 1;

  bool held(Slot slot) const { return slot < prev_.size() && prev_[slot] != kDetached; }

  const bool newest_first_;
  std::vector<Slot> prev_;  // towards older items; kNoSlot at the head, kDetached if not held
  std::vector<Slot> next_;  // towards newer items; kNoSlot at the tail
  Slot head_ = kNoSlot;     // oldest
  Slot tail_ = kNoSlot;     // newest
  size_t size_ = 0;
  // Whether the list is in increasing seq (every insert came after the last one): the saved state
  // is then an implicit slot list.
  bool seq_sorted_ = true;
  uint64_t tail_seq_ = 0;  // seq of the last item inserted
};

}  // namespace strata::internal

#endif  // STRATA_SELECT_FIFO_H_
