// TableImpl: opening a storage directory, checkpoints and recovery (docs/design.md, "SSD tier";
// docs/format.md, "Checkpoint" and "Recovery").
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/batch_writer.h"
#include "core/table_impl.h"
#include "strata/info_fields.h"
#include "strata/log.h"
#include "strata/status.h"
#include "tier/checkpoint.h"
#include "tier/format.h"
#include "tier/repair.h"

namespace strata::internal {

// --- Opening -------------------------------------------------------------------------------

SegmentStore::Options TableImpl::StoreOptions(const TableOptions& o) {
  SegmentStore::Options so;
  so.env = o.env != nullptr ? o.env : Env::Posix();
  so.dir = o.storage_dir;
  so.table_name = o.name;
  so.schema = o.schema.DebugString();
  so.segment_bytes = o.segment_bytes;
  so.budget_bytes = o.storage_budget_bytes;
  so.durability = o.durability;
  so.direct_io = o.direct_io;
  return so;
}

absl::StatusOr<RepairReport> TableImpl::Repair(const TableOptions& options) {
  if (options.storage_dir.empty()) {
    return absl::InvalidArgumentError("storage_dir must name the directory to repair");
  }
  return RepairStorage(StoreOptions(options),
                       static_cast<uint32_t>(options.schema.score_columns().size()));
}

absl::Status TableImpl::OpenStorage() {
  SegmentStore::Recovered recovered;
  ASSIGN_OR_RETURN(segments_, SegmentStore::Open(StoreOptions(options_), &recovered));
  absl::flat_hash_set<uint32_t> in_use;  // segments live items are located in: never dropped
  uint64_t recovered_items = 0;
  reader_ = NewAsyncReader(AsyncReaderOptions{});
  {
    MutexLock lock(&mu_);
    const size_t cap = capacity_ + 1;
    loc_.assign(cap, Location{});
    dram_.Init(cap, frames_, spare_rows_);
    // The placement policy: which items keep a DRAM copy. It looks items up through the
    // table's metadata, under the table's lock (every policy call is made with it held).
    PlacementOptions po{.placement = options_.placement,
                        .score_column = options_.schema.ScoreIndex(options_.placement_score_column),
                        .resident = resident_sampling_,
                        .swap_policy = options_.swap_policy,
                        .swap_score_column = options_.schema.ScoreIndex(options_.swap_score_column),
                        .lookup = [this](Slot slot, int column) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                          return ItemFor(column, slot);
                        }};
    ASSIGN_OR_RETURN(placement_, MakePlacement(po, cap));
    in_cold_.assign(cap, 0);
    tier_counters_.reader = reader_->stats().backend;
    tier_counters_.bad_index_entries = recovered.bad_entries;
    if (recovered.existed) RETURN_IF_ERROR(Restore(recovered));
    for (const auto& [segment, bytes] : live_bytes_) in_use.insert(segment);
    recovered_items = tier_counters_.recovered_items;
  }
  if (recovered.existed) {
    // Logged without the table's lock. Skipped (torn or corrupt) index entries make it a warning.
    const size_t slash = recovered.checkpoint_path.rfind('/');
    const std::string checkpoint =
        recovered.checkpoint.empty()
            ? std::string("no checkpoint")
            : absl::StrCat("checkpoint ", slash == std::string::npos
                                              ? recovered.checkpoint_path
                                              : recovered.checkpoint_path.substr(slash + 1));
    Log(recovered.bad_entries > 0 ? LogSeverity::kWarning : LogSeverity::kInfo, "recovery",
        absl::StrCat("table '", options_.name, "': recovered ", recovered_items, " items from ",
                     options_.storage_dir, " (", checkpoint, ", ", recovered.entries.size(),
                     " index entries replayed, ", recovered.bad_entries, " bad entries skipped)"));
  }
  // Only once the recovered state is accepted does anything in the directory change. Start
  // drops recovered segments that hold nothing (older versions left empty ones behind).
  RETURN_IF_ERROR(segments_->Start(in_use));
  writer_ = std::thread([this] { WriterLoop(); });
  bool maintained;
  {
    MutexLock lock(&mu_);
    maintained = placement_->has_maintenance();
  }
  if (maintained) maintenance_ = std::thread([this] { MaintenanceLoop(); });
  storage_open_ = true;
  // A fresh checkpoint makes the next open fast and no longer depends on the replayed log.
  if (!recovered.entries.empty()) RETURN_IF_ERROR(Checkpoint());
  return absl::OkStatus();
}

absl::Status TableImpl::Restore(const SegmentStore::Recovered& r) {
  const std::string where = options_.storage_dir;
  const size_t cap = capacity_ + 1;
  uint64_t item_bytes = 0;
  // Whether a record of `length` bytes can hold an item of this schema (its bytes: item_bytes).
  auto fits_schema = [&](uint32_t length) {
    return ItemBytesOfRecord(record_layout_, length, &item_bytes);
  };
  auto too_small = [&](uint64_t slot, const std::string& file) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, " holds an item in slot ", slot, " (", file,
                     "); reopen it with max_items >= ", slot + 1, " (got ", capacity_, ")"));
  };
  limiter_->mu()->AssertHeld();
  int64_t limiter_inserts = 0;
  int64_t limiter_samples = 0;
  CheckpointData d;
  std::vector<size_t> unlisted;  // checkpoint entries located in segments the manifest lacks
  bool sampler_loaded = false;   // from the checkpoint's state, over its items
  bool remover_loaded = false;
  if (!r.checkpoint.empty()) {
    const std::string& path = r.checkpoint_path;
    ASSIGN_OR_RETURN(d, DecodeCheckpoint(r.checkpoint, path));
    const size_t hw = d.generations.size();
    if (hw > cap) return too_small(hw - 1, path);
    if (d.score_columns != index_.num_scores()) {
      return absl::DataLossError(absl::StrCat(path, ": checkpoint has ", d.score_columns,
                                              " score columns, the schema ", index_.num_scores()));
    }
    next_seq_ = d.next_seq;
    arrivals_ = d.arrivals;
    max_priority_ = d.max_priority;
    const auto counters = CheckpointCounters();
    for (size_t i = 0; i < counters.size(); ++i) *counters[i] = d.counters[i];
    limiter_inserts = d.limiter_inserts;
    limiter_samples = d.limiter_samples;
    rng_.SetState(d.rng.data());
    for (Slot s = 0; s < hw; ++s) index_.RestoreMeta(s).gen = d.generations[s];
    for (size_t k = 0; k < d.items.size(); ++k) {
      const CheckpointItem& it = d.items[k];
      // Compaction may have moved the item since (its relocated entry is replayed below) and
      // dropped the segment: only a location still unlisted after the replay is an error.
      if (segments_->GetSegment(it.segment) == nullptr) unlisted.push_back(k);
      if (!fits_schema(it.length)) {
        return absl::DataLossError(absl::StrCat(path, ": checkpoint entry ", k, " (slot ", it.slot,
                                                "): a record of ", it.length,
                                                " bytes cannot hold an item of this schema"));
      }
      SlotIndex::Meta& m = index_.RestoreMeta(it.slot);
      m.sampled = it.times_sampled;
      m.group = it.group;
      m.task = it.task;
      m.priority = it.priority;
      m.seq = it.seq;
      loc_[it.slot] = Location{it.segment, it.offset, it.checksum, it.length};
      index_.RestoreItemBytes(it.slot, item_bytes);
      const size_t columns = index_.num_scores();
      for (size_t c = 0; c < columns; ++c) index_.SetScore(c, it.slot, d.scores[k * columns + c]);
    }
    // The selectors' states hold exactly the checkpoint's items: load them now, while the
    // metadata ItemFor reads is still the checkpoint's (the replay below may change slots).
    // Resident sampling starts with an empty sampler (every item is on storage only).
    if (d.resumable()) {
      struct Role {
        Selector* selector;
        int score_column;
        const std::string& state;
        bool& loaded;
        const char* what;
      };
      const Role roles[] = {
          {resident_sampling_ ? nullptr : sampler_.get(), sampler_score_, d.sampler_state,
           sampler_loaded, "sampler"},
          {remover_.get(), remover_score_, d.remover_state, remover_loaded, "remover"}};
      std::vector<SelectorItem> items(d.items.size());
      for (const Role& role : roles) {
        if (role.selector == nullptr || role.state.empty()) continue;
        for (size_t k = 0; k < d.items.size(); ++k) {
          items[k] = ItemFor(role.score_column, d.items[k].slot);
        }
        const absl::Status loaded = role.selector->LoadState(role.state, items);
        if (loaded.ok()) {
          role.loaded = true;
        } else if (loaded.code() != absl::StatusCode::kFailedPrecondition) {
          return absl::DataLossError(absl::StrCat(path, ": ", role.what, " ", loaded.message()));
        }
        // FailedPrecondition: saved by another kind of selector (the table was reopened with
        // other options); it is rebuilt below like a version 1 checkpoint's.
      }
    }
  }
  // Replay the log written after the checkpoint. Generations only grow, so the highest one seen
  // for a slot is its latest item; a tombstone for generation g leaves the slot free at g + 1.
  uint64_t replayed = 0;
  for (const SegmentStore::Recovered::Entry& re : r.entries) {
    const IndexEntry& e = re.entry;
    const Slot s = static_cast<Slot>(e.key & 0xFFFFFFFFu);
    const uint32_t gen = static_cast<uint32_t>(e.key >> 32);
    if (s >= cap) return too_small(s, re.Where());
    if (!(e.flags & IndexEntry::kTombstone) && !fits_schema(e.length)) {
      return absl::DataLossError(absl::StrCat(re.Where(), ": a record of ", e.length,
                                              " bytes cannot hold an item of this schema"));
    }
    SlotIndex::Meta& m = index_.RestoreMeta(s);
    if (e.flags & IndexEntry::kTombstone) {
      // The slot moved past `gen`: whatever older item the checkpoint or an earlier entry placed
      // there is gone too. The tombstone may outlive the record it names (compaction dropped
      // it), so it alone must move the generation on, or a new item would get the dead key.
      if ((gen & 1u) && gen >= m.gen) {
        m.gen = gen + 1;
        loc_[s] = Location{};
      }
      continue;
    }
    if (gen < m.gen || !(gen & 1u)) continue;  // superseded
    if (gen == m.gen) {
      // The same item again: a copy compaction made (kRelocated). It lives there now.
      if (m.gen & 1u)
        loc_[s] = Location{re.segment, static_cast<uint32_t>(e.data_offset), e.checksum, e.length};
      continue;
    }
    m.gen = gen;
    m.sampled = 0;
    m.group = e.group;
    m.task = e.task;
    m.priority = e.priority;
    m.seq = e.seq;
    loc_[s] = Location{re.segment, static_cast<uint32_t>(e.data_offset), e.checksum, e.length};
    ItemBytesOfRecord(record_layout_, e.length, &item_bytes);  // checked above
    index_.RestoreItemBytes(s, item_bytes);
    for (size_t c = 0; c < index_.num_scores(); ++c) index_.SetScore(c, s, 0.0f);
    next_seq_ = std::max(next_seq_, e.seq + 1);
    max_priority_ = std::max(max_priority_, e.priority);
    ++replayed;
  }
  for (size_t k : unlisted) {
    const CheckpointItem& it = d.items[k];
    if (index_.live(it.slot) && segments_->GetSegment(loc_[it.slot].segment) == nullptr) {
      return absl::DataLossError(absl::StrCat(
          r.checkpoint_path, ": checkpoint entry ", k, " (slot ", it.slot, ") names segment ",
          it.segment, ", which the MANIFEST does not list (", SegmentDataName(it.segment),
          "); nothing was changed: Table::Repair sets what it cannot place aside"));
    }
  }
  // Checkpoint items that the replay removed or replaced leave the loaded selectors; every
  // other live item (added by the replay) is inserted below.
  std::vector<uint8_t> in_state(index_.high_water(), 0);
  if (sampler_loaded || remover_loaded) {
    for (const CheckpointItem& it : d.items) {
      if (index_.meta(it.slot).gen == d.generations[it.slot]) {
        in_state[it.slot] = 1;
        continue;
      }
      if (sampler_loaded) sampler_->Remove(it.slot);
      if (remover_loaded) remover_->Remove(it.slot);
    }
  }
  // The free list: the checkpoint's reuse order (less the slots the replay filled), then every
  // other free slot, lowest first (all of them, without a saved order).
  std::vector<Slot> free_order;
  if (d.resumable()) {
    for (uint32_t s : d.free_slots) {  // distinct and below the checkpoint's high water
      if (!index_.live(s)) free_order.push_back(s);
    }
  }
  std::vector<Slot> live = index_.Rebuild(free_order);
  // Accounting, and the selectors not loaded from a state: rebuilt in insertion order, so that
  // FIFO/LIFO order and tie-breaks are as before.
  std::sort(live.begin(), live.end(), [this](Slot a, Slot b) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return index_.meta(a).seq < index_.meta(b).seq;
  });
  for (Slot s : live) {
    const uint32_t len = RecordLength(s);
    live_bytes_[loc_[s].segment] += FileSpan(len);
    ++stored_items_;
    stored_bytes_ += len;
    if (InSampler(s) && !(sampler_loaded && in_state[s])) {
      sampler_->Insert(ItemFor(sampler_score_, s));
    }
    if (remover_ != nullptr && !(remover_loaded && in_state[s])) {
      remover_->Insert(ItemFor(remover_score_, s));
    }
    Transit(s, Residence::kNone, Residence::kCold);  // every restored item starts on storage only
  }
  counters_.inserted += replayed;
  limiter_->RestoreCounters(limiter_inserts + static_cast<int64_t>(replayed), limiter_samples);
  tier_counters_.recovered_items = index_.size();
  // A table reopened with smaller limits sheds what no longer fits.
  while (Overfull(0, 0)) {
    if (remover_ == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(where, " holds ", index_.size(), " items (",
                                                        index_.bytes(),
                                                        " bytes), more than max_items/max_bytes "
                                                        "allow, and the table has no remover"));
    }
    RemoveSlot(remover_->Victim(rng_), Removal::kEvicted);
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
