// Fuzzes the checkpoint body reader (src/tier/checkpoint.h). Properties:
//   - a refusal is DataLoss or FailedPrecondition and names the path;
//   - nothing is allocated beyond what the body can hold (-malloc_limit_mb in scripts/fuzz);
//   - an accepted body is exactly what EncodeCheckpoint writes for what was decoded (every
//     byte is read and checked), and the decoded items obey what Restore relies on: slots
//     strictly ascending and below the slot count, each live in the generation table, and as
//     many live generations as items.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "tier/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::internal;
  const std::string_view body = strata::fuzz::AsChars(data, size);
  const std::string path = "/fuzz/meta-000001.ckpt";
  absl::StatusOr<CheckpointData> d = DecodeCheckpoint(body, path);
  if (!d.ok()) {
    FUZZ_CHECK(d.status().code() == absl::StatusCode::kDataLoss ||
               d.status().code() == absl::StatusCode::kFailedPrecondition);
    FUZZ_CHECK(d.status().message().find(path) != std::string_view::npos);
    return 0;
  }
  FUZZ_CHECK(EncodeCheckpoint(*d) == body);
  FUZZ_CHECK(d->scores.size() == d->items.size() * d->score_columns);
  uint64_t live = 0;
  for (uint32_t g : d->generations) live += g & 1u;
  FUZZ_CHECK(live == d->items.size());
  for (size_t k = 0; k < d->items.size(); ++k) {
    const CheckpointItem& it = d->items[k];
    FUZZ_CHECK(it.slot < d->generations.size());
    FUZZ_CHECK(k == 0 || it.slot > d->items[k - 1].slot);
    FUZZ_CHECK(d->generations[it.slot] & 1u);
    FUZZ_CHECK(it.length > 0 && it.segment != 0xFFFFFFFFu);
    FUZZ_CHECK(uint64_t{it.offset} + it.length <= (uint64_t{1} << 32));
  }
  return 0;
}
