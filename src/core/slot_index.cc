#include "core/slot_index.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "strata/status.h"

namespace strata::internal {

absl::StatusOr<SlotIndex> SlotIndex::Create(size_t capacity, size_t score_columns,
                                            bool variable_bytes, uint64_t fixed_bytes) {
  SlotIndex index;
  index.capacity_ = capacity;
  index.fixed_bytes_ = fixed_bytes;
  ASSIGN_OR_RETURN(index.region_, MmapRegion::Reserve(capacity * sizeof(Meta)));
  index.meta_ = reinterpret_cast<Meta*>(index.region_.data());
  if (variable_bytes) index.item_bytes_.assign(capacity, 0);
  index.columns_ = score_columns;
  index.scores_.assign(capacity * score_columns, 0.0f);
  return index;
}

Slot SlotIndex::Add(const NewItem& item) {
  Slot s;
  if (free_head_ != kNoSlot) {
    s = free_head_;
    free_head_ = next_free(s);
  } else {
    s = high_water_++;
  }
  Changing(s);
  Meta& m = meta_[s];
  ++m.gen;  // odd: live
  m.sampled = 0;
  m.group = item.group;
  m.task = item.task;
  m.priority = item.priority;
  m.seq = item.seq;
  if (!item_bytes_.empty()) item_bytes_[s] = item.bytes;
  std::fill_n(scores_.begin() + s * columns_, columns_, 0.0f);
  ++size_;
  bytes_ += item.bytes;
  return s;
}

void SlotIndex::Remove(Slot s) {
  Changing(s);
  bytes_ -= item_bytes(s);
  --size_;
  Meta& m = meta_[s];
  ++m.gen;  // even: free; every key naming the old generation is now stale
  m.seq = free_head_;
  free_head_ = s;
}

std::vector<Slot> SlotIndex::Rebuild(absl::Span<const Slot> free_order) {
  std::vector<uint8_t> listed(high_water_, 0);
  std::vector<Slot> order(free_order.begin(), free_order.end());
  for (Slot s : free_order) listed[s] = 1;
  std::vector<Slot> live;
  size_ = 0;
  bytes_ = 0;
  for (Slot s = 0; s < high_water_; ++s) {
    if (this->live(s)) {
      live.push_back(s);
      ++size_;
      bytes_ += item_bytes(s);
    } else if (!listed[s]) {
      order.push_back(s);
    }
  }
  free_head_ = kNoSlot;
  for (size_t i = order.size(); i-- > 0;) {
    Changing(order[i]);
    meta_[order[i]].seq = free_head_;
    free_head_ = order[i];
  }
  return live;
}

void SlotIndex::Track() {
  tracking_ = true;
  copied_ = 0;
  changed_.clear();
  changed_bits_.assign((capacity_ + 63) / 64, 0);
}

void SlotIndex::Changed(Slot s) {
  uint64_t& word = changed_bits_[s / 64];
  const uint64_t bit = uint64_t{1} << (s % 64);
  if (word & bit) return;
  word |= bit;
  changed_.push_back(s);
}

std::vector<Slot> SlotIndex::TakeChanged() {
  for (Slot s : changed_) changed_bits_[s / 64] &= ~(uint64_t{1} << (s % 64));
  return std::exchange(changed_, {});
}

void SlotIndex::Untrack() {
  tracking_ = false;
  copied_ = 0;
  changed_.clear();
  changed_.shrink_to_fit();
  changed_bits_.clear();
  changed_bits_.shrink_to_fit();
}

absl::Status SlotIndex::CheckInvariants() const {
  size_t live_count = 0;
  uint64_t live_bytes = 0;
  for (Slot s = 0; s < high_water_; ++s) {
    if (live(s)) {
      ++live_count;
      live_bytes += item_bytes(s);
    }
  }
  if (live_count != size_) {
    return absl::InternalError(absl::StrCat(live_count, " live slots but size is ", size_));
  }
  if (live_bytes != bytes_) {
    return absl::InternalError(
        absl::StrCat("live items hold ", live_bytes, " bytes but the table counts ", bytes_));
  }
  size_t free_count = 0;
  for (Slot s = free_head_; s != kNoSlot; s = next_free(s)) {
    if (s >= high_water_ || live(s) || ++free_count > high_water_) {
      return absl::InternalError(absl::StrCat("free list corrupt at slot ", s));
    }
  }
  if (free_count + size_ != high_water_) {
    return absl::InternalError(
        absl::StrCat("free list holds ", free_count, " slots, expected ", high_water_ - size_));
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
