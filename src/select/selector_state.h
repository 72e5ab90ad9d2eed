// What every Selector::SaveState / LoadState shares (selector.h): the state's framing, a reader
// that refuses what its bytes cannot hold, and the check that a state names exactly the items it
// is loaded over.
//
// A state is
//
//   u8 tag length, tag bytes   the strategy, and any option that changes the layout
//                              ("uniform", "lifo", "group_balanced/oldest", ...)
//   payload                    the strategy's own (described in its .cc), little-endian
//
// A slot list (PutSlots) is a u32 count and the slots; or, when a selector's order is one it can
// state without listing it — the items themselves by slot, or by insertion sequence — the
// implicit form: u32 0xFFFFFFFF, then u32 count (PutImplicitSlots). Saving it costs nothing
// however many items are held, which keeps a checkpoint's last critical section short.
//
// A tag other than the loading selector's is not corruption: the state was saved by a table
// configured differently, and the loader says so (FailedPrecondition) so that the caller rebuilds.
//
// Thread-safety: plain values, externally synchronized.
#ifndef STRATA_SELECT_SELECTOR_STATE_H_
#define STRATA_SELECT_SELECTOR_STATE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "select/selector.h"
#include "strata/status.h"

namespace strata::internal {

// The order of the items an implicit slot list stands for.
enum class ImplicitOrder {
  kNone,    // the selector never writes one: reading one is corruption
  kBySlot,  // the items as given (ascending slot)
  kBySeq,   // the items by insertion sequence (then slot)
};
inline constexpr uint32_t kImplicitSlots = 0xFFFFFFFFu;

// Appends to a state.
class StateWriter {
 public:
  // Starts a state for `tag` (at most 255 bytes) at the end of *out.
  StateWriter(std::string* out, std::string_view tag);

  template <typename T>
  void Put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_->append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  // A u32 count, then the slots.
  void PutSlots(absl::Span<const Slot> slots);
  // An implicit slot list of `count` items (see the file comment).
  void PutImplicitSlots(uint32_t count) {
    Put<uint32_t>(kImplicitSlots);
    Put<uint32_t>(count);
  }
  // A u32 `count`, then `count` slots, each the next one next() returns (called exactly `count`
  // times). One allocation for all of them: a state is saved under the table lock.
  template <typename Next>
  void PutSlots(uint32_t count, Next next) {
    Put<uint32_t>(count);
    const size_t at = out_->size();
    out_->resize(at + size_t{count} * sizeof(Slot));
    char* p = out_->data() + at;
    for (uint32_t i = 0; i < count; ++i, p += sizeof(Slot)) {
      const Slot slot = next();
      std::memcpy(p, &slot, sizeof(Slot));
    }
  }

 private:
  std::string* out_;
};

// Reads a state. Every error is DataLoss prefixed "<selector> state: ", except a different tag.
class StateReader {
 public:
  StateReader(std::string_view state, std::string_view selector)
      : data_(state), selector_(selector) {}

  // OK when the state begins with `tag`; FailedPrecondition naming both tags when it begins with
  // another one; DataLoss when it has no tag at all.
  absl::Status ExpectTag(std::string_view tag);

  // A u32 count of entries of `entry_bytes` bytes each (> 0), naming `what` in errors: DataLoss
  // when the bytes left cannot hold that many, or when it is above `max`.
  absl::StatusOr<uint32_t> Count(std::string_view what, size_t entry_bytes, uint64_t max);

  // The next u32 without consuming it (0 past the end).
  uint32_t PeekU32() const {
    uint32_t v = 0;
    if (sizeof(v) <= data_.size() - pos_) std::memcpy(&v, data_.data() + pos_, sizeof(v));
    return v;
  }

  // A value; past the end it yields 0 and makes Finish fail. Reads covered by a Count never fail.
  template <typename T>
  T Get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T v{};
    if (sizeof(T) > data_.size() - pos_) {
      overrun_ = true;
      return v;
    }
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  // DataLoss when a read ran past the end or bytes are left over.
  absl::Status Finish() const;

  // DataLoss "<selector> state: <what...>".
  template <typename... Args>
  absl::Status Corrupt(const Args&... what) const {
    return absl::DataLossError(absl::StrCat(selector_, " state: ", what...));
  }

 private:
  std::string_view data_;
  std::string selector_;  // a std::string: absl::StrCat takes no std::string_view here
  size_t pos_ = 0;
  bool overrun_ = false;
};

// The items a state is loaded over, and which of them it has named so far.
class SlotTracker {
 public:
  // `items` must be in strictly ascending slot order below `capacity` (InvalidArgument from Init
  // otherwise: the caller broke LoadState's contract). Allocates 4 bytes per slot of capacity.
  absl::Status Init(absl::Span<const SelectorItem> items, size_t capacity,
                    std::string_view selector);

  // The index in `items` of the item in `slot`, which the state names now; DataLoss (through
  // `reader`) when the slot is out of range, not one of the items, or named before.
  absl::StatusOr<uint32_t> Take(Slot slot, const StateReader& reader);

  // DataLoss (through `reader`) unless every item has been named.
  absl::Status CheckAllTaken(const StateReader& reader) const;

 private:
  static constexpr uint32_t kAbsent = ~uint32_t{0};
  static constexpr uint32_t kTaken = kAbsent - 1;

  std::vector<uint32_t> index_;  // slot -> index in items, kAbsent, or kTaken once named
  size_t items_ = 0;
  size_t taken_ = 0;
};

// The positions in `items` in `order` (kBySlot: as given; kBySeq: by seq, then slot).
std::vector<uint32_t> ImplicitItemOrder(absl::Span<const SelectorItem> items, ImplicitOrder order);

// Loads a state whose payload is one slot list (StateWriter::PutSlots, or PutImplicitSlots when
// `implicit` is not kNone) tagged `selector`, over `items` (LoadState's argument; `capacity`:
// the selector's): calls take(i, item, reader) for the i-th slot named, in the saved order — an
// error it returns ends the load — then checks that every item was named and nothing is left
// over. The caller clears itself on an error.
template <typename Take>
absl::Status LoadSlotList(std::string_view state, std::string_view selector,
                          absl::Span<const SelectorItem> items, size_t capacity,
                          ImplicitOrder implicit, Take take) {
  StateReader in(state, selector);
  SlotTracker tracker;
  RETURN_IF_ERROR(in.ExpectTag(selector));
  RETURN_IF_ERROR(tracker.Init(items, capacity, selector));
  if (in.PeekU32() == kImplicitSlots) {
    if (implicit == ImplicitOrder::kNone) {
      return in.Corrupt("an implicit slot list, which this selector never writes");
    }
    in.Get<uint32_t>();
    const uint32_t n = in.Get<uint32_t>();
    RETURN_IF_ERROR(in.Finish());
    if (n != items.size()) {
      return in.Corrupt("an implicit slot list of ", n, " items, loaded over ", items.size());
    }
    const std::vector<uint32_t> order = ImplicitItemOrder(items, implicit);
    for (uint32_t i = 0; i < n; ++i) RETURN_IF_ERROR(take(i, items[order[i]], in));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const uint32_t n, in.Count("slots", sizeof(Slot), items.size()));
  for (uint32_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(const uint32_t k, tracker.Take(in.Get<Slot>(), in));
    RETURN_IF_ERROR(take(i, items[k], in));
  }
  RETURN_IF_ERROR(tracker.CheckAllTaken(in));
  return in.Finish();
}

}  // namespace strata::internal

#endif  // STRATA_SELECT_SELECTOR_STATE_H_
