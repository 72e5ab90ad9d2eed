// TableImpl: the SSD tier — DRAM frames, the writer thread, cold reads, checkpoints and
// recovery (docs/design.md, "SSD tier"; docs/format.md for the bytes on disk).
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/batch_writer.h"
#include "core/table_impl.h"
#include "strata/status.h"
#include "tier/checkpoint.h"
#include "tier/format.h"
#include "tier/repair.h"

namespace strata::internal {
namespace {

// A write group holds at most this many entries or record bytes: large enough to amortize a
// sync, small enough that the table lock is not held long while the group is copied.
constexpr size_t kMaxGroupEntries = 1024;
constexpr size_t kMaxGroupBytes = size_t{8} << 20;
// The writer checkpoints on its own once more segments than this would be replayed at open.
constexpr size_t kAutoCheckpointSegments = 16;

Key MakeKey(uint32_t gen, Slot slot) { return (static_cast<uint64_t>(gen) << 32) | slot; }

}  // namespace

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
  reader_ = NewAsyncReader(AsyncReaderOptions{});
  {
    MutexLock lock(&mu_);
    const size_t cap = capacity_ + 1;
    loc_.assign(cap, Location{});
    frame_.assign(cap, kNoFrame);
    frame_slot_.assign(frames_ + spare_rows_, kNoSlot);
    free_frames_.resize(frames_);
    for (uint64_t f = 0; f < frames_; ++f) free_frames_[f] = static_cast<uint32_t>(frames_ - 1 - f);
    for (uint64_t f = 0; f < spare_rows_; ++f) {
      spare_frames_.push_back(static_cast<uint32_t>(frames_ + f));
    }
    // The residency order is the placement policy: which DRAM copy is dropped first.
    // kGroupBalanced: oldest DRAM copy (the order residency_ saw them) of the largest group.
    const bool balanced = options_.placement == Placement::kGroupBalanced;
    if (balanced) {
      auto order = std::make_unique<GroupBalancedSelector>(GroupBalanced(), cap);
      balanced_ = order.get();
      residency_ = std::move(order);
    } else {
      const SelectorOptions order = options_.placement == Placement::kRandom     ? Uniform()
                                    : options_.placement == Placement::kPriority ? MinHeap()
                                                                                 : Fifo();
      ASSIGN_OR_RETURN(residency_, MakeSelector(order, cap, {}));
    }
    in_cold_.assign(cap, 0);
    if (resident_sampling_ || balanced) cold_ = std::make_unique<ColdSet>(cap);
    if (!resident_sampling_ && options_.placement == Placement::kPriority) {
      ASSIGN_OR_RETURN(promote_, MakeSelector(MaxHeap(), cap, {}));
    }
    tier_counters_.reader = reader_->stats().backend;
    tier_counters_.bad_index_entries = recovered.bad_entries;
    if (recovered.existed) RETURN_IF_ERROR(Restore(recovered));
  }
  // Only once the recovered state is accepted does anything in the directory change.
  RETURN_IF_ERROR(segments_->Start());
  writer_ = std::thread([this] { WriterLoop(); });
  if (resident_sampling_ || options_.placement == Placement::kPriority ||
      options_.placement == Placement::kGroupBalanced) {
    maintenance_ = std::thread([this] { MaintenanceLoop(); });
  }
  storage_open_ = true;
  // A fresh checkpoint makes the next open fast and no longer depends on the replayed log.
  if (!recovered.entries.empty()) RETURN_IF_ERROR(Checkpoint());
  return absl::OkStatus();
}

// The table counters a checkpoint carries, in CheckpointData::Counter order.
std::array<uint64_t*, CheckpointData::kNumCounters> TableImpl::CheckpointCounters() {
  TableInfo& c = counters_;
  return {&c.inserted, &c.dropped,          &c.sampled,       &c.evicted,     &c.expired,
          &c.deleted,  &c.priority_updates, &c.score_updates, &c.missing_keys};
}

CheckpointData TableImpl::SnapshotCheckpoint() {
  CheckpointData d;
  d.score_columns = static_cast<uint32_t>(scores_.size());
  d.next_seq = next_seq_;
  d.arrivals = arrivals_;
  d.max_priority = max_priority_;
  const auto counters = CheckpointCounters();
  for (size_t i = 0; i < counters.size(); ++i) d.counters[i] = *counters[i];
  limiter_->mu()->AssertHeld();
  const RateLimiterInfo li = limiter_->info();
  d.limiter_inserts = li.inserts;
  d.limiter_samples = li.samples;
  rng_.GetState(d.rng.data());
  d.generations.resize(high_water_);
  d.items.reserve(stored_items_);
  d.scores.reserve(stored_items_ * scores_.size());
  for (Slot s = 0; s < high_water_; ++s) {
    const SlotMeta& m = meta_[s];
    const bool live = m.gen & 1u;
    // A slot whose record is not written yet reads as free: only stored items survive.
    if (!live || loc_[s].segment == kUnwritten) {
      d.generations[s] = live ? m.gen - 1 : m.gen;
      continue;
    }
    d.generations[s] = m.gen;
    d.items.push_back(CheckpointItem{.slot = s,
                                     .times_sampled = m.sampled,
                                     .group = m.group,
                                     .task = m.task,
                                     .priority = m.priority,
                                     .seq = m.seq,
                                     .segment = loc_[s].segment,
                                     .offset = loc_[s].offset,
                                     .checksum = loc_[s].checksum,
                                     .length = RecordLength(s)});
    for (const std::vector<float>& col : scores_) d.scores.push_back(col[s]);
  }
  return d;
}

absl::Status TableImpl::Restore(const SegmentStore::Recovered& r) {
  const std::string where = options_.storage_dir;
  const size_t cap = capacity_ + 1;
  const uint64_t fixed = record_layout_.fixed_bytes;
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
  if (!r.checkpoint.empty()) {
    const std::string& path = r.checkpoint_path;
    ASSIGN_OR_RETURN(d, DecodeCheckpoint(r.checkpoint, path));
    const size_t hw = d.generations.size();
    if (hw > cap) return too_small(hw - 1, path);
    if (d.score_columns != scores_.size()) {
      return absl::DataLossError(absl::StrCat(path, ": checkpoint has ", d.score_columns,
                                              " score columns, the schema ", scores_.size()));
    }
    next_seq_ = d.next_seq;
    arrivals_ = d.arrivals;
    max_priority_ = d.max_priority;
    const auto counters = CheckpointCounters();
    for (size_t i = 0; i < counters.size(); ++i) *counters[i] = d.counters[i];
    limiter_inserts = d.limiter_inserts;
    limiter_samples = d.limiter_samples;
    rng_.SetState(d.rng.data());
    high_water_ = static_cast<Slot>(hw);
    for (Slot s = 0; s < hw; ++s) meta_[s].gen = d.generations[s];
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
      SlotMeta& m = meta_[it.slot];
      m.sampled = it.times_sampled;
      m.group = it.group;
      m.task = it.task;
      m.priority = it.priority;
      m.seq = it.seq;
      loc_[it.slot] = Location{it.segment, it.offset, it.checksum, it.length};
      if (!item_bytes_.empty()) item_bytes_[it.slot] = item_bytes;
      for (size_t c = 0; c < scores_.size(); ++c) {
        scores_[c][it.slot] = d.scores[k * scores_.size() + c];
      }
    }
  }
  // Replay the log written after the checkpoint. Generations only grow, so the highest one seen
  // for a slot is its latest item; a tombstone removes exactly the generation it names.
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
    if (s >= high_water_) high_water_ = s + 1;
    SlotMeta& m = meta_[s];
    if (e.flags & IndexEntry::kTombstone) {
      if (m.gen == gen && (gen & 1u)) {
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
    if (!item_bytes_.empty()) {
      ItemBytesOfRecord(record_layout_, e.length, &item_bytes);  // checked above
      item_bytes_[s] = item_bytes;
    }
    for (std::vector<float>& col : scores_) col[s] = 0.0f;
    next_seq_ = std::max(next_seq_, e.seq + 1);
    max_priority_ = std::max(max_priority_, e.priority);
    ++replayed;
  }
  for (size_t k : unlisted) {
    const CheckpointItem& it = d.items[k];
    if ((meta_[it.slot].gen & 1u) && segments_->GetSegment(loc_[it.slot].segment) == nullptr) {
      return absl::DataLossError(absl::StrCat(
          r.checkpoint_path, ": checkpoint entry ", k, " (slot ", it.slot, ") names segment ",
          it.segment, ", which the MANIFEST does not list (", SegmentDataName(it.segment),
          "); nothing was changed: Table::Repair sets what it cannot place aside"));
    }
  }
  // Rebuild the free list, accounting and selectors (in insertion order, so FIFO/LIFO order and
  // tie-breaks are as before).
  std::vector<Slot> live;
  free_head_ = kNoSlot;
  for (Slot s = high_water_; s-- > 0;) {
    if (meta_[s].gen & 1u) {
      live.push_back(s);
    } else {
      meta_[s].seq = free_head_;
      free_head_ = s;
    }
  }
  std::sort(live.begin(), live.end(), [this](Slot a, Slot b) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return meta_[a].seq < meta_[b].seq;
  });
  size_ = 0;
  bytes_ = 0;
  for (Slot s : live) {
    ++size_;
    bytes_ += item_bytes_.empty() ? fixed : item_bytes_[s];
    const uint32_t len = RecordLength(s);
    live_bytes_[loc_[s].segment] += FileSpan(len);
    ++stored_items_;
    stored_bytes_ += len;
    if (InSampler(s)) sampler_->Insert(ItemFor(sampler_score_, s));
    if (remover_ != nullptr) remover_->Insert(ItemFor(remover_score_, s));
    EnterCold(s);  // every restored item starts on storage only
    if (balanced_ != nullptr) ++group_items_[meta_[s].group];
  }
  counters_.inserted += replayed;
  limiter_->RestoreCounters(limiter_inserts + static_cast<int64_t>(replayed), limiter_samples);
  tier_counters_.recovered_items = size_;
  // A table reopened with smaller limits sheds what no longer fits.
  const uint64_t max_bytes = options_.max_bytes;
  while (size_ > max_items_ || (max_bytes != 0 && bytes_ > max_bytes)) {
    if (remover_ == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(where, " holds ", size_, " items (", bytes_,
                                                        " bytes), more than max_items/max_bytes "
                                                        "allow, and the table has no remover"));
    }
    RemoveSlot(remover_->Victim(rng_), Removal::kEvicted);
  }
  return absl::OkStatus();
}

// --- Records and frames ----------------------------------------------------------------------

void TableImpl::AppendRecord(Slot slot, AlignedBytes* out) const {
  const uint32_t frame = frame_[slot];
  absl::InlinedVector<std::string_view, 4> bytes;
  for (size_t f : store_.variable_fields()) bytes.push_back(store_.GetBytes(f, frame));
  EncodeRecord(record_layout_, store_.row_ptr(frame), bytes, out);
}

bool TableImpl::FrameAvailable(uint64_t bytes) const {
  // Dirty items (not yet written) cannot give up their frames; clean ones can be demoted.
  const uint64_t dirty = resident_bytes_ - clean_resident_bytes_;
  return (!free_frames_.empty() || residency_->size() > 0) && dirty + bytes <= dram_budget_;
}

absl::Status TableImpl::AwaitRoom(uint64_t bytes, absl::Time deadline) {
  auto ready = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return closed_ || !storage_error_.ok() ||
           (write_queue_.size() < options_.write_queue_items && FrameAvailable(bytes));
  };
  if (!ready()) {
    WakeWriter();
    if (!mu_.AwaitWithDeadline(ready, deadline)) {
      return absl::DeadlineExceededError(absl::StrCat(
          "table '", options_.name, "': timed out waiting for the storage writer (",
          write_queue_.size(), " writes queued; DRAM frames full of unwritten items)"));
    }
  }
  if (closed_) {
    return absl::CancelledError(absl::StrCat("table '", options_.name, "' was closed"));
  }
  if (!storage_error_.ok()) {
    return absl::Status(storage_error_.code(),
                        absl::StrCat("table '", options_.name,
                                     "': storage writes are failing, inserts are refused until one "
                                     "succeeds: ",
                                     storage_error_.message()));
  }
  return absl::OkStatus();
}

uint32_t TableImpl::TakeFrame(uint64_t bytes) {
  while (free_frames_.empty() || resident_bytes_ + bytes > dram_budget_) {
    Demote(DemotionVictim());
  }
  const uint32_t frame = free_frames_.back();
  free_frames_.pop_back();
  resident_bytes_ += bytes;
  ++resident_items_;
  return frame;
}

Slot TableImpl::DemotionVictim() {
  if (balanced_ == nullptr) return residency_->Victim(rng_);
  // Counting unwritten copies too (they cannot be dropped yet, but they count: a stream of new
  // items must not push every written copy of the other groups out first).
  return balanced_->VictimIn(MostCopies(BalancedCopies()), rng_);
}

void TableImpl::Demote(Slot slot) {
  residency_->Remove(slot);
  if (resident_sampling_) sampler_->Remove(slot);
  const uint64_t bytes =
      item_bytes_.empty() ? options_.schema.fixed_row_bytes() : item_bytes_[slot];
  clean_resident_bytes_ -= bytes;
  ReleaseFrameOf(slot, bytes);
  EnterCold(slot);
  ++tier_counters_.demotions;
}

void TableImpl::ReleaseFrameOf(Slot slot, uint64_t bytes) {
  const uint32_t frame = frame_[slot];
  if (!store_.variable_fields().empty()) store_.ReleaseBytes(frame);
  frame_slot_[frame] = kNoSlot;
  free_frames_.push_back(frame);
  frame_[slot] = kNoFrame;
  resident_bytes_ -= bytes;
  --resident_items_;
}

void TableImpl::ReleaseFrame(Slot slot) {
  const uint64_t bytes =
      item_bytes_.empty() ? options_.schema.fixed_row_bytes() : item_bytes_[slot];
  const Location loc = loc_[slot];
  const bool stored = loc.segment != kUnwritten;
  if (in_cold_[slot]) LeaveCold(slot);
  if (stored) {
    const uint32_t len = RecordLength(slot);
    live_bytes_[loc.segment] -= FileSpan(len);
    --stored_items_;
    stored_bytes_ -= len;
    Enqueue(MakeKey(meta_[slot].gen, slot), /*tombstone=*/true);
  }
  if (frame_[slot] != kNoFrame) {
    if (stored) {
      residency_->Remove(slot);
      clean_resident_bytes_ -= bytes;
    } else if (balanced_ != nullptr) {
      --dirty_copies_[meta_[slot].group];
    }
    ReleaseFrameOf(slot, bytes);
  }
  loc_[slot] = Location{};
}

absl::Status TableImpl::Resize(uint64_t max_items, uint64_t dram_budget) {
  const std::string& name = options_.name;
  if (max_items < 1 || max_items > capacity_) {
    return absl::InvalidArgumentError(absl::StrCat("table '", name, "': max_items must be in [1, ",
                                                   capacity_,
                                                   "] (the capacity it was created "
                                                   "with), got ",
                                                   max_items));
  }
  if (dram_budget != 0) {
    if (!tiered_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "table '", name, "': dram_budget_bytes applies to tables with storage_dir only"));
    }
    const uint64_t min_budget = std::max<uint64_t>(1, options_.schema.fixed_row_bytes());
    if (dram_budget < min_budget || dram_budget > max_dram_budget_) {
      return absl::InvalidArgumentError(
          absl::StrCat("table '", name, "': dram_budget_bytes must be in [", min_budget, ", ",
                       max_dram_budget_, "] (max_dram_budget_bytes), got ", dram_budget));
    }
  }
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckOpen());
  if (size_ > max_items && remover_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("table '", name, "' holds ", size_,
                                                   " items, more than max_items ", max_items,
                                                   ", and has no remover to evict them"));
  }
  max_items_ = max_items;
  while (size_ > max_items_) RemoveSlot(remover_->Victim(rng_), Removal::kEvicted);
  if (dram_budget == 0) return absl::OkStatus();
  dram_budget_ = dram_budget;
  // Drop clean copies in placement order; unwritten ones keep their frames until written.
  for (;;) {
    while (resident_bytes_ > dram_budget_ && residency_->size() > 0) {
      Demote(DemotionVictim());
    }
    if (resident_bytes_ <= dram_budget_) break;
    WakeWriter();
    mu_.AwaitWithDeadline(
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return closed_ || !storage_error_.ok() || residency_->size() > 0;
        },
        absl::InfiniteFuture());
    if (closed_) return absl::CancelledError(absl::StrCat("table '", name, "' was closed"));
    if (!storage_error_.ok()) {
      return absl::Status(storage_error_.code(),
                          absl::StrCat("table '", name,
                                       "': the new DRAM budget is set, but unwritten items still "
                                       "hold more than it while storage writes fail: ",
                                       storage_error_.message()));
    }
  }
  WakeMaintenance();  // a larger budget is refilled from storage in the background
  return absl::OkStatus();
}

// --- The writer ------------------------------------------------------------------------------

void TableImpl::Enqueue(Key key, bool tombstone) {
  write_queue_.push_back(PendingWrite{key, tombstone, ++next_ticket_});
}

void TableImpl::WakeWriter() { writer_wakeup_.Notify(); }

void TableImpl::StopWriter() {
  writer_wakeup_.Stop();
  if (writer_.joinable()) writer_.join();
}

void TableImpl::WriterLoop() {
  // After a failed write, retry with exponential backoff (10 ms .. 1 s).
  auto backoff = std::chrono::milliseconds(0);
  for (bool busy = false;;) {
    // The timeout is a safety net only: every enqueuer wakes the writer. After a failure, sleep
    // the backoff whatever arrives.
    const bool running = backoff.count() > 0
                             ? writer_wakeup_.Wait(backoff, /*only_stop=*/true)
                             : writer_wakeup_.Wait(std::chrono::milliseconds(busy ? 0 : 50));
    if (!running) return;
    MutexLock w(&writer_mu_);
    bool failed = false;
    while (WriteGroup(&failed)) {
    }
    backoff = failed ? std::clamp(backoff * 2, std::chrono::milliseconds(10),
                                  std::chrono::milliseconds(1000))
                     : std::chrono::milliseconds(0);
    if (failed) continue;
    // Between groups: reclaim space, one paced step at a time (inserts come first); when a step
    // ran, more may be due: come back without sleeping.
    busy = CompactStep();
    // Bound recovery work (and compaction's carried tombstones) with a fresh checkpoint once
    // many segments would be replayed.
    if (options_.durability != Durability::kNone) {
      const uint32_t replay_from = segments_->replay_from();
      size_t replayed = 0;
      for (const SegmentInfo& s : segments_->segments()) replayed += s.id >= replay_from;
      if (replayed > kAutoCheckpointSegments) CheckpointLocked().IgnoreError();
    }
  }
}

bool TableImpl::WriteGroup(bool* failed) {
  // Under the lock only the DRAM copies: raw records into `raw` (compressed schemas) or straight
  // into `records`. Compression and checksums run after the lock is released.
  const bool compressed = record_layout_.compressed;
  AlignedBytes& records = write_buffer_;  // reused group after group
  AlignedBytes& raw = compressed ? write_raw_ : write_buffer_;
  records.clear();
  raw.clear();
  std::vector<IndexEntry> entries;
  std::vector<PendingWrite> taken;
  {
    BackgroundLock lock(this);
    if (write_queue_.empty()) return false;
    while (!write_queue_.empty() && entries.size() < kMaxGroupEntries &&
           raw.size() < kMaxGroupBytes) {
      const PendingWrite w = write_queue_.front();
      write_queue_.pop_front();
      taken.push_back(w);
      if (w.tombstone) {
        entries.push_back(IndexEntry{.flags = IndexEntry::kTombstone, .key = w.key});
        continue;
      }
      const Slot slot = Resolve(w.key);
      if (slot == kNoSlot) continue;  // removed before it was written: nothing to store
      const size_t offset = raw.size();
      AppendRecord(slot, &raw);
      const size_t len = raw.size() - offset;
      if (!compressed) PadRecords(&raw);  // the next record starts aligned (O_DIRECT reads)
      const SlotMeta& m = meta_[slot];
      entries.push_back(IndexEntry{.key = w.key,
                                   .seq = m.seq,
                                   .data_offset = offset,
                                   .length = static_cast<uint32_t>(len),
                                   .group = m.group,
                                   .task = m.task,
                                   .priority = m.priority});
    }
  }
  for (IndexEntry& e : entries) {
    if (e.flags & IndexEntry::kTombstone) continue;
    if (compressed) {
      const size_t offset = records.size();
      EncodeStored(record_layout_, reinterpret_cast<const uint8_t*>(raw.data() + e.data_offset),
                   &records);
      e.data_offset = offset;
      e.length = static_cast<uint32_t>(records.size() - offset);
      PadRecords(&records);
    }
    e.checksum = RecordChecksum(records.data() + e.data_offset, e.length);
  }
  uint32_t segment = 0;
  absl::Status s =
      entries.empty()
          ? absl::OkStatus()
          : segments_->Append(std::string_view(records.data(), records.size()), &entries, &segment);
  BackgroundLock lock(this);
  if (!s.ok()) {
    // Keep everything queued, in order; the items stay in DRAM (dirty) until a retry succeeds.
    for (auto it = taken.rbegin(); it != taken.rend(); ++it) write_queue_.push_front(*it);
    storage_error_ = s;
    *failed = true;
    return false;
  }
  storage_error_ = absl::OkStatus();
  for (const IndexEntry& e : entries) {
    ++tier_counters_.records_written;
    if (e.flags & IndexEntry::kTombstone) continue;
    const Slot slot = Resolve(e.key);
    if (slot == kNoSlot) {
      // Removed while being written: the record is garbage, and must not come back at reopen.
      Enqueue(e.key, /*tombstone=*/true);
      continue;
    }
    loc_[slot] = Location{segment, static_cast<uint32_t>(e.data_offset), e.checksum, e.length};
    live_bytes_[segment] += FileSpan(e.length);
    ++stored_items_;
    stored_bytes_ += e.length;
    // Now clean: its frame may be given up.
    clean_resident_bytes_ +=
        item_bytes_.empty() ? options_.schema.fixed_row_bytes() : item_bytes_[slot];
    residency_->Insert(ItemFor(-1, slot));
    if (balanced_ != nullptr) --dirty_copies_[meta_[slot].group];
  }
  durable_ticket_ = taken.back().ticket;
  return true;
}

absl::Status TableImpl::AwaitDurable(uint64_t ticket, absl::Time deadline) {
  auto done = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return durable_ticket_ >= ticket || !storage_error_.ok();
  };
  if (!mu_.AwaitWithDeadline(done, deadline)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "table '", options_.name,
        "': timed out waiting for inserted items to be written (they are in the table, "
        "not yet durable)"));
  }
  if (durable_ticket_ < ticket) {
    return absl::Status(storage_error_.code(),
                        absl::StrCat("table '", options_.name,
                                     "': inserted items are in the table but not durable: ",
                                     storage_error_.message()));
  }
  return absl::OkStatus();
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
    return storage_error_;
  }
  return CheckpointLocked();
}

absl::Status TableImpl::CheckpointLocked() {
  bool failed = false;
  while (WriteGroup(&failed)) {
  }
  {
    MutexLock lock(&mu_);
    if (!storage_error_.ok()) return storage_error_;
  }
  // Everything written so far is in segments below `first`; what comes later lands in `first` or
  // above and is replayed on top of the checkpoint.
  ASSIGN_OR_RETURN(const uint32_t first, segments_->Roll());
  CheckpointData snapshot;
  {
    MutexLock lock(&mu_);
    snapshot = SnapshotCheckpoint();
  }
  // Encoding runs outside the table lock.
  return segments_->WriteCheckpoint(EncodeCheckpoint(snapshot), first);
}

// --- Reads -----------------------------------------------------------------------------------

void TableImpl::FillTiered(const Slot* slots, size_t n, ReadPlan* plan, uint8_t* const* dst,
                           SampleBatch* out) {
  const std::vector<Key>& keys = BatchWriter::keys(out);
  const size_t nf = options_.schema.num_fields();
  plan->dst.assign(dst, dst + nf);
  plan->staged = !store_.variable_fields().empty();
  plan->direct = !plan->staged && !record_layout_.compressed && store_.fixed_fields().size() == 1 &&
                 store_.stride() == store_.row_bytes(store_.fixed_fields()[0]);
  constexpr size_t kAlign = kDirectIoAlignment;
  auto round_up = [](size_t x) { return (x + kAlign - 1) / kAlign * kAlign; };
  plan->n = n;
  if (plan->staged) {
    plan->staging_offsets.assign(n + 1, 0);
    plan->record_lengths.assign(n, 0);
  }
  std::shared_ptr<const Segment> pin;
  uint64_t hits = 0;
  for (size_t i = 0; i < n; ++i) {
    const Slot s = slots[i];
    const uint32_t frame = frame_[s];
    if (frame != kNoFrame) {
      ++hits;
      if (plan->staged) {
        plan->staging_offsets[i] = plan->staging.size();
        AppendRecord(s, &plan->staging);
        plan->record_lengths[i] =
            static_cast<uint32_t>(plan->staging.size() - plan->staging_offsets[i]);
      } else {
        store_.CopyRowOut(frame, i, dst);
      }
      continue;
    }
    const Location loc = loc_[s];
    if (pin == nullptr || pin->id != loc.segment) pin = segments_->GetSegment(loc.segment);
    const uint32_t len = RecordLength(s);
    // O_DIRECT reads whole aligned blocks into aligned memory. The output array of a one-field
    // schema is page-aligned (Buffer), so a record of whole pages can still land in it.
    const bool direct_io = pin != nullptr && pin->data->direct_io();
    const uint32_t read_len = ReadLength(pin.get(), len);
    const bool into_output = plan->direct && (!direct_io || len % kAlign == 0);
    size_t staging_offset = 0;
    if (!into_output) {
      staging_offset = direct_io ? round_up(plan->staging.size()) : plan->staging.size();
      plan->staging.resize(staging_offset + read_len);
      if (plan->staged) {
        plan->staging_offsets[i] = staging_offset;
        plan->record_lengths[i] = len;
      }
    }
    plan->cold.push_back(ReadPlan::Cold{i, keys[i], loc, len, staging_offset, into_output, pin});
  }
  if (plan->staged) plan->staging_offsets[n] = plan->staging.size();
  tier_counters_.dram_hits += hits;
  tier_counters_.dram_misses += n - hits;
}

absl::Status TableImpl::CompleteReads(ReadPlan* plan, SampleBatch* out) {
  const RowStore& rows = layout();  // the row layout only: immutable, no lock needed
  std::vector<ColdRead> reads(plan->cold.size());
  for (size_t k = 0; k < plan->cold.size(); ++k) {
    const ReadPlan::Cold& c = plan->cold[k];
    reads[k] =
        ColdRead{.segment = c.segment,
                 .offset = c.loc.offset,
                 .length = c.length,
                 .checksum = c.loc.checksum,
                 .dst = c.into_output ? reinterpret_cast<char*>(plan->dst[rows.fixed_fields()[0]]) +
                                            c.index * static_cast<size_t>(c.length)
                                      : plan->staging.data() + c.staging_offset};
  }
  ReadRecords(reader_.get(), absl::MakeSpan(reads));
  // Records that fail their checksum, or that the file ends before (truncated), are lost: each
  // is reported once and removed. Other read errors may pass: the items stay.
  std::vector<std::string> lost;
  std::vector<Key> lost_keys;
  absl::Status io_error;
  // Compressed schemas: each stored record is decompressed into this row image, then scattered.
  std::vector<uint8_t> row(record_layout_.compressed ? record_layout_.stride : 0);
  for (size_t k = 0; k < reads.size(); ++k) {
    const ReadPlan::Cold& c = plan->cold[k];
    const ColdRead& r = reads[k];
    if (r.result == ColdRead::Result::kFailed) {
      if (io_error.ok()) {
        io_error = absl::Status(r.status.code(),
                                absl::StrCat("reading key ", c.key, " from ", r.Describe()));
      }
      continue;
    }
    const bool decoded =
        r.result == ColdRead::Result::kOk &&
        (!record_layout_.compressed ||
         DecodeStored(record_layout_, std::string_view(r.dst, c.length), row.data()));
    if (!decoded) {
      lost_keys.push_back(c.key);
      lost.push_back(absl::StrCat("key ", c.key, " (", r.Describe(),
                                  r.result == ColdRead::Result::kOk ? " but does not decode" : "",
                                  ")"));
      continue;
    }
    if (record_layout_.compressed) {
      rows.ScatterRow(row.data(), c.index, plan->dst.data());
    } else if (!c.into_output && !plan->staged) {
      rows.ScatterRow(reinterpret_cast<const uint8_t*>(r.dst), c.index, plan->dst.data());
    }
  }
  if (!lost.empty()) {
    MutexLock lock(&mu_);
    for (Key key : lost_keys) {
      const Slot s = Resolve(key);
      if (s != kNoSlot) {
        RemoveSlot(s, Removal::kDeleted);
        ++tier_counters_.corrupt_items;
      }
    }
    return absl::DataLossError(absl::StrCat("table '", options_.name, "': ", lost.size(),
                                            " stored items are lost and were removed from the "
                                            "table: ",
                                            absl::StrJoin(lost, "; ")));
  }
  RETURN_IF_ERROR(io_error);
  if (!plan->staged) return absl::OkStatus();
  // Decode every staged record: fixed fields from the row image, bytes fields after it. A
  // record's lengths were checked by its checksum at write time; DecodeRecord checks them again.
  std::vector<FieldData>& fields = BatchWriter::fields(out);
  const size_t n = plan->n;
  const size_t nvar = rows.variable_fields().size();
  std::vector<std::string_view> values(n * nvar);
  for (size_t i = 0; i < n; ++i) {
    const std::string_view record(plan->staging.data() + plan->staging_offsets[i],
                                  plan->record_lengths[i]);
    const char* row = nullptr;
    if (!DecodeRecord(record_layout_, record, &row, absl::MakeSpan(&values[i * nvar], nvar))) {
      return absl::InternalError(absl::StrCat("table '", options_.name, "': the record of key ",
                                              BatchWriter::keys(out)[i],
                                              " passed its checksum but does not decode"));
    }
    rows.ScatterRow(reinterpret_cast<const uint8_t*>(row), i, plan->dst.data());
  }
  for (size_t vf = 0; vf < nvar; ++vf) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) total += values[i * nvar + vf].size();
    FieldData& fd = fields[rows.variable_fields()[vf]];
    Buffer* off = BatchWriter::Reserve(&fd.offsets, (n + 1) * sizeof(uint64_t));
    auto* offsets = reinterpret_cast<uint64_t*>(off->data());
    Buffer* buf = BatchWriter::Reserve(&fd.data, total);
    offsets[0] = 0;
    for (size_t i = 0; i < n; ++i) {
      const std::string_view v = values[i * nvar + vf];
      if (!v.empty()) std::memcpy(buf->data() + offsets[i], v.data(), v.size());
      offsets[i + 1] = offsets[i] + v.size();
    }
  }
  return absl::OkStatus();
}

// --- Info and invariants -----------------------------------------------------------------------

void TableImpl::TierInfoLocked(TierInfo* t) const {
  *t = tier_counters_;
  t->enabled = true;
  t->dram_items = resident_items_;
  t->dram_bytes = resident_bytes_;
  t->stored_items = stored_items_;
  t->stored_bytes = stored_bytes_;
  t->pending_writes = write_queue_.size();
  t->segments = live_bytes_.size();
  const uint64_t lookups = t->dram_hits + t->dram_misses;
  t->dram_hit_rate = lookups == 0 ? 0 : static_cast<double>(t->dram_hits) / lookups;
  t->storage_error = storage_error_.ok() ? "" : std::string(storage_error_.message());
  if (segments_ != nullptr) {
    t->disk_bytes = segments_->disk_bytes();
    t->writes_issued = segments_->appends();
    t->bytes_written = segments_->bytes_written();
    t->syncs = segments_->syncs();
  }
  if (reader_ != nullptr) {
    const ReaderStats rs = reader_->stats();
    t->reader = rs.backend;
    t->reads_issued = rs.submitted;
    t->reads_completed = rs.completed;
    t->read_bytes = rs.bytes;
    t->reads_in_flight = rs.in_flight;
    t->max_reads_in_flight = rs.max_in_flight;
    t->read_p50_us = rs.latency_p50_us;
    t->read_p99_us = rs.latency_p99_us;
    t->read_latency_total_us = rs.latency_total_us;
  }
  t->swap_ratio = swap_ratio_;
  t->swap_interval = swap_interval_;
  t->dram_budget_bytes = dram_budget_;
  t->groups.clear();
  if (balanced_ != nullptr) {
    absl::flat_hash_map<int32_t, TierInfo::Group> groups;
    balanced_->ForEachGroup([&](int32_t g, size_t n) { groups[g].dram_items = n; });
    for (const auto& [g, n] : group_items_) {
      if (n > 0) groups[g].items = n;
    }
    for (auto& [g, entry] : groups) {
      entry.group = g;
      t->groups.push_back(entry);
    }
    std::sort(t->groups.begin(), t->groups.end(),
              [](const TierInfo::Group& a, const TierInfo::Group& b) { return a.group < b.group; });
  }
}

absl::Status TableImpl::CheckTierInvariants() const {
  uint64_t resident = 0;
  uint64_t resident_bytes = 0;
  uint64_t clean_bytes = 0;
  uint64_t stored = 0;
  std::vector<Slot> clean_resident;
  absl::flat_hash_map<uint32_t, uint64_t> live_bytes;
  for (Slot s = 0; s < high_water_; ++s) {
    const bool live = meta_[s].gen & 1u;
    const uint32_t frame = frame_[s];
    if (!live) {
      if (frame != kNoFrame || loc_[s].segment != kUnwritten) {
        return absl::InternalError(absl::StrCat("free slot ", s, " holds a frame or a record"));
      }
      continue;
    }
    const uint64_t bytes = item_bytes_.empty() ? options_.schema.fixed_row_bytes() : item_bytes_[s];
    const bool written = loc_[s].segment != kUnwritten;
    if (!written && frame == kNoFrame) {
      return absl::InternalError(absl::StrCat("slot ", s, " is neither in DRAM nor stored"));
    }
    if (written) {
      ++stored;
      live_bytes[loc_[s].segment] += FileSpan(RecordLength(s));
    }
    if (frame != kNoFrame) {
      if (frame >= frames_ + spare_rows_ || frame_slot_[frame] != s) {
        return absl::InternalError(absl::StrCat("slot ", s, " and frame ", frame, " disagree"));
      }
      ++resident;
      resident_bytes += bytes;
      if (written) {
        clean_bytes += bytes;
        clean_resident.push_back(s);
      }
    }
  }
  if (resident != resident_items_ || resident_bytes != resident_bytes_ ||
      clean_bytes != clean_resident_bytes_) {
    return absl::InternalError(absl::StrCat("residency counts ", resident_items_, " items / ",
                                            resident_bytes_, " bytes (", clean_resident_bytes_,
                                            " clean); found ", resident, " / ", resident_bytes,
                                            " (", clean_bytes, ")"));
  }
  if (resident_bytes_ > dram_budget_) {
    return absl::InternalError(
        absl::StrCat("DRAM holds ", resident_bytes_, " bytes, over the budget of ", dram_budget_));
  }
  if (resident + free_frames_.size() + spare_frames_.size() + spares_in_flight_ !=
      frames_ + spare_rows_) {
    return absl::InternalError(absl::StrCat(
        resident, " resident + ", free_frames_.size(), " free + ", spare_frames_.size(), " + ",
        spares_in_flight_, " spare frames != ", frames_ + spare_rows_, " rows"));
  }
  if (stored != stored_items_) {
    return absl::InternalError(absl::StrCat(stored, " stored items, counted ", stored_items_));
  }
  for (const auto& [seg, bytes] : live_bytes) {
    auto it = live_bytes_.find(seg);
    if (it == live_bytes_.end() || it->second != bytes) {
      return absl::InternalError(absl::StrCat("segment ", seg, " holds ", bytes,
                                              " live bytes, counted ",
                                              it == live_bytes_.end() ? 0 : it->second));
    }
  }
  if (residency_->size() != clean_resident.size()) {
    return absl::InternalError(absl::StrCat("residency order holds ", residency_->size(),
                                            " items, expected ", clean_resident.size()));
  }
  if (balanced_ != nullptr) {
    absl::flat_hash_map<int32_t, uint64_t> items;
    for (Slot s = 0; s < high_water_; ++s) {
      if (meta_[s].gen & 1u) ++items[meta_[s].group];
    }
    for (const auto& [g, n] : group_items_) {
      const auto it = items.find(g);
      if ((it == items.end() ? 0 : it->second) != n) {
        return absl::InternalError(absl::StrCat(
            "group ", g, " holds ", it == items.end() ? 0 : it->second, " items, counted ", n));
      }
    }
    if (items.size() > group_items_.size()) {
      return absl::InternalError("a group's items are not counted");
    }
  }
  return residency_->CheckInvariants(clean_resident);
}

}  // namespace strata::internal
