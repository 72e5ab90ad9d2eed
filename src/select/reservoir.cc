#include "select/reservoir.h"

#include <cassert>

namespace strata::internal {

bool ReservoirPolicy::Admit(uint64_t arrivals, size_t capacity, Rng& rng) {
  assert(arrivals >= 1);
  if (arrivals <= capacity) return true;
  // Exact integer test rather than Uniform01() < capacity / k: no rounding bias at large k.
  return rng.UniformInt(arrivals) < capacity;
}

}  // namespace strata::internal
