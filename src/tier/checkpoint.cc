#include "tier/checkpoint.h"

#include "absl/strings/str_cat.h"
#include "tier/format.h"

namespace strata::internal {
namespace {

// Bytes of one item in the body, before its scores.
constexpr size_t kItemBytes = 4 * 4 + 8 + 8 + 4 * 4;
// More score columns than any schema declares (Schema allows far fewer).
constexpr uint32_t kMaxScoreColumns = 1 << 16;

}  // namespace

std::string EncodeCheckpoint(const CheckpointData& d) {
  std::string out;
  out.reserve(80 + 4 * d.generations.size() +
              d.items.size() * (kItemBytes + 4 * size_t{d.score_columns}));
  ByteWriter w(&out);
  w.Put<uint32_t>(kCheckpointVersion);
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
  return out;
}

absl::StatusOr<CheckpointData> DecodeCheckpoint(std::string_view body, const std::string& path) {
  auto corrupt = [&](auto&&... what) {
    return absl::DataLossError(absl::StrCat(path, ": ", what...));
  };
  ByteReader in(body);
  const uint32_t version = in.Get<uint32_t>();
  if (!in.ok()) return corrupt("checkpoint body is empty");
  if (version != kCheckpointVersion) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": checkpoint body version ", version,
                                                      "; this build reads version ",
                                                      kCheckpointVersion));
  }
  CheckpointData d;
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
    if (uint64_t{it.offset} + it.length > (uint64_t{1} << 32)) {
      return bad("record of ", it.length, " bytes at offset ", it.offset,
                 " passes the 4 GiB segment limit");
    }
  }
  if (!in.ok()) return corrupt("checkpoint is truncated in its items");
  if (in.remaining() != 0) {
    return corrupt("checkpoint has ", in.remaining(), " bytes after its last item");
  }
  return d;
}

}  // namespace strata::internal
