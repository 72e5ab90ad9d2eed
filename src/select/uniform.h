// UniformSelector: every live item is equally likely; as a remover, random eviction.
#ifndef STRATA_SELECT_UNIFORM_H_
#define STRATA_SELECT_UNIFORM_H_

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

// Samples live items uniformly (P = 1/N per draw) and picks victims uniformly at random.
//
// Layout: a dense array of the live slots plus a slot -> position map, so insert, remove and each
// draw are O(1); a sample of n without replacement is a partial Fisher-Yates shuffle of the dense
// array (O(n), no scratch). Memory: 8 bytes per slot of capacity (4 dense + 4 position), all
// allocated up front, so no call allocates.
//
// Thread-safety: externally synchronized (the owning table's mutex).
class UniformSelector final : public Selector {
 public:
  explicit UniformSelector(size_t capacity);

  std::string_view name() const override { return "uniform"; }
  bool needs_updates() const override { return false; }
  void Insert(const SelectorItem& item) override;
  void Update(const SelectorItem& item) override;
  void Remove(Slot slot) override;
  void Clear() override;
  size_t size() const override { return dense_.size(); }

  void Sample(Rng& rng, size_t n, bool replacement, Slot* slots, double* probabilities) override;
  Slot Victim(Rng& rng) override;
  // The state is the dense array: its order decides which item a draw picks.
  void SaveState(std::string* out) const override;
  absl::Status LoadState(std::string_view state, absl::Span<const SelectorItem> items) override;
  absl::Status CheckInvariants(absl::Span<const Slot> live) const override;

 private:
  void SwapPositions(uint32_t i, uint32_t j);

  std::vector<Slot> dense_;         // the live slots, in no particular order
  std::vector<uint32_t> position_;  // slot -> index in dense_, kNoSlot when not held
};

}  // namespace strata::internal

#endif  // STRATA_SELECT_UNIFORM_H_
