// TableOptions: everything that defines a table at creation.
#ifndef STRATA_OPTIONS_H_
#define STRATA_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "strata/rate_limiter.h"
#include "strata/schema.h"
#include "strata/selector.h"

namespace strata {

struct TableOptions {
  std::string name = "table";  // used in error messages and stats
  Schema schema;               // required

  // Capacity in items (>= 1, < 2^32 - 1). Selector and metadata arrays are sized for it up front
  // (about 40-60 bytes per item); payload memory is committed only as items arrive.
  uint64_t max_items = 1'000'000;
  // Capacity in payload bytes (fixed + variable fields); 0 means no byte limit.
  uint64_t max_bytes = 0;

  SelectorOptions sampler = Uniform();  // which item Sample hands out
  // Which item is evicted to make room; std::nullopt makes a full table reject inserts with
  // ResourceExhausted instead.
  std::optional<SelectorOptions> remover = Fifo();
  InsertionPolicy insertion = InsertionPolicy::kAlways;
  RateLimiterOptions rate_limiter = MinSize(1);

  // Remove an item once it has been sampled this many times (queue semantics); 0 = never.
  uint32_t max_times_sampled = 0;

  // Seeds the table's random generator: a single-threaded sequence of calls on a table with the
  // same seed returns identical results, run after run.
  uint64_t seed = 0x5eed;
};

}  // namespace strata

#endif  // STRATA_OPTIONS_H_
