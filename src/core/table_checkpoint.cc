// TableImpl: checkpoints (docs/design.md, "Checkpointer"; docs/format.md, "Checkpoint"). The slot
// metadata is copied in bounded chunks under the table lock (core/slot_snapshot.h), encoded and
// written outside it.
#include <algorithm>
#include <array>
#include <thread>
#include <variant>

#include "core/slot_snapshot.h"
#include "core/table_impl.h"
#include "strata/info_fields.h"
#include "strata/status.h"
#include "tier/checkpoint.h"

namespace strata::internal {

// The table counters a checkpoint carries: those InfoFields<TableInfo> marks checkpointed, in its
// order, which is CheckpointData::Counter order (the body's, fixed by the files written).
std::array<uint64_t*, CheckpointData::kNumCounters> TableImpl::CheckpointCounters() {
  using Counter = uint64_t TableInfo::*;
  using Counters = std::array<Counter, CheckpointData::kNumCounters>;
  static constexpr Counters kKept = [] {
    Counters kept{};
    size_t n = 0;
    for (const InfoField<TableInfo>& f : InfoFields<TableInfo>::kAll) {
      // at() and get() throw, which fails the build, for one counter too many or one that is
      // not a uint64_t.
      if (f.checkpointed) kept.at(n++) = std::get<Counter>(f.member);
    }
    return kept;
  }();
  static_assert(kKept == Counters{&TableInfo::inserted, &TableInfo::dropped, &TableInfo::sampled,
                                  &TableInfo::evicted, &TableInfo::expired, &TableInfo::deleted,
                                  &TableInfo::priority_updates, &TableInfo::score_updates,
                                  &TableInfo::missing_keys},
                "checkpoint files hold exactly these counters, in this order (docs/format.md)");
  std::array<uint64_t*, CheckpointData::kNumCounters> out;
  for (size_t i = 0; i < out.size(); ++i) out[i] = &(counters_.*kKept[i]);
  return out;
}

void TableImpl::SnapshotScalars(CheckpointData* d) {
  d->next_seq = next_seq_;
  d->arrivals = arrivals_;
  d->max_priority = max_priority_;
  const auto counters = CheckpointCounters();
  for (size_t i = 0; i < counters.size(); ++i) d->counters[i] = *counters[i];
  limiter_->mu()->AssertHeld();
  const RateLimiterInfo li = limiter_->info();
  d->limiter_inserts = li.inserts;
  d->limiter_samples = li.samples;
  rng_.GetState(d->rng.data());
  // The selectors' states (copies of their arrays), only when they hold exactly the items
  // restored: not with unwritten items (those come back free; Restore then rebuilds), and not
  // the sampler of resident sampling, which holds only items with a DRAM copy and starts empty
  // after an open, when every item is on storage only.
  if (stored_items_ == index_.size()) {
    if (!resident_sampling_) sampler_->SaveState(&d->sampler_state);
    if (remover_ != nullptr) remover_->SaveState(&d->remover_state);
  }
}

absl::Status TableImpl::Checkpoint() {
  if (!tiered_ || !storage_open_) return absl::OkStatus();
  MutexLock w(&writer_mu_);
  if (options_.durability == Durability::kNone) {
    // Nothing survives a close in this mode: just write what is queued.
    bool failed = false;
    while (WriteGroup(&failed)) {
    }
    MutexLock lock(&mu_);
    return writes_.error();
  }
  return CheckpointLocked();
}

absl::Status TableImpl::CheckpointLocked() {
  bool failed = false;
  while (WriteGroup(&failed)) {
  }
  {
    MutexLock lock(&mu_);
    if (!writes_.error().ok()) return writes_.error();
  }
  // Everything written so far is in segments below `first`; what comes later lands in `first` or
  // above and is replayed on top of the checkpoint.
  ASSIGN_OR_RETURN(const uint32_t first, segments_->Roll());
  const absl::Time start = absl::Now();
  absl::Duration longest_hold;  // the longest critical section below
  CheckpointData d;
  Slot free_head = kNoSlot;
  SlotSnapshot slots(options_.schema.score_columns().size());
  Slot used;
  {
    MutexLock lock(&mu_);
    index_.Track();
    used = index_.high_water();
  }
  slots.Prepare(used);  // the copy's memory, allocated and touched without the lock
  // The slots, a chunk per critical section (the writer, which alone moves stored records
  // otherwise, is stopped: writer_mu_ is held). The last section copies what is left and what
  // changed meanwhile, and takes everything else, so that the copy is the table at that instant.
  for (bool last = false; !last;) {
    {
      MutexLock lock(&mu_);
      const absl::Time held = absl::Now();
      last = slots.CopyChunk(index_, kCheckpointChunkSlots,
                             [this](Slot s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return loc_[s]; });
      if (last) {
        free_head = index_.free_head();
        SnapshotScalars(&d);
      }
      longest_hold = std::max(longest_hold, absl::Now() - held);
    }
    if (!last) std::this_thread::yield();  // let the callers waiting for the lock in first
  }
  // Encoding runs outside the table lock.
  slots.Finish(free_head, &d);
  RETURN_IF_ERROR(segments_->WriteCheckpoint(EncodeCheckpoint(d), first));
  MutexLock lock(&mu_);
  ++tier_counters_.checkpoints;
  tier_counters_.checkpoint_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  tier_counters_.checkpoint_max_lock_us = absl::ToDoubleMicroseconds(longest_hold);
  return absl::OkStatus();
}
}  // namespace strata::internal
