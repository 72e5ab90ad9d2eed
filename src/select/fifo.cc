#include "select/fifo.h"

#include <cassert>
#include <string>

#include "absl/strings/str_cat.h"
#include "select/selector_state.h"

namespace strata::internal {

FifoSelector::FifoSelector(size_t capacity, bool newest_first)
    : newest_first_(newest_first), prev_(capacity, kDetached), next_(capacity, kNoSlot) {
  assert(capacity < kDetached);
}

void FifoSelector::Insert(const SelectorItem& item) {
  const Slot slot = item.slot;
  assert(slot < prev_.size() && !held(slot));
  prev_[slot] = tail_;
  next_[slot] = kNoSlot;
  if (tail_ == kNoSlot) {
    head_ = slot;
  } else {
    next_[tail_] = slot;
  }
  tail_ = slot;
  ++size_;
  // The table inserts in increasing seq; a caller that does not makes the saved state a list.
  if (size_ > 1 && item.seq <= tail_seq_) seq_sorted_ = false;
  tail_seq_ = item.seq;
}

void FifoSelector::Update(const SelectorItem& item) {
  // The order is by insertion only; priorities and scores do not move items.
  assert(held(item.slot));
}

void FifoSelector::Remove(Slot slot) {
  assert(held(slot));
  const Slot prev = prev_[slot];
  const Slot next = next_[slot];
  if (prev == kNoSlot) {
    head_ = next;
  } else {
    next_[prev] = next;
  }
  if (next == kNoSlot) {
    tail_ = prev;
  } else {
    prev_[next] = prev;
  }
  prev_[slot] = kDetached;
  next_[slot] = kNoSlot;
  --size_;
}

void FifoSelector::Clear() {
  for (Slot slot = head_; slot != kNoSlot;) {
    const Slot next = next_[slot];
    prev_[slot] = kDetached;
    next_[slot] = kNoSlot;
    slot = next;
  }
  head_ = tail_ = kNoSlot;
  size_ = 0;
  seq_sorted_ = true;
}

void FifoSelector::Sample(Rng& rng, size_t n, bool replacement, Slot* slots,
                          double* probabilities) {
  assert(n >= 1 && n <= size_);
  Slot slot = newest_first_ ? tail_ : head_;
  for (size_t i = 0; i < n; ++i) {
    slots[i] = slot;
    probabilities[i] = 1.0;
    slot = newest_first_ ? prev_[slot] : next_[slot];
  }
}

Slot FifoSelector::Victim(Rng& rng) {
  assert(size_ >= 1);
  return newest_first_ ? tail_ : head_;
}

// State payload: a slot list from the oldest to the newest — implicit (by seq) while the items
// were inserted in increasing seq, as the table does, else u32 count and the slots. The same
// for FIFO and LIFO; the tags differ, so neither loads the other's.
void FifoSelector::SaveState(std::string* out) const {
  StateWriter writer(out, name());
  if (seq_sorted_) {
    // Oldest first is insertion sequence order, which the loader's items carry: nothing to list.
    writer.PutImplicitSlots(static_cast<uint32_t>(size_));
    return;
  }
  Slot slot = head_;
  writer.PutSlots(static_cast<uint32_t>(size_), [&] {
    const Slot s = slot;
    slot = next_[slot];
    return s;
  });
}

absl::Status FifoSelector::LoadState(std::string_view state, absl::Span<const SelectorItem> items) {
  Clear();
  const absl::Status status =
      LoadSlotList(state, name(), items, prev_.size(), ImplicitOrder::kBySeq,
                   [this](uint32_t, const SelectorItem& item, const StateReader&) {
                     Insert(item);  // the newest end: the list comes back in the saved order
                     return absl::OkStatus();
                   });
  if (!status.ok()) Clear();
  return status;
}

absl::Status FifoSelector::CheckInvariants(absl::Span<const Slot> live) const {
  const std::string_view kind = name();
  if (size_ != live.size()) {
    return absl::InternalError(
        absl::StrCat(std::string(kind), ": size ", size_, ", table has ", live.size(), " live"));
  }
  if ((head_ == kNoSlot) != (size_ == 0) || (tail_ == kNoSlot) != (size_ == 0)) {
    return absl::InternalError(
        absl::StrCat(std::string(kind), ": head ", head_, " tail ", tail_, " with size ", size_));
  }
  // Walk from the head, checking each back link; at most size_ steps, so a cycle shows up as a
  // list that has not ended.
  Slot prev = kNoSlot;
  Slot slot = head_;
  for (size_t i = 0; i < size_; ++i) {
    if (slot >= prev_.size()) {
      return absl::InternalError(absl::StrCat(std::string(kind), ": list element ", i, " is slot ",
                                              slot, ", out of range or list too short"));
    }
    if (prev_[slot] != prev) {
      return absl::InternalError(absl::StrCat(std::string(kind), ": prev[", slot,
                                              "] = ", prev_[slot], ", expected ", prev));
    }
    prev = slot;
    slot = next_[slot];
  }
  if (slot != kNoSlot || prev != tail_) {
    return absl::InternalError(absl::StrCat(std::string(kind), ": list does not end at tail ",
                                            tail_, " after ", size_, " elements"));
  }
  // The list's slots are distinct (each has one prev), so with equal sizes it holds exactly the
  // live set if every live slot is linked and nothing else is.
  for (Slot s : live) {
    if (!held(s)) {
      return absl::InternalError(
          absl::StrCat(std::string(kind), ": live slot ", s, " is not in the list"));
    }
  }
  size_t attached = 0;
  for (Slot s = 0; s < prev_.size(); ++s) {
    if (held(s)) {
      ++attached;
    } else if (next_[s] != kNoSlot) {
      return absl::InternalError(
          absl::StrCat(std::string(kind), ": detached slot ", s, " has next ", next_[s]));
    }
  }
  if (attached != size_) {
    return absl::InternalError(
        absl::StrCat(std::string(kind), ": ", attached, " slots are attached, size is ", size_));
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
