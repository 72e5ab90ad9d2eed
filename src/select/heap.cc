#include "select/heap.h"

#include <algorithm>
#include <cassert>
#include <string>

#include "absl/strings/str_cat.h"
#include "select/selector_state.h"

namespace strata::internal {

HeapSelector::HeapSelector(size_t capacity, bool max_first)
    : max_first_(max_first), position_(capacity, kNoSlot) {
  heap_.reserve(capacity);
}

void HeapSelector::Insert(const SelectorItem& item) {
  assert(item.slot < position_.size() && position_[item.slot] == kNoSlot);
  const uint32_t index = static_cast<uint32_t>(heap_.size());
  heap_.push_back({item.priority, item.seq, item.slot});
  position_[item.slot] = index;
  SiftUp(index);
}

void HeapSelector::Update(const SelectorItem& item) {
  assert(item.slot < position_.size() && position_[item.slot] != kNoSlot);
  const uint32_t index = position_[item.slot];
  const Entry old = heap_[index];
  heap_[index].priority = item.priority;
  if (Before(heap_[index], old)) {
    SiftUp(index);
  } else {
    SiftDown(index);
  }
}

void HeapSelector::Remove(Slot slot) {
  assert(slot < position_.size() && position_[slot] != kNoSlot);
  const uint32_t index = position_[slot];
  position_[slot] = kNoSlot;
  const Entry last = heap_.back();
  heap_.pop_back();
  if (index == heap_.size()) return;  // it was the last entry
  // The last entry fills the hole; it may belong above or below it.
  Place(index, last);
  SiftUp(index);
  SiftDown(position_[last.slot]);
}

void HeapSelector::Clear() {
  for (const Entry& entry : heap_) position_[entry.slot] = kNoSlot;
  heap_.clear();
}

void HeapSelector::SiftUp(uint32_t index) {
  const Entry entry = heap_[index];
  while (index > 0) {
    const uint32_t parent = (index - 1) / 2;
    if (!Before(entry, heap_[parent])) break;
    Place(index, heap_[parent]);
    index = parent;
  }
  Place(index, entry);
}

void HeapSelector::SiftDown(uint32_t index) {
  const Entry entry = heap_[index];
  const size_t n = heap_.size();
  while (true) {
    size_t child = 2 * size_t{index} + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], entry)) break;
    Place(index, heap_[child]);
    index = static_cast<uint32_t>(child);
  }
  Place(index, entry);
}

void HeapSelector::Sample(Rng& rng, size_t n, bool replacement, Slot* slots,
                          double* probabilities) {
  assert(n >= 1 && n <= heap_.size());
  // The k-th item in order is either a child of one of the first k - 1 or the root, so a frontier
  // of those children, kept as a heap under the same order, yields the top n without modifying
  // heap_. std::*_heap put the "largest" first, hence the reversed comparison.
  const auto after = [this](uint32_t a, uint32_t b) { return Before(heap_[b], heap_[a]); };
  frontier_.clear();
  frontier_.push_back(0);
  for (size_t i = 0; i < n; ++i) {
    std::pop_heap(frontier_.begin(), frontier_.end(), after);
    const uint32_t index = frontier_.back();
    frontier_.pop_back();
    slots[i] = heap_[index].slot;
    probabilities[i] = 1.0;
    for (size_t child = 2 * size_t{index} + 1; child <= 2 * size_t{index} + 2; ++child) {
      if (child < heap_.size()) {
        frontier_.push_back(static_cast<uint32_t>(child));
        std::push_heap(frontier_.begin(), frontier_.end(), after);
      }
    }
  }
}

Slot HeapSelector::Victim(Rng& rng) {
  assert(!heap_.empty());
  return heap_[0].slot;
}

// State payload: u32 count, then the slots in heap array order. The keys (priority, seq) come
// from the items, so a state whose arrangement is not a heap under them is refused.
void HeapSelector::SaveState(std::string* out) const {
  size_t i = 0;
  StateWriter(out, name()).PutSlots(static_cast<uint32_t>(heap_.size()), [&] {
    return heap_[i++].slot;
  });
}

absl::Status HeapSelector::LoadState(std::string_view state, absl::Span<const SelectorItem> items) {
  Clear();
  const absl::Status status = LoadSlotList(
      state, name(), items, position_.size(), ImplicitOrder::kNone,
      [this](uint32_t i, const SelectorItem& item, const StateReader& in) {
        heap_.push_back({item.priority, item.seq, item.slot});
        position_[item.slot] = i;
        if (i > 0 && Before(heap_[i], heap_[(i - 1) / 2])) {
          return in.Corrupt("slot ", item.slot, " at heap index ", i, " (priority ", item.priority,
                            ", seq ", item.seq, ") comes before its parent, slot ",
                            heap_[(i - 1) / 2].slot);
        }
        return absl::OkStatus();
      });
  if (!status.ok()) Clear();
  return status;
}

absl::Status HeapSelector::CheckInvariants(absl::Span<const Slot> live) const {
  const std::string kind(name());
  if (heap_.size() != live.size()) {
    return absl::InternalError(
        absl::StrCat(kind, ": holds ", heap_.size(), " entries, table has ", live.size(), " live"));
  }
  for (size_t i = 0; i < heap_.size(); ++i) {
    const Entry& entry = heap_[i];
    if (entry.slot >= position_.size() || position_[entry.slot] != i) {
      return absl::InternalError(absl::StrCat(kind, ": heap[", i, "] holds slot ", entry.slot,
                                              " whose position is not ", i));
    }
    if (i > 0 && Before(entry, heap_[(i - 1) / 2])) {
      return absl::InternalError(
          absl::StrCat(kind, ": heap[", i, "] (priority ", entry.priority, ", seq ", entry.seq,
                       ") comes before its parent heap[", (i - 1) / 2, "] (priority ",
                       heap_[(i - 1) / 2].priority, ", seq ", heap_[(i - 1) / 2].seq, ")"));
    }
  }
  for (Slot slot : live) {
    if (slot >= position_.size() || position_[slot] >= heap_.size() ||
        heap_[position_[slot]].slot != slot) {
      return absl::InternalError(absl::StrCat(kind, ": live slot ", slot, " is not in the heap"));
    }
  }
  size_t positioned = 0;
  for (uint32_t p : position_) positioned += (p != kNoSlot);
  if (positioned != heap_.size()) {
    return absl::InternalError(absl::StrCat(kind, ": ", positioned, " slots have a position, ",
                                            heap_.size(), " are held"));
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
