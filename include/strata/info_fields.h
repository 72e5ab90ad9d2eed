// The fields of a table's stats as users read them — Python's Table.stats() (TableStats,
// TierStats, RateLimiterStats), and the CLI and service to come: one table per struct, the only
// place besides the struct itself where a field is written down, with its one-line help. The
// structs in table.h and rate_limiter.h stay the readable contract; these tables say how each
// field is named, described and kept. A field added to a struct and not to its table fails the
// static_asserts at the end of this file.
//
//   InfoFields<TableInfo>           name, schema, ..., closed, rate_limiter, tier
//   InfoFields<RateLimiterInfo>     options (read as the limiter's own fields), inserts, ...
//   InfoFields<RateLimiterOptions>  samples_per_insert, min_size_to_sample, min_diff, max_diff
//   InfoFields<TierInfo>            enabled, dram_items, ..., groups
//
// Each entry: {name, member, help, checkpointed}. `member` points to the field, typed (one of
// the InfoMember alternatives); readers std::visit it. Entries are in the order users see them;
// a new field goes last. A nested struct (rate_limiter, tier) reads as its own table; a
// RateLimiterOptions reads as the fields of the struct holding it; TierInfo::groups reads as a
// per-group mapping {group: (dram_items, items)}.
#ifndef STRATA_INFO_FIELDS_H_
#define STRATA_INFO_FIELDS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "strata/rate_limiter.h"
#include "strata/table.h"

namespace strata {

// A pointer to a member of S of one of the types the stats structs use.
template <typename S>
using InfoMember = std::variant<bool S::*, uint32_t S::*, int64_t S::*, uint64_t S::*, double S::*,
                                std::string S::*, RateLimiterOptions S::*, RateLimiterInfo S::*,
                                TierInfo S::*, std::vector<TierInfo::Group> S::*>;

// Marks a counter the storage checkpoint keeps across a reopen (docs/format.md, "Checkpoint":
// the checkpointed TableInfo counters, in this table's order, are the body's counters).
inline constexpr bool kCheckpointed = true;

template <typename S>
struct InfoField {
  std::string_view name;  // as users read it (the Python stats field)
  InfoMember<S> member;
  std::string_view help;  // one line
  bool checkpointed = false;
};

// InfoFields<S>::kAll lists every field of S.
template <typename S>
struct InfoFields;

template <>
struct InfoFields<TableInfo> {
  using T = TableInfo;
  static constexpr std::array<InfoField<T>, 20> kAll = {{
      {"name", &T::name, "the table's name"},
      {"schema", &T::schema, "the schema, as text"},
      {"sampler", &T::sampler, "the sampler's name"},
      {"remover", &T::remover, "the remover's name (\"none\" without one)"},
      {"size", &T::size, "live items"},
      {"bytes", &T::bytes, "payload bytes of live items"},
      {"capacity", &T::max_items, "the most items the table holds (max_items)"},
      {"max_bytes", &T::max_bytes, "the most payload bytes it holds (0: no byte limit)"},
      {"inserted", &T::inserted, "items inserted", kCheckpointed},
      {"dropped", &T::dropped, "items refused by the reservoir insertion policy", kCheckpointed},
      {"sampled", &T::sampled, "items returned by sampling", kCheckpointed},
      {"evicted", &T::evicted, "items removed by the remover to make room", kCheckpointed},
      {"expired", &T::expired, "items removed after max_times_sampled", kCheckpointed},
      {"deleted", &T::deleted, "items removed by delete", kCheckpointed},
      {"priority_updates", &T::priority_updates, "priority updates applied", kCheckpointed},
      {"score_updates", &T::score_updates, "score updates applied", kCheckpointed},
      {"missing_keys", &T::missing_keys, "stale or unknown keys seen by get, delete, update_*",
       kCheckpointed},
      {"closed", &T::closed, "whether the table is closed"},
      {"rate_limiter", &T::rate_limiter, "the rate limiter's options and counters"},
      {"tier", &T::tier, "the SSD tier's state and counters"},
  }};
};

template <>
struct InfoFields<RateLimiterOptions> {
  using T = RateLimiterOptions;
  static constexpr std::array<InfoField<T>, 4> kAll = {{
      {"samples_per_insert", &T::samples_per_insert, "samples each insert pays for on average"},
      {"min_size_to_sample", &T::min_size_to_sample, "items the table holds before sampling"},
      {"min_diff", &T::min_diff, "a sample waits while it would take diff below this"},
      {"max_diff", &T::max_diff, "an insert waits while it would take diff above this"},
  }};
};

template <>
struct InfoFields<RateLimiterInfo> {
  using T = RateLimiterInfo;
  static constexpr std::array<InfoField<T>, 10> kAll = {{
      {"options", &T::options, "the limiter's options"},
      {"inserts", &T::inserts, "items admitted for insertion over the table's life"},
      {"samples", &T::samples, "items admitted for sampling (returned credits subtracted)"},
      {"diff", &T::diff, "inserts * samples_per_insert - samples"},
      {"waiting_inserts", &T::waiting_inserts, "insert calls blocked right now"},
      {"waiting_samples", &T::waiting_samples, "sample calls blocked right now"},
      {"insert_waits", &T::insert_waits, "insert calls that had to wait at least once"},
      {"sample_waits", &T::sample_waits, "sample calls that had to wait at least once"},
      {"insert_wait_seconds", &T::insert_wait_seconds, "total time insert calls spent blocked"},
      {"sample_wait_seconds", &T::sample_wait_seconds, "total time sample calls spent blocked"},
  }};
};

// In the order the tier's stats have always been listed (not the struct's).
template <>
struct InfoFields<TierInfo> {
  using T = TierInfo;
  static constexpr std::array<InfoField<T>, 45> kAll = {{
      {"enabled", &T::enabled, "whether the table has storage (else every counter is 0)"},
      {"dram_items", &T::dram_items, "items with a DRAM copy"},
      {"dram_bytes", &T::dram_bytes, "their payload bytes (<= dram_budget_bytes)"},
      {"stored_items", &T::stored_items, "items whose record is written to storage"},
      {"stored_bytes", &T::stored_bytes, "their record bytes"},
      {"disk_bytes", &T::disk_bytes, "segment files, including garbage of removed items"},
      {"pending_writes", &T::pending_writes, "items and tombstones queued for the writer"},
      {"dram_hits", &T::dram_hits, "items sample/get served from DRAM"},
      {"dram_misses", &T::dram_misses, "items sample/get read from storage"},
      {"dram_hit_rate", &T::dram_hit_rate, "hits / (hits + misses)"},
      {"reads_issued", &T::reads_issued, "storage reads submitted"},
      {"reads_completed", &T::reads_completed, "storage reads finished"},
      {"read_bytes", &T::read_bytes, "bytes read from storage"},
      {"reads_in_flight", &T::reads_in_flight, "storage reads queued now (queue depth)"},
      {"max_reads_in_flight", &T::max_reads_in_flight, "the deepest the read queue has been"},
      {"read_p50_us", &T::read_p50_us, "median read latency, microseconds"},
      {"read_p99_us", &T::read_p99_us, "99th percentile read latency, microseconds"},
      {"writes_issued", &T::writes_issued, "segment appends (one per write group)"},
      {"records_written", &T::records_written, "item records and tombstones"},
      {"bytes_written", &T::bytes_written, "bytes appended to segments"},
      {"syncs", &T::syncs, "segment syncs"},
      {"demotions", &T::demotions, "DRAM copies dropped to make room"},
      {"promotions", &T::promotions, "stored items given a DRAM copy (placement, warm-up)"},
      {"swaps", &T::swaps, "tier_sampling=\"resident\": items swapped in"},
      {"swaps_skipped", &T::swaps_skipped, "swaps dropped because the swapper was behind"},
      {"swap_bytes", &T::swap_bytes, "record bytes read by swaps and promotions"},
      {"segments", &T::segments, "segment files holding live records"},
      {"segments_compacted", &T::segments_compacted, "segments rewritten or deleted by compaction"},
      {"compaction_bytes_moved", &T::compaction_bytes_moved,
       "live record bytes copied by compaction"},
      {"compaction_bytes_freed", &T::compaction_bytes_freed, "data bytes of deleted segments"},
      {"compaction_progress", &T::compaction_progress,
       "of the segment being compacted now (0..1; 0 when idle)"},
      {"corrupt_items", &T::corrupt_items,
       "records lost to a checksum mismatch or a truncated file (removed)"},
      {"recovered_items", &T::recovered_items, "items restored when the table was opened"},
      {"bad_index_entries", &T::bad_index_entries,
       "torn or corrupt index entries skipped when opened"},
      {"reader", &T::reader, "\"io_uring\", or the fallback in use (\"threads ...\")"},
      {"storage_error", &T::storage_error, "the last write error; empty once writes succeed again"},
      {"swaps_requested", &T::swaps_requested,
       "victims chosen for swapping (swapped, skipped or not replaceable)"},
      {"swap_ratio", &T::swap_ratio, "live swap ratio (set_swap)"},
      {"swap_interval", &T::swap_interval, "live swap interval (set_swap; 0 without storage)"},
      {"dram_budget_bytes", &T::dram_budget_bytes, "live DRAM budget (resize)"},
      {"read_latency_total_us", &T::read_latency_total_us,
       "sum over completed reads (a window's mean: its deltas)"},
      {"groups", &T::groups, "placement=\"group_balanced\": {group: (dram_items, items)}"},
      {"checkpoints", &T::checkpoints, "checkpoints written since the table was opened"},
      {"checkpoint_ms", &T::checkpoint_ms,
       "the last checkpoint's duration, milliseconds (copy, encode, write, sync)"},
      {"checkpoint_max_lock_us", &T::checkpoint_max_lock_us,
       "the longest the last checkpoint held the table lock at once, microseconds"},
  }};
};

namespace internal {

// Converts to any type: S{AnyField{}, ...} compiles with at most as many as S has members.
struct AnyField {
  template <typename M>
  operator M() const;  // declared only: used in unevaluated operands
};

// The number of members of the aggregate S.
template <typename S, typename... Fields>
constexpr size_t FieldCount() {
  if constexpr (requires { S{Fields{}..., AnyField{}}; }) {
    return FieldCount<S, Fields..., AnyField>();
  } else {
    return sizeof...(Fields);
  }
}

// Whether kAll names every member of S once: as many entries as members, no member twice.
template <typename S>
constexpr bool CoversEveryField() {
  constexpr auto& all = InfoFields<S>::kAll;
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      if (all[i].member == all[j].member || all[i].name == all[j].name) return false;
    }
  }
  return all.size() == FieldCount<S>();
}

}  // namespace internal

static_assert(internal::CoversEveryField<TableInfo>(),
              "InfoFields<TableInfo> must list every TableInfo field once");
static_assert(internal::CoversEveryField<RateLimiterInfo>(),
              "InfoFields<RateLimiterInfo> must list every RateLimiterInfo field once");
static_assert(internal::CoversEveryField<RateLimiterOptions>(),
              "InfoFields<RateLimiterOptions> must list every RateLimiterOptions field once");
static_assert(internal::CoversEveryField<TierInfo>(),
              "InfoFields<TierInfo> must list every TierInfo field once");
static_assert(internal::FieldCount<TierInfo::Group>() == 3,
              "TierInfo::Group reads as {group: (dram_items, items)}: give a new field a place");

}  // namespace strata

#endif  // STRATA_INFO_FIELDS_H_
