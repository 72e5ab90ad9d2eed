#include "select/prioritized.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "select/selector_state.h"

namespace strata::internal {
namespace {

// A live leaf is never below this, so "leaf > 0" means "live" even when (p + eps)^alpha
// underflows (tiny eps, large alpha).
constexpr double kMinLeaf = std::numeric_limits<double>::min();

}  // namespace

PrioritizedSelector::PrioritizedSelector(const SelectorOptions& options, size_t capacity)
    : alpha_(options.alpha),
      beta_(options.beta),
      epsilon_(options.epsilon),
      stratified_(options.stratified),
      // Half of DBL_MAX / capacity: the sum of every leaf stays finite even after rounding.
      max_leaf_(std::numeric_limits<double>::max() / (2.0 * static_cast<double>(capacity))),
      tree_(capacity) {
  assert(std::isfinite(alpha_) && alpha_ >= 0);
  assert(std::isfinite(beta_) && beta_ >= 0);
  assert(std::isfinite(epsilon_) && epsilon_ > 0);
}

double PrioritizedSelector::LeafValue(double priority) const {
  assert(std::isfinite(priority) && priority >= 0);
  const double base = priority + epsilon_;
  // The common exponents skip pow (~15 ns here), and give the same bits as pow would.
  const double value = alpha_ == 1 ? base : alpha_ == 0 ? 1.0 : std::pow(base, alpha_);
  return std::clamp(value, kMinLeaf, max_leaf_);
}

void PrioritizedSelector::Insert(const SelectorItem& item) {
  assert(item.slot < tree_.num_leaves() && tree_.leaf(item.slot) == 0);
  tree_.Set(item.slot, LeafValue(item.priority));
  ++size_;
}

void PrioritizedSelector::Update(const SelectorItem& item) {
  assert(item.slot < tree_.num_leaves() && tree_.leaf(item.slot) > 0);
  tree_.Set(item.slot, LeafValue(item.priority));
}

void PrioritizedSelector::UpdateBatch(absl::Span<const SelectorItem> items) {
  for (const SelectorItem& item : items) {
    assert(item.slot < tree_.num_leaves() && tree_.leaf(item.slot) > 0);
    tree_.SetDeferred(item.slot, LeafValue(item.priority));
  }
  tree_.Propagate();
}

void PrioritizedSelector::Remove(Slot slot) {
  assert(slot < tree_.num_leaves() && tree_.leaf(slot) > 0);
  tree_.Set(slot, 0.0);
  --size_;
}

void PrioritizedSelector::Clear() {
  tree_.Clear();
  size_ = 0;
}

void PrioritizedSelector::Sample(Rng& rng, size_t n, bool replacement, Slot* slots,
                                 double* probabilities) {
  assert(n >= 1 && size_ >= 1 && (replacement || n <= size_));
  const double total = tree_.total();
  if (replacement) {
    // probabilities[] first holds the queries, which FindBatch consumes as scratch.
    if (stratified_) {
      const double stratum = total / static_cast<double>(n);
      for (size_t i = 0; i < n; ++i) {
        probabilities[i] = (static_cast<double>(i) + rng.Uniform01()) * stratum;
      }
    } else {
      for (size_t i = 0; i < n; ++i) probabilities[i] = rng.Uniform01() * total;
    }
    tree_.FindBatch(probabilities, slots, n);
    for (size_t i = 0; i < n; ++i) probabilities[i] = tree_.leaf(slots[i]) / total;
    return;
  }
  // Without replacement: each drawn leaf is zeroed so the next draw comes from the rest, and its
  // value is parked in probabilities[] until every leaf is restored in one batched pass. The
  // tree recomputes sums rather than subtracting, so the restored total is bit-identical.
  for (size_t i = 0; i < n; ++i) {
    const Slot slot = tree_.Find(rng.Uniform01() * tree_.total());
    slots[i] = slot;
    probabilities[i] = tree_.leaf(slot);
    tree_.Set(slot, 0.0);
  }
  for (size_t i = 0; i < n; ++i) tree_.SetDeferred(slots[i], probabilities[i]);
  tree_.Propagate();
  for (size_t i = 0; i < n; ++i) probabilities[i] /= total;
}

void PrioritizedSelector::Weights(absl::Span<const double> probabilities, double beta,
                                  double* weights) const {
  const size_t n = probabilities.size();
  if (beta < 0) beta = beta_;
  if (beta == 0 || n == 0) {
    std::fill(weights, weights + n, 1.0);
    return;
  }
  // (N P_i)^-beta / max_j (N P_j)^-beta = (P_i / P_min)^-beta: N cancels, and the largest weight
  // belongs to the least likely live item. P_min / P_i <= 1, so every weight is in (0, 1].
  const double p_min = tree_.min_positive() / tree_.total();
  if (beta == 1) {
    for (size_t i = 0; i < n; ++i) weights[i] = p_min / probabilities[i];
  } else if (beta == 0.5) {
    for (size_t i = 0; i < n; ++i) weights[i] = std::sqrt(p_min / probabilities[i]);
  } else {
    for (size_t i = 0; i < n; ++i) weights[i] = std::pow(p_min / probabilities[i], beta);
  }
}

Slot PrioritizedSelector::Victim(Rng& rng) {
  assert(size_ >= 1);
  return tree_.Find(rng.Uniform01() * tree_.total());
}

// State payload: an implicit slot list by slot (u32 count and the slots with a leaf, ascending,
// in states saved before it; still read).
void PrioritizedSelector::SaveState(std::string* out) const {
  // The tree is a function of the priorities of the items held, which the loader is given: the
  // state only says that it holds exactly them (an implicit slot list, by slot).
  StateWriter(out, name()).PutImplicitSlots(static_cast<uint32_t>(size_));
}

absl::Status PrioritizedSelector::LoadState(std::string_view state,
                                            absl::Span<const SelectorItem> items) {
  Clear();
  Slot previous = 0;
  const absl::Status status = LoadSlotList(
      state, name(), items, tree_.num_leaves(), ImplicitOrder::kBySlot,
      [&previous](uint32_t i, const SelectorItem& item, const StateReader& in) {
        if (i > 0 && item.slot < previous) {
          return in.Corrupt("slots out of order (", item.slot, " after ", previous, ")");
        }
        previous = item.slot;
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  // The state names exactly `items`: set their leaves in one batched pass.
  for (const SelectorItem& item : items) tree_.SetDeferred(item.slot, LeafValue(item.priority));
  tree_.Propagate();
  size_ = items.size();
  return absl::OkStatus();
}

absl::Status PrioritizedSelector::CheckInvariants(absl::Span<const Slot> live) const {
  if (absl::Status status = tree_.CheckInvariants(); !status.ok()) return status;
  if (live.size() != size_) {
    return absl::InternalError(
        absl::StrCat("prioritized: size() is ", size_, " but ", live.size(), " slots are live"));
  }
  size_t next_live = 0;
  for (size_t slot = 0; slot < tree_.num_leaves(); ++slot) {
    const double leaf = tree_.leaf(slot);
    const bool is_live = next_live < live.size() && live[next_live] == slot;
    if (is_live) {
      ++next_live;
      if (!(leaf >= kMinLeaf && leaf <= max_leaf_)) {
        return absl::InternalError(absl::StrCat("prioritized: live slot ", slot, " has leaf ", leaf,
                                                ", expected a value in [", kMinLeaf, ", ",
                                                max_leaf_, "]"));
      }
    } else if (leaf != 0) {
      return absl::InternalError(
          absl::StrCat("prioritized: slot ", slot, " is not live but has leaf ", leaf));
    }
  }
  if (next_live != live.size()) {
    return absl::InternalError(absl::StrCat("prioritized: live slot list is not sorted or ",
                                            "names a slot >= capacity ", tree_.num_leaves(),
                                            " (at index ", next_live, ": ", live[next_live], ")"));
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
