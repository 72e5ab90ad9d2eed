// ReservoirPolicy: the admission test of InsertionPolicy::kReservoir (Vitter's algorithm R).
#ifndef STRATA_SELECT_RESERVOIR_H_
#define STRATA_SELECT_RESERVOIR_H_

#include <cstddef>
#include <cstdint>

#include "util/random.h"

namespace strata::internal {

// Decides whether an arriving item enters the table. With a uniform remover choosing the item it
// replaces, every item of the stream so far is held with the same probability capacity / k; with
// other removers only the admission rate keeps that form.
//
// Stateless; the caller counts arrivals and owns the Rng (thread-safety is the caller's: the table
// calls it under its mutex).
class ReservoirPolicy {
 public:
  // `arrivals` is k >= 1, the 1-based index of the arriving item in the stream (dropped items
  // count). Returns true for the first `capacity` arrivals, then with probability capacity / k.
  // Draws from `rng` only when k > capacity.
  static bool Admit(uint64_t arrivals, size_t capacity, Rng& rng);
};

}  // namespace strata::internal

#endif  // STRATA_SELECT_RESERVOIR_H_
