#include "tier/checkpoint.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "strata/status.h"
#include "tier/format.h"

namespace strata::internal {
namespace {

// Bytes of one item in the body, before its scores.
constexpr size_t kItemBytes = 4 * 4 + 8 + 8 + 4 * 4;
// More score columns than any schema declares (Schema allows far fewer).
constexpr uint32_t kMaxScoreColumns = 1 << 16;

// The version 2 tail: resume_items, the free list, the two selector states.
template <typename Corrupt>
absl::Status DecodeResume(ByteReader& in, uint32_t high_water, CheckpointData* d,
                          const Corrupt& corrupt) {
  d->resume_items = in.Get<uint64_t>();
  const uint32_t free_count = in.Get<uint32_t>();
  if (!in.ok()) return corrupt("checkpoint is truncated after its items");
  if (uint64_t{free_count} * 4 > in.remaining()) {
    return corrupt("checkpoint declares ", free_count, " free slots, more than its ",
                   in.remaining(), " bytes left hold");
  }
  d->free_slots.resize(free_count);
  in.GetBytes(d->free_slots.data(), 4 * size_t{free_count});
  for (std::string* state : {&d->sampler_state, &d->remover_state}) {
    const uint64_t length = in.Get<uint64_t>();
    if (!in.ok()) return corrupt("checkpoint is truncated in its selector states");
    if (length > in.remaining()) {
      return corrupt("checkpoint declares a selector state of ", length, " bytes, more than its ",
                     in.remaining(), " bytes left hold");
    }
    state->resize(length);
    in.GetBytes(state->data(), length);
  }
  if (!d->resumable()) return absl::OkStatus();  // stale (items dropped since): not used
  // The free list names every free slot exactly once.
  if (free_count != high_water - d->items.size()) {
    return corrupt("checkpoint's free list has ", free_count, " slots, its generation table ",
                   high_water - d->items.size(), " free ones");
  }
  std::vector<bool> seen(high_water);
  for (size_t k = 0; k < d->free_slots.size(); ++k) {
    const uint32_t slot = d->free_slots[k];
    auto bad = [&](auto&&... what) {
      return corrupt("checkpoint free list entry ", k, " (slot ", slot, "): ", what...);
    };
    if (slot >= high_water) return bad("slot out of range (", high_water, " slots)");
    if (d->generations[slot] & 1u) return bad("the slot is live");
    if (seen[slot]) return bad("the slot appears twice");
    seen[slot] = true;
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeCheckpoint(const CheckpointData& d) {
  std::string out;
  out.reserve(80 + 4 * d.generations.size() +
              d.items.size() * (kItemBytes + 4 * size_t{d.score_columns}) + 28 +
              4 * d.free_slots.size() + d.sampler_state.size() + d.remover_state.size());
  ByteWriter w(&out);
  w.Put<uint32_t>(d.version);
  w.Put<uint32_t>(static_cast<uint32_t>(d.generations.size()));
  w.Put<uint32_t>(d.score_columns);
  w.Put<uint64_t>(d.next_seq);
  w.Put<uint64_t>(d.arrivals);
  w.Put<double>(d.max_priority);
  for (uint64_t c : d.counters) w.Put<uint64_t>(c);
  w.Put<int64_t>(d.limiter_inserts);
  w.Put<int64_t>(d.limiter_samples);
  for (uint64_t x : d.rng) w.Put<uint64_t>(x);
  w.PutBytes(d.generations.data(), 4 * d.generations.size());
  w.Put<uint64_t>(d.items.size());
  const size_t ncols = d.score_columns;
  for (size_t k = 0; k < d.items.size(); ++k) {
    const CheckpointItem& it = d.items[k];
    w.Put<uint32_t>(it.slot);
    w.Put<uint32_t>(it.times_sampled);
    w.Put<int32_t>(it.group);
    w.Put<int32_t>(it.task);
    w.Put<double>(it.priority);
    w.Put<uint64_t>(it.seq);
    w.Put<uint32_t>(it.segment);
    w.Put<uint32_t>(it.offset);
    w.Put<uint32_t>(it.checksum);
    w.Put<uint32_t>(it.length);
    w.PutBytes(d.scores.data() + k * ncols, 4 * ncols);
  }
  if (d.version < 2) return out;
  w.Put<uint64_t>(d.resume_items);
  w.Put<uint32_t>(static_cast<uint32_t>(d.free_slots.size()));
  w.PutBytes(d.free_slots.data(), 4 * d.free_slots.size());
  for (const std::string* state : {&d.sampler_state, &d.remover_state}) {
    w.Put<uint64_t>(state->size());
    w.PutBytes(state->data(), state->size());
  }
  return out;
}

absl::StatusOr<CheckpointData> DecodeCheckpoint(std::string_view body, const std::string& path) {
  auto corrupt = [&](auto&&... what) {
    return absl::DataLossError(absl::StrCat(path, ": ", what...));
  };
  ByteReader in(body);
  const uint32_t version = in.Get<uint32_t>();
  if (!in.ok()) return corrupt("checkpoint body is empty");
  if (version < 1 || version > kCheckpointVersion) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": checkpoint body version ", version,
                                                      "; this build reads versions 1 to ",
                                                      kCheckpointVersion));
  }
  CheckpointData d;
  d.version = version;
  const uint32_t high_water = in.Get<uint32_t>();
  d.score_columns = in.Get<uint32_t>();
  d.next_seq = in.Get<uint64_t>();
  d.arrivals = in.Get<uint64_t>();
  d.max_priority = in.Get<double>();
  for (uint64_t& c : d.counters) c = in.Get<uint64_t>();
  d.limiter_inserts = in.Get<int64_t>();
  d.limiter_samples = in.Get<int64_t>();
  for (uint64_t& x : d.rng) x = in.Get<uint64_t>();
  if (!in.ok()) return corrupt("checkpoint header is truncated");
  if (d.score_columns > kMaxScoreColumns) {
    return corrupt("checkpoint declares ", d.score_columns, " score columns");
  }
  // Every count is checked against the bytes left before anything is sized by it.
  if (uint64_t{high_water} * 4 > in.remaining()) {
    return corrupt("checkpoint declares ", high_water, " slots, more than its ", body.size(),
                   " bytes hold");
  }
  d.generations.resize(high_water);
  in.GetBytes(d.generations.data(), 4 * size_t{high_water});
  const uint64_t count = in.Get<uint64_t>();
  if (!in.ok()) return corrupt("checkpoint is truncated in its generation table");
  const uint64_t per_item = kItemBytes + 4 * uint64_t{d.score_columns};
  if (count > in.remaining() / per_item || count > high_water) {
    return corrupt("checkpoint declares ", count, " items, more than its ", body.size(),
                   " bytes (or its ", high_water, " slots) hold");
  }
  uint64_t live = 0;
  for (uint32_t g : d.generations) live += g & 1u;
  if (live != count) {
    return corrupt("checkpoint's generation table has ", live, " live slots but it lists ", count,
                   " items");
  }
  d.items.resize(count);
  d.scores.resize(count * d.score_columns);
  for (uint64_t k = 0; k < count; ++k) {
    CheckpointItem& it = d.items[k];
    it.slot = in.Get<uint32_t>();
    it.times_sampled = in.Get<uint32_t>();
    it.group = in.Get<int32_t>();
    it.task = in.Get<int32_t>();
    it.priority = in.Get<double>();
    it.seq = in.Get<uint64_t>();
    it.segment = in.Get<uint32_t>();
    it.offset = in.Get<uint32_t>();
    it.checksum = in.Get<uint32_t>();
    it.length = in.Get<uint32_t>();
    in.GetBytes(d.scores.data() + k * d.score_columns, 4 * size_t{d.score_columns});
    auto bad = [&](auto&&... what) {
      return corrupt("checkpoint entry ", k, " (slot ", it.slot, "): ", what...);
    };
    if (it.slot >= high_water) return bad("slot out of range (", high_water, " slots)");
    if (k > 0 && it.slot <= d.items[k - 1].slot) {
      return it.slot == d.items[k - 1].slot ? bad("the slot appears twice")
                                            : bad("slots out of order");
    }
    if (!(d.generations[it.slot] & 1u)) {
      return bad("the slot is free in the generation table");
    }
    if (it.segment == 0xFFFFFFFFu || it.length == 0) return bad("no stored record");
    if (!std::isfinite(it.priority) || it.priority < 0) {
      return bad("priority ", it.priority, " is not finite and >= 0");
    }
    if (uint64_t{it.offset} + it.length > (uint64_t{1} << 32)) {
      return bad("record of ", it.length, " bytes at offset ", it.offset,
                 " passes the 4 GiB segment limit");
    }
  }
  if (!in.ok()) return corrupt("checkpoint is truncated in its items");
  if (version >= 2) RETURN_IF_ERROR(DecodeResume(in, high_water, &d, corrupt));
  if (in.remaining() != 0) {
    return corrupt("checkpoint has ", in.remaining(), " bytes after its end");
  }
  return d;
}

}  // namespace strata::internal
