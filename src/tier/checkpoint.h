// The checkpoint body (docs/format.md, "Checkpoint"): a table's metadata at one instant, as
// plain data. Pure encoding and decoding, no I/O and no locks: the table copies its metadata into
// a CheckpointData under its lock and the encoding runs outside it; recovery and repair decode
// one and check every entry before anything uses it.
#ifndef STRATA_TIER_CHECKPOINT_H_
#define STRATA_TIER_CHECKPOINT_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::internal {

// Version 2 adds the free list and the selectors' states; version 1 bodies are still read.
inline constexpr uint32_t kCheckpointVersion = 2;

// One stored, live item.
struct CheckpointItem {
  uint32_t slot = 0;
  uint32_t times_sampled = 0;
  int32_t group = 0;
  int32_t task = 0;
  double priority = 0;
  uint64_t seq = 0;
  uint32_t segment = 0;
  uint32_t offset = 0;
  uint32_t checksum = 0;
  uint32_t length = 0;  // record bytes
};

struct CheckpointData {
  // The body's layout: EncodeCheckpoint writes this version (1 leaves out everything from
  // `resume_items` on), DecodeCheckpoint reports the one it read.
  uint32_t version = kCheckpointVersion;
  // The order of the counters in the body.
  enum Counter {
    kInserted,
    kDropped,
    kSampled,
    kEvicted,
    kExpired,
    kDeleted,
    kPriorityUpdates,
    kScoreUpdates,
    kMissingKeys,
    kNumCounters
  };
  uint32_t score_columns = 0;
  uint64_t next_seq = 0;
  uint64_t arrivals = 0;
  double max_priority = 1.0;
  std::array<uint64_t, kNumCounters> counters{};
  int64_t limiter_inserts = 0;
  int64_t limiter_samples = 0;
  std::array<uint64_t, 4> rng{};
  // Per slot ever used (high water = size()): its generation. Odd exactly for the slots in
  // `items` (a slot whose record was not written yet is recorded as free).
  std::vector<uint32_t> generations;
  std::vector<CheckpointItem> items;  // in ascending slot order
  std::vector<float> scores;          // items.size() x score_columns, item by item

  // Version 2: what a reopened table needs to continue exactly as the one that wrote the body.
  // `resume_items` is items.size() when the table wrote it; a tool that drops items afterwards
  // (Table::Repair) leaves the rest as it was, and the mismatch makes readers ignore it.
  uint64_t resume_items = 0;
  std::vector<uint32_t> free_slots;  // the free list in reuse order: every free slot, once
  std::string sampler_state;         // Selector::SaveState; empty: not saved (rebuild)
  std::string remover_state;

  // Whether the free list and states describe exactly these items (checked by the decoder).
  bool resumable() const { return version >= 2 && resume_items == items.size(); }
};

std::string EncodeCheckpoint(const CheckpointData& d);

// Decodes and checks a body. Errors name `path` and, for a bad item, its entry number and slot:
//   FailedPrecondition  an unknown body version;
//   DataLoss            truncated, trailing bytes, counts that the body cannot hold (checked
//                       before anything is allocated), slots out of range, out of order or
//                       repeated, an item whose slot is free in the generation table (or a live
//                       generation with no item), an unwritten location or an empty record, a
//                       priority that is not finite and >= 0; when resumable(), a free list that
//                       is not exactly the free slots. The selectors' states are only framed
//                       here (lengths checked); Selector::LoadState checks their contents.
absl::StatusOr<CheckpointData> DecodeCheckpoint(std::string_view body, const std::string& path);

}  // namespace strata::internal

#endif  // STRATA_TIER_CHECKPOINT_H_
