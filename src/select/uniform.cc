#include "select/uniform.h"

#include <cassert>
#include <utility>

#include "absl/strings/str_cat.h"
#include "select/selector_state.h"

namespace strata::internal {

UniformSelector::UniformSelector(size_t capacity) : position_(capacity, kNoSlot) {
  dense_.reserve(capacity);
}

void UniformSelector::Insert(const SelectorItem& item) {
  assert(item.slot < position_.size() && position_[item.slot] == kNoSlot);
  position_[item.slot] = static_cast<uint32_t>(dense_.size());
  dense_.push_back(item.slot);
}

void UniformSelector::Update(const SelectorItem& item) {
  // Priorities and scores do not affect a uniform choice.
  assert(item.slot < position_.size() && position_[item.slot] != kNoSlot);
}

void UniformSelector::Remove(Slot slot) {
  assert(slot < position_.size() && position_[slot] != kNoSlot);
  // Move the last live slot into the hole so the array stays dense.
  const uint32_t hole = position_[slot];
  const Slot last = dense_.back();
  dense_[hole] = last;
  position_[last] = hole;
  dense_.pop_back();
  position_[slot] = kNoSlot;
}

void UniformSelector::Clear() {
  for (Slot slot : dense_) position_[slot] = kNoSlot;
  dense_.clear();
}

void UniformSelector::SwapPositions(uint32_t i, uint32_t j) {
  std::swap(dense_[i], dense_[j]);
  position_[dense_[i]] = i;
  position_[dense_[j]] = j;
}

void UniformSelector::Sample(Rng& rng, size_t n, bool replacement, Slot* slots,
                             double* probabilities) {
  const size_t live = dense_.size();
  assert(n >= 1 && live >= 1 && (replacement || n <= live));
  const double p = 1.0 / static_cast<double>(live);
  if (replacement) {
    for (size_t i = 0; i < n; ++i) {
      slots[i] = dense_[rng.UniformInt(live)];
      probabilities[i] = p;
    }
    return;
  }
  // Partial Fisher-Yates: after step i, dense_[0..i] is a uniform draw without replacement. The
  // array's order carries no meaning, so the shuffle is left in place instead of undone.
  for (size_t i = 0; i < n; ++i) {
    const uint32_t j = static_cast<uint32_t>(i + rng.UniformInt(live - i));
    SwapPositions(static_cast<uint32_t>(i), j);
    slots[i] = dense_[i];
    probabilities[i] = p;
  }
}

Slot UniformSelector::Victim(Rng& rng) {
  assert(!dense_.empty());
  return dense_[rng.UniformInt(dense_.size())];
}

// State payload: u32 count, then the dense array's slots in order.
void UniformSelector::SaveState(std::string* out) const {
  StateWriter(out, name()).PutSlots(dense_);
}

absl::Status UniformSelector::LoadState(std::string_view state,
                                        absl::Span<const SelectorItem> items) {
  Clear();
  const absl::Status status =
      LoadSlotList(state, name(), items, position_.size(), ImplicitOrder::kNone,
                   [this](uint32_t, const SelectorItem& item, const StateReader&) {
                     Insert(item);  // appends: the dense array comes back in the saved order
                     return absl::OkStatus();
                   });
  if (!status.ok()) Clear();
  return status;
}

absl::Status UniformSelector::CheckInvariants(absl::Span<const Slot> live) const {
  if (dense_.size() != live.size()) {
    return absl::InternalError(
        absl::StrCat("uniform: holds ", dense_.size(), " slots, table has ", live.size(), " live"));
  }
  for (size_t i = 0; i < dense_.size(); ++i) {
    const Slot slot = dense_[i];
    if (slot >= position_.size()) {
      return absl::InternalError(absl::StrCat("uniform: dense[", i, "] = ", slot,
                                              " is out of range [0, ", position_.size(), ")"));
    }
    if (position_[slot] != i) {
      return absl::InternalError(absl::StrCat("uniform: dense[", i, "] = ", slot, " but position[",
                                              slot, "] = ", position_[slot]));
    }
  }
  // Every live slot is held: with equal sizes, the held set is the live set.
  for (Slot slot : live) {
    if (slot >= position_.size() || position_[slot] >= dense_.size() ||
        dense_[position_[slot]] != slot) {
      return absl::InternalError(absl::StrCat("uniform: live slot ", slot, " is not held"));
    }
  }
  // No stale position for a slot that is not held.
  size_t positioned = 0;
  for (uint32_t p : position_) positioned += (p != kNoSlot);
  if (positioned != dense_.size()) {
    return absl::InternalError(absl::StrCat("uniform: ", positioned, " slots have a position, ",
                                            dense_.size(), " are held"));
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
