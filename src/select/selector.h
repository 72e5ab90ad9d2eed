// The selector plug point: the small interface every sampling/eviction strategy implements.
//
// A table owns two selectors, its sampler and its remover (separate instances, even of the same
// kind). Both see every insert, update and removal of the table's items, identified by slot: a
// dense index in [0, capacity) that the table reuses after an item is removed. Strategies live
// one per file in this folder (uniform.h, prioritized.h, fifo.h, heap.h, group_balanced.h) and are
// built by MakeSelector (factory.cc).
//
// Thread-safety: externally synchronized. The table calls every method with its mutex held.
#ifndef STRATA_SELECT_SELECTOR_H_
#define STRATA_SELECT_SELECTOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "strata/selector.h"
#include "util/random.h"

namespace strata::internal {

using Slot = uint32_t;
inline constexpr Slot kNoSlot = ~Slot{0};

// What a selector may know about an item. The table fills every field.
struct SelectorItem {
  Slot slot = kNoSlot;
  double priority = 0;  // the user's priority: finite, >= 0
  int32_t group = 0;    // group (class) id
  uint64_t seq = 0;     // insertion sequence: strictly increasing over the table's life
  double score = 0;     // value of the selector's score column; 0 when it has none
  // Every score column of the item, in schema order (empty outside a table); valid during the
  // call only. For selectors that weigh several columns; `score` is the one this one orders by.
  absl::Span<const float> scores;
};

class Selector {
 public:
  virtual ~Selector() = default;

  virtual std::string_view name() const = 0;

  // `item.slot` is not currently held by this selector.
  virtual void Insert(const SelectorItem& item) = 0;
  // The item's priority or score changed; slot is held.
  virtual void Update(const SelectorItem& item) = 0;
  // Many updates at once (slots distinct or not; the last one for a slot wins). Strategies with
  // a tree override this to recompute each parent once, level by level.
  virtual void UpdateBatch(absl::Span<const SelectorItem> items) {
    for (const SelectorItem& item : items) Update(item);
  }
  // False for strategies whose order ignores priorities and scores (FIFO, LIFO, Uniform): the
  // table then skips their Update calls, which matters for large priority-update batches.
  virtual bool needs_updates() const { return true; }
  // `slot` is held; afterwards it is not.
  virtual void Remove(Slot slot) = 0;
  virtual void Clear() = 0;
  virtual size_t size() const = 0;

  // True for strategies that define an order rather than a distribution (FIFO, LIFO, heaps):
  // their Sample returns the first n items in that order, all distinct, whatever `replacement`.
  virtual bool ordered() const { return false; }

  // Chooses n items, writing n slots and, for each, the probability that one draw picks it
  // (1 for ordered strategies). Preconditions (the table checks them): n >= 1, size() >= 1, and
  // size() >= n when !replacement or ordered(). Without replacement, the n slots are distinct.
  // Deterministic for a given Rng state and history of calls.
  virtual void Sample(Rng& rng, size_t n, bool replacement, Slot* slots, double* probabilities) = 0;

  // Importance weights for `probabilities` as returned by Sample, normalized so the largest
  // possible weight over live items is 1, with exponent `beta`, or the selector's configured one
  // when beta is kConfiguredBeta (< 0). Default: all 1.
  static constexpr double kConfiguredBeta = -1;
  virtual void Weights(absl::Span<const double> probabilities, double beta, double* weights) const {
    for (size_t i = 0; i < probabilities.size(); ++i) weights[i] = 1.0;
  }

  // The item to evict next. Precondition: size() >= 1. Does not remove it.
  virtual Slot Victim(Rng& rng) = 0;

  // Checkpoints (docs/format.md, "Checkpoint"): a table reopened from one continues exactly as the
  // table that saved it would have, so a selector saves what a rebuild by Insert in seq order
  // would not reproduce — a dense array's order after removals, a heap's arrangement, the order
  // of groups — as a state that names slots (layout: selector_state.h, and each strategy's .cc).
  //
  // SaveState appends the state to *out. It holds no priorities, scores, groups or seqs (the
  // table checkpoints those): LoadState takes them from its `items`. O(size()) (Prioritized:
  // O(capacity)); the table calls it under its lock, so it is a copy of arrays and nothing more.
  virtual void SaveState(std::string* out) const = 0;

  // Replaces the contents with a saved state, over `items`: the items it must then hold, in
  // strictly ascending slot order, each as Insert would receive it (its current priority, group,
  // seq and score). On success the selector holds exactly `items` and answers Sample, Victim and
  // Weights as the saver did, for the same Rng state and the same later calls. Errors, after
  // which the selector is empty:
  //   FailedPrecondition  the state was saved by another strategy or configuration (its tag
  //                       differs): not corruption; the caller rebuilds with Insert.
  //   DataLoss            a malformed state, naming what is wrong: truncated or trailing bytes, a
  //                       count beyond the bytes left or the items, a slot out of range, not among
  //                       `items` or named twice, an item left unnamed, or an arrangement the
  //                       structure cannot have (a heap out of order, a group listed twice, ...).
  //   InvalidArgument     `items` not ascending, or a slot >= capacity (the caller's mistake).
  // Allocates O(capacity + state.size()) at most, whatever the state says.
  virtual absl::Status LoadState(std::string_view state, absl::Span<const SelectorItem> items) = 0;

  // Verifies internal invariants against the table's set of live slots (sorted ascending), e.g.
  // that a sum-tree's total equals the sum of its leaves. For tests and stress runs; O(n).
  virtual absl::Status CheckInvariants(absl::Span<const Slot> live) const = 0;
};

// Builds the strategy `options.kind` for slots in [0, capacity). `score_columns` are the schema's
// score column names (GroupBalanced kLowestScore must name one). InvalidArgument on bad options
// (alpha < 0, beta < 0, epsilon < 0, non-finite values, unknown score column).
absl::StatusOr<std::unique_ptr<Selector>> MakeSelector(const SelectorOptions& options,
                                                       size_t capacity,
                                                       absl::Span<const std::string> score_columns);

}  // namespace strata::internal

#endif  // STRATA_SELECT_SELECTOR_H_
