// Prioritized experience replay's selector (Schaul et al. 2016): item i is drawn with probability
// P(i) = (p_i + epsilon)^alpha / sum_j (p_j + epsilon)^alpha, from a SumTree (sum_tree.h) whose
// leaf for slot i holds (p_i + epsilon)^alpha, or 0 while slot i is empty. As a remover it evicts
// by one proportional draw.
//
// Costs: Sample with replacement descends the whole batch together (see SumTree::FindBatch);
// without replacement it draws one at a time, removing each drawn item from the tree until the
// batch is complete. UpdateBatch recomputes each touched tree node once. Weights is O(1) per
// item: the smallest live leaf is kept by the tree's companion min tree.
//
// Thread-safety: externally synchronized (the owning table calls it under its mutex).
#ifndef STRATA_SELECT_PRIORITIZED_H_
#define STRATA_SELECT_PRIORITIZED_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "select/selector.h"
#include "select/sum_tree.h"
#include "strata/selector.h"
#include "util/random.h"

namespace strata::internal {

class PrioritizedSelector final : public Selector {
 public:
  // `options` were validated by MakeSelector (alpha >= 0, beta >= 0, epsilon > 0, all finite);
  // `capacity` >= 1 slots.
  PrioritizedSelector(const SelectorOptions& options, size_t capacity);

  std::string_view name() const override { return "prioritized"; }

  void Insert(const SelectorItem& item) override;
  void Update(const SelectorItem& item) override;
  void UpdateBatch(absl::Span<const SelectorItem> items) override;
  void Remove(Slot slot) override;
  void Clear() override;
  size_t size() const override { return size_; }

  // With replacement: n independent draws, or, when options.stratified, one draw from each of n
  // strata of equal mass. Without replacement (stratified ignored): n successive draws, each from
  // the items not drawn yet. In both cases probabilities[i] = leaf / total of the full tree, that
  // is, the probability that one draw picks slots[i].
  void Sample(Rng& rng, size_t n, bool replacement, Slot* slots, double* probabilities) override;

  // (P_i / P_min)^-beta, with P_min the probability of the least likely live item: equal to
  // (N P_i)^-beta / max_j (N P_j)^-beta, in (0, 1]. `probabilities` must come from Sample on the
  // current state.
  void Weights(absl::Span<const double> probabilities, double beta, double* weights) const override;

  Slot Victim(Rng& rng) override;

  // The tree is a function of its leaves alone (sums are recomputed, never updated by deltas),
  // and each leaf of the priority the item has now, so the state only names the slots held;
  // loading recomputes the leaves from the items' priorities with this selector's alpha and
  // epsilon, bit for bit what the saver held when they are the same.
  void SaveState(std::string* out) const override;
  absl::Status LoadState(std::string_view state, absl::Span<const SelectorItem> items) override;

  absl::Status CheckInvariants(absl::Span<const Slot> live) const override;

  // The leaf stored for `priority`: (priority + epsilon)^alpha, clamped to
  // [smallest normal double, DBL_MAX / capacity] so that a live item always has mass and the
  // total never overflows. Exposed for tests.
  double LeafValue(double priority) const;
  // The tree's current leaf for a slot (0 when empty) and total mass. Exposed for tests.
  double leaf(Slot slot) const { return tree_.leaf(slot); }
  double total() const { return tree_.total(); }
  // Bytes held by the tree (leaves and both internal trees).
  size_t memory_bytes() const { return tree_.memory_bytes(); }

 private:
  const double alpha_;
  const double beta_;
  const double epsilon_;
  const bool stratified_;
  const double max_leaf_;

  SumTree tree_;
  size_t size_ = 0;  // live slots: those with a positive leaf
};

}  // namespace strata::internal

#endif  // STRATA_SELECT_PRIORITIZED_H_
