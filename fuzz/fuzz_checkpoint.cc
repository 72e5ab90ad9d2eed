// Fuzzes the checkpoint body reader (src/tier/checkpoint.h) and the selectors' state loaders
// behind it (Selector::LoadState, src/select/). Properties:
//   - a refusal is DataLoss or FailedPrecondition and names the path;
//   - nothing is allocated beyond what the body can hold (-malloc_limit_mb in scripts/fuzz);
//   - an accepted body is exactly what EncodeCheckpoint writes for what was decoded (every
//     byte is read and checked), and the decoded items obey what Restore relies on: slots
//     strictly ascending and below the slot count, each live in the generation table, and as
//     many live generations as items; a resumable body's free list names every free slot once;
//   - each selector state of a resumable body, loaded into every strategy over the body's items
//     as Restore does: refused with DataLoss or FailedPrecondition (the selector left empty), or
//     accepted with the selector's invariants holding over exactly those items and SaveState
//     giving back the same bytes, or a state in its other form (listed or implicit) that loads
//     over the same items and is then given back byte for byte.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "select/selector.h"
#include "strata/selector.h"
#include "tier/checkpoint.h"

namespace {

using namespace strata;
using namespace strata::internal;

// Loads `state` into every strategy over the items of `d`, as Restore does, and checks the result.
void FuzzStates(const CheckpointData& d, const std::string& state) {
  const std::vector<std::string> columns = {"score"};
  const SelectorOptions kinds[] = {Uniform(),
                                   Prioritized(),
                                   Fifo(),
                                   Lifo(),
                                   MinHeap(),
                                   MaxHeap(),
                                   GroupBalanced(),
                                   GroupBalanced(VictimOrder::kRandom),
                                   GroupBalanced(VictimOrder::kLowestScore, "score")};
  std::vector<SelectorItem> items;
  std::vector<Slot> live;
  for (size_t k = 0; k < d.items.size(); ++k) {
    const CheckpointItem& it = d.items[k];
    items.push_back({.slot = it.slot,
                     .priority = it.priority,
                     .group = it.group,
                     .seq = it.seq,
                     .score = d.score_columns > 0 ? d.scores[k * d.score_columns] : 0.0});
    live.push_back(it.slot);
  }
  const size_t capacity = std::max<size_t>(d.generations.size(), 1);
  for (const SelectorOptions& options : kinds) {
    auto selector = MakeSelector(options, capacity, columns);
    FUZZ_CHECK(selector.ok());
    const absl::Status s = (*selector)->LoadState(state, items);
    if (!s.ok()) {
      FUZZ_CHECK(s.code() == absl::StatusCode::kDataLoss ||
                 s.code() == absl::StatusCode::kFailedPrecondition);
      FUZZ_CHECK((*selector)->size() == 0);
      FUZZ_CHECK((*selector)->CheckInvariants({}).ok());
      continue;
    }
    FUZZ_CHECK((*selector)->CheckInvariants(live).ok());
    std::string saved;
    (*selector)->SaveState(&saved);
    if (saved == state) continue;
    // A state may come back in another form (a listed order the selector can state implicitly,
    // or the other way round): that form loads over the same items and is then kept exactly.
    auto again = MakeSelector(options, capacity, columns);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK((*again)->LoadState(saved, items).ok());
    FUZZ_CHECK((*again)->size() == (*selector)->size());
    std::string resaved;
    (*again)->SaveState(&resaved);
    FUZZ_CHECK(resaved == saved);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
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
  if (!d->resumable()) return 0;
  FUZZ_CHECK(d->free_slots.size() + d->items.size() == d->generations.size());
  std::vector<bool> seen(d->generations.size());
  for (uint32_t slot : d->free_slots) {
    FUZZ_CHECK(slot < d->generations.size() && !(d->generations[slot] & 1u) && !seen[slot]);
    seen[slot] = true;
  }
  FuzzStates(*d, d->sampler_state);
  FuzzStates(*d, d->remover_state);
  return 0;
}
