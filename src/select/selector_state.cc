#include "select/selector_state.h"

#include <algorithm>
#include <cassert>

#include "absl/strings/escaping.h"

namespace strata::internal {

StateWriter::StateWriter(std::string* out, std::string_view tag) : out_(out) {
  assert(tag.size() <= 255);
  Put<uint8_t>(static_cast<uint8_t>(tag.size()));
  out_->append(tag);
}

std::vector<uint32_t> ImplicitItemOrder(absl::Span<const SelectorItem> items, ImplicitOrder order) {
  std::vector<uint32_t> positions(items.size());
  for (uint32_t k = 0; k < positions.size(); ++k) positions[k] = k;
  if (order == ImplicitOrder::kBySeq) {
    // Items are in ascending slot order, so a stable sort breaks seq ties by slot.
    std::stable_sort(positions.begin(), positions.end(),
                     [&](uint32_t a, uint32_t b) { return items[a].seq < items[b].seq; });
  }
  return positions;
}

void StateWriter::PutSlots(absl::Span<const Slot> slots) {
  Put<uint32_t>(static_cast<uint32_t>(slots.size()));
  out_->append(reinterpret_cast<const char*>(slots.data()), slots.size() * sizeof(Slot));
}

absl::Status StateReader::ExpectTag(std::string_view tag) {
  const uint8_t length = Get<uint8_t>();
  if (overrun_ || length > data_.size() - pos_) return Corrupt("truncated in its tag");
  const std::string_view found = data_.substr(pos_, length);
  pos_ += length;
  if (found != tag) {
    return absl::FailedPreconditionError(
        absl::StrCat(selector_, " state: saved by '",
                     absl::CHexEscape(absl::string_view(found.data(), found.size())), "', not '",
                     std::string(tag), "' (the table was reopened with another selector)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> StateReader::Count(std::string_view what, size_t entry_bytes,
                                            uint64_t max) {
  assert(entry_bytes > 0);
  const uint32_t n = Get<uint32_t>();
  if (overrun_) return Corrupt("truncated before the count of ", std::string(what));
  if (n > (data_.size() - pos_) / entry_bytes) {
    return Corrupt(n, " ", std::string(what), " declared, more than its ", data_.size() - pos_,
                   " bytes left hold");
  }
  if (n > max) return Corrupt(n, " ", std::string(what), " declared, at most ", max, " possible");
  return n;
}

absl::Status StateReader::Finish() const {
  if (overrun_) return Corrupt("truncated");
  if (pos_ != data_.size()) return Corrupt(data_.size() - pos_, " bytes after its end");
  return absl::OkStatus();
}

absl::Status SlotTracker::Init(absl::Span<const SelectorItem> items, size_t capacity,
                               std::string_view selector) {
  index_.assign(capacity, kAbsent);
  items_ = items.size();
  taken_ = 0;
  for (size_t k = 0; k < items.size(); ++k) {
    const Slot slot = items[k].slot;
    if (slot >= capacity || (k > 0 && slot <= items[k - 1].slot)) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(selector), " LoadState: items must be in ascending slot order below ",
          capacity, "; item ", k, " is slot ", slot));
    }
    index_[slot] = static_cast<uint32_t>(k);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> SlotTracker::Take(Slot slot, const StateReader& reader) {
  if (slot >= index_.size()) {
    return reader.Corrupt("names slot ", slot, ", out of range [0, ", index_.size(), ")");
  }
  const uint32_t k = index_[slot];
  if (k == kAbsent) return reader.Corrupt("names slot ", slot, ", which holds no live item");
  if (k == kTaken) return reader.Corrupt("names slot ", slot, " twice");
  index_[slot] = kTaken;
  ++taken_;
  return k;
}

absl::Status SlotTracker::CheckAllTaken(const StateReader& reader) const {
  if (taken_ != items_) {
    return reader.Corrupt("names ", taken_, " of the ", items_, " live items");
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
