// TableImpl: the implementation behind strata::Table (see include/strata/table.h for the
// contract of each method). It coordinates its parts: the slot index (core/slot_index.h: keys,
// generations, free list, per-slot metadata and scores), the selectors, the rate limiter, and
// with storage the frame manager, write-behind queue, placement policy and segment store.
//
// Locking: one Mutex (util/mutex.h) guards everything mutable. Sampling copies payloads under it
// (DRAM copies only; no I/O is ever done under the lock). Blocking waits (rate limiter) release it.
//
// With storage (table_tier.cc): payload rows live in DRAM frames (RowStore rows indexed by frame,
// not slot) and in segment files; per slot, dram_ (tier/frame_manager.h) names its frame (or
// kNoFrame: cold) and
// loc_[s] its record (segment kUnwritten until the writer thread wrote it). A writer thread
// drains writes_ (tier/write_behind.h). Lock order: writer_mu_ before mu_; the SegmentStore's own
// mutex is a leaf.
#ifndef STRATA_CORE_TABLE_IMPL_H_
#define STRATA_CORE_TABLE_IMPL_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "core/row_store.h"
#include "core/slot_index.h"
#include "core/slot_snapshot.h"
#include "io/async_reader.h"
#include "limit/rate_limiter.h"
#include "placement/placement_policy.h"
#include "select/selector.h"
#include "strata/table.h"
#include "tier/checkpoint.h"
#include "tier/cold_reader.h"
#include "tier/frame_manager.h"
#include "tier/record_codec.h"
#include "tier/segment_store.h"
#include "tier/write_behind.h"
#include "util/aligned_bytes.h"
#include "util/mmap_region.h"
#include "util/mutex.h"
#include "util/random.h"
#include "util/wakeup.h"

namespace strata::internal {

class TableImpl {
 public:
  static absl::StatusOr<std::unique_ptr<TableImpl>> Create(TableOptions options);
  static absl::StatusOr<RepairReport> Repair(const TableOptions& options);

  absl::Status Insert(const ItemBatch& batch, std::vector<Key>* keys, absl::Duration timeout)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Sample(const SampleOptions& options, SampleBatch* out) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<size_t> Get(absl::Span<const Key> keys, SampleBatch* out,
                             std::vector<size_t>* missing) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<size_t> Scan(Table::ScanCursor* cursor, size_t max_items, SampleBatch* out)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<size_t> Delete(absl::Span<const Key> keys, std::vector<size_t>* missing)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<size_t> DeleteTask(int32_t task) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<size_t> UpdatePriorities(absl::Span<const Key> keys,
                                          absl::Span<const double> priorities,
                                          std::vector<size_t>* missing) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<size_t> UpdateScores(absl::Span<const Table::ScoreUpdate> columns,
                                      absl::Span<const Key> keys, std::vector<size_t>* missing)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status SetRateLimiter(const RateLimiterOptions& options) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Resize(uint64_t max_items, uint64_t dram_budget_bytes)
      ABSL_LOCKS_EXCLUDED(mu_, writer_mu_);
  absl::Status SetSwap(double ratio, uint32_t interval) ABSL_LOCKS_EXCLUDED(mu_);
  void Close() ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  TableInfo info() const ABSL_LOCKS_EXCLUDED(mu_);
  const TableOptions& options() const { return options_; }
  absl::Status CheckInvariants() const ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Checkpoint() ABSL_LOCKS_EXCLUDED(mu_, writer_mu_);
  ~TableImpl();

 private:
  // Where a stored record is, and its length (stored records of compressed schemas vary in
  // length): 16 bytes per slot; segment kUnwritten until the writer stored it.
  using Location = SlotSnapshot::Record;
  static constexpr uint32_t kUnwritten = SlotSnapshot::kUnstored;
  static constexpr uint32_t kNoFrame = FrameManager::kNoFrame;
  // The cold part of a Sample/Get, carried out of the lock.
  struct ReadPlan {
    struct Cold {
      size_t index;  // position in the batch
      Key key;
      Location loc;
      uint32_t length;
      size_t staging_offset;                   // where the record is read to, unless direct
      bool into_output;                        // read straight into the output array
      std::shared_ptr<const Segment> segment;  // the pin
    };
    std::vector<Cold> cold;
    size_t n = 0;               // batch size
    std::vector<uint8_t*> dst;  // per field: the batch's output array (fixed fields)
    // One fixed field whose row is the whole record: cold records are read straight into the
    // output array.
    bool direct = false;
    // Tables with bytes fields: the bytes of resident items are copied to `staging` under the
    // lock (their fixed fields go straight to the output), cold items' records are read there
    // and decoded; every item's bytes are then written to the batch together.
    bool staged = false;
    std::vector<uint8_t> resident;          // per batch position (staged)
    std::vector<uint64_t> staging_offsets;  // per batch position: a cold item's record
    std::vector<uint32_t> record_lengths;   // per batch position: a cold item's record
    // Per batch position and bytes field, a resident item's value in `staging`: offset, length.
    std::vector<std::pair<uint64_t, uint64_t>> resident_bytes;
    AlignedBytes staging;  // page-aligned: O_DIRECT reads land here
  };

  // An ItemBatch matched against the schema: per field, where item i's data is.
  struct BoundField {
    const uint8_t* data = nullptr;             // fixed: n rows back to back
    const char* bytes = nullptr;               // variable, packed form
    const uint64_t* offsets = nullptr;         // variable, packed form (n + 1)
    const std::string_view* values = nullptr;  // variable, view form
  };
  struct BoundBatch {
    size_t n = 0;
    absl::InlinedVector<BoundField, 4> fields;
    absl::InlinedVector<const float*, 2> scores;  // per score column, or nullptr
    absl::Span<const double> priorities;          // empty: use the running max
    absl::Span<const int32_t> groups;             // empty: 0
    absl::Span<const int32_t> tasks;              // empty: 0
    uint64_t total_bytes = 0;
  };

  explicit TableImpl(TableOptions options);
  // Creates the selectors, limiter and arrays (Create's work after validating the options).
  absl::Status Build() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Status Bind(const ItemBatch& batch, BoundBatch* bound) const;
  uint64_t ItemBytes(const BoundBatch& b, size_t i) const;
  std::string_view ItemBytesField(const BoundBatch& b, size_t field, size_t i) const;

  // Inserts item i of `b` (making room first). Returns its key, or kNoKey if dropped.
  Key InsertOne(const BoundBatch& b, size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the table holds more than max_items/max_bytes allow once `more_items` items of
  // `more` bytes are added.
  bool Overfull(uint64_t more, size_t more_items) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  enum class Removal { kEvicted, kExpired, kDeleted };
  void RemoveSlot(Slot slot, Removal why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls fn(i, slot) for each keys[i] that names a live item, in order; the others are counted
  // as missing and their indices appended to `*missing` when given. One pass, prefetching the
  // metadata of keys a few places ahead (keys name random slots).
  template <typename Fn>
  void ForEachLive(absl::Span<const Key> keys, std::vector<size_t>* missing, Fn fn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    constexpr size_t kAhead = 16;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i + kAhead < keys.size()) {
        index_.PrefetchKey(keys[i + kAhead]);
      }
      const Slot slot = index_.Resolve(keys[i]);
      if (slot == kNoSlot) {
        ++counters_.missing_keys;
        if (missing != nullptr) missing->push_back(i);
        continue;
      }
      fn(i, slot);
    }
  }
  SelectorItem ItemFor(int score_column, Slot slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies slots[0..n) into `out` (payload + metadata; not probabilities/weights), counting a
  // sample of each when `count_sample` (a slot repeated in the batch is counted each time).
  // With storage, the cold items go to `*plan` (CompleteReads finishes them after unlocking).
  void Fill(const Slot* slots, size_t n, bool count_sample, SampleBatch* out, ReadPlan* plan)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckOpen() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- SSD tier (table_tier.cc) ---
  static SegmentStore::Options StoreOptions(const TableOptions& o);
  absl::Status OpenStorage() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Restore(const SegmentStore::Recovered& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What a checkpoint keeps besides the slots (table_checkpoint.cc): counters, sequence, Rng,
  // limiter and the selectors' states, copied under the lock.
  void SnapshotScalars(CheckpointData* d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Slots a checkpoint copies per critical section: ~0.5 ms of copying.
  static constexpr Slot kCheckpointChunkSlots = 32768;
  std::array<uint64_t*, CheckpointData::kNumCounters> CheckpointCounters()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The stored record's length (slot must be stored).
  uint32_t RecordLength(Slot slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return loc_[slot].length;
  }
  // Serializes slot's resident raw record (docs/format.md) at the end of *out.
  void AppendRecord(Slot slot, AlignedBytes* out) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Pads *out with zeros to the records' alignment (4096 with direct_io, else 1).
  void PadRecords(AlignedBytes* out) const {
    out->resize((out->size() + record_align_ - 1) / record_align_ * record_align_);
  }
  // True when an item of `bytes` can get a frame now (free, or by demoting a clean one).
  bool FrameAvailable(uint64_t bytes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits until FrameAvailable and the write queue has room; storage errors end the wait.
  absl::Status AwaitRoom(uint64_t bytes, absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives `slot` a frame for a copy of `bytes`, demoting clean copies in placement order first.
  uint32_t TakeFrame(Slot slot, uint64_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Demote(Slot slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RemoveSlot's part: frees the slot's frame and tombstones its stored record.
  void ReleaseFrame(Slot slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Frees the slot's frame (and its bytes fields); `clean`: its copy was written.
  void ReleaseFrameOf(Slot slot, bool clean) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A live item's payload bytes.
  uint64_t ItemBytesOf(Slot slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return index_.item_bytes(slot);
  }
  void Enqueue(Key key, bool tombstone) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WakeWriter();
  void WriterLoop() ABSL_LOCKS_EXCLUDED(mu_, writer_mu_);
  // Writes one group from the queue; false when the queue was empty or the write failed
  // (then *failed is set, the group is queued again and writes_.error() says why).
  bool WriteGroup(bool* failed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status AwaitDurable(uint64_t ticket, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StopWriter() ABSL_LOCKS_EXCLUDED(mu_, writer_mu_);
  absl::Status CheckpointLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  // One step of compaction (table_compact.cc); false when there was nothing to do yet.
  bool CompactStep() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  Key KeyOf(Slot slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return index_.KeyOf(slot); }
  // Fills the plan's cold items (and staged records) into `out`, outside the lock; DataLoss
  // items are removed from the table.
  absl::Status CompleteReads(ReadPlan* plan, SampleBatch* out) ABSL_LOCKS_EXCLUDED(mu_);
  void FillTiered(const Slot* slots, size_t n, ReadPlan* plan, uint8_t* const* dst,
                  SampleBatch* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The payload layout (stride, field offsets), which never changes after Build: readable
  // without the lock. Never touch rows through it.
  const RowStore& layout() const ABSL_NO_THREAD_SAFETY_ANALYSIS { return store_; }
  // --- Residency changes beyond the writer (table_swap.cc) ---
  // Whether `slot` is in the sampler: always, except in resident mode without a DRAM copy.
  bool InSampler(Slot slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !resident_sampling_ || dram_.resident(slot);
  }
  // Where a live slot of a table with storage is, as placement sees it.
  Residence ResidenceOf(Slot slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (dram_.resident(slot)) {
      return loc_[slot].segment == kUnwritten ? Residence::kDirty : Residence::kClean;
    }
    return in_cold_[slot] ? Residence::kCold : Residence::kMoving;
  }
  // Tells the placement policy that `slot` moved from `from` to `to` (kNone: not live).
  void Transit(Slot slot, Residence from, Residence to) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells it that the live `slot`'s priority or its score changed.
  void TellPlacement(Slot slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    placement_->Update(ItemFor(placement_->score_column(), slot), ResidenceOf(slot));
  }
  // Resident mode: after a sampled batch, maybe queue a swap of some of its items.
  void MaybeQueueSwap(const Slot* slots, size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WakeMaintenance();
  void MaintenanceLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // One round of swaps / promotions / warm-up; false when there was nothing to do.
  bool MaintenanceStep() ABSL_LOCKS_EXCLUDED(mu_);
  // Brings each replacement into DRAM in place of its victim (kNoSlot: into a free frame):
  // reads without the lock, then re-checks both and switches frames under it.
  struct SwapPair {
    Slot victim;
    Key victim_key;
    Slot in;
    Key in_key;
  };
  void SwapIn(std::vector<SwapPair> pairs, bool is_swap) ABSL_LOCKS_EXCLUDED(mu_);
  void StopMaintenance();
  // How the background threads (writer, maintenance) take mu_: they announce the wait, and
  // Sample and Insert, which would otherwise retake the (unfair) mutex at once, let them in first
  // (YieldToBackground). Without it a sampler looping at memory speed starves the swapper.
  class ABSL_SCOPED_LOCKABLE BackgroundLock {
   public:
    explicit BackgroundLock(TableImpl* t) ABSL_EXCLUSIVE_LOCK_FUNCTION(t->mu_) : t_(t) {
      t_->background_waiting_.fetch_add(1, std::memory_order_relaxed);
      t_->mu_.Lock();
      t_->background_waiting_.fetch_sub(1, std::memory_order_relaxed);
    }
    ~BackgroundLock() ABSL_UNLOCK_FUNCTION() { t_->mu_.Unlock(); }
    BackgroundLock(const BackgroundLock&) = delete;
    BackgroundLock& operator=(const BackgroundLock&) = delete;

   private:
    TableImpl* const t_;
  };
  void YieldToBackground() const {
    for (int i = 0; i < 100 && background_waiting_.load(std::memory_order_relaxed) > 0; ++i) {
      std::this_thread::yield();
    }
  }
  void TierInfoLocked(TierInfo* info) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckTierInvariants() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Immutable configuration.
  const TableOptions options_;
  RecordLayout record_layout_;      // set by Build, then immutable: readable without the lock
  const size_t capacity_;           // slots the arrays are sized for: options_.max_items
  const uint64_t max_dram_budget_;  // DRAM rows are reserved for this (tables with storage)
  int sampler_score_ = -1;          // score column each selector orders by, or -1
  int remover_score_ = -1;

  mutable Mutex mu_;
  // Protected by mu_.
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  size_t max_items_ ABSL_GUARDED_BY(mu_);      // live limit (Resize), <= capacity_
  uint64_t dram_budget_ ABSL_GUARDED_BY(mu_);  // live DRAM budget (Resize)
  double swap_ratio_ ABSL_GUARDED_BY(mu_);     // live swap settings (SetSwap)
  uint32_t swap_interval_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t arrivals_ ABSL_GUARDED_BY(mu_) = 0;  // for the reservoir
  double max_priority_ ABSL_GUARDED_BY(mu_) = 1.0;
  Rng rng_ ABSL_GUARDED_BY(mu_);
  RowStore store_ ABSL_GUARDED_BY(mu_);
  // Keys, generations, the free list, per-slot metadata, payload bytes and scores; the live
  // count and bytes.
  SlotIndex index_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Selector> sampler_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Selector> remover_ ABSL_GUARDED_BY(mu_);  // may be null
  std::unique_ptr<RateLimiter> limiter_ ABSL_GUARDED_BY(mu_);
  TableInfo counters_ ABSL_GUARDED_BY(mu_);
  // --- SSD tier; tiered_ is false and the rest empty for a DRAM-only table. ---
  const bool tiered_;
  const size_t record_align_;  // records start at multiples of this in data files
  uint64_t frames_ = 0;        // DRAM frames that hold resident items (rows of store_)
  uint64_t spare_rows_ = 0;    // more rows, for swap-ins being read (see table_swap.cc)
  std::unique_ptr<SegmentStore> segments_;  // thread-safe
  // Bytes a record of `length` takes in a data file (records start at multiples of
  // record_align_); live_bytes_ counts these, so that a segment's live ratio is right with
  // O_DIRECT padding (else compaction would rewrite padded segments over and over).
  uint64_t FileSpan(uint64_t length) const {
    return (length + record_align_ - 1) / record_align_ * record_align_;
  }
  std::unique_ptr<AsyncReader> reader_;             // thread-safe
  std::vector<Location> loc_ ABSL_GUARDED_BY(mu_);  // per slot
  FrameManager dram_ ABSL_GUARDED_BY(mu_);          // slot <-> frame, free and spare rows, bytes
  // Which items keep a DRAM copy (src/placement/): told every Residence change (Transit).
  std::unique_ptr<PlacementPolicy> placement_ ABSL_GUARDED_BY(mu_);
  // Writes owed to storage (queue, tickets, durable watermark, the last storage error).
  WriteBehind writes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, uint64_t> live_bytes_
      ABSL_GUARDED_BY(mu_);  // per segment (FileSpan)
  uint64_t stored_items_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t stored_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  TierInfo tier_counters_ ABSL_GUARDED_BY(mu_);
  const bool resident_sampling_;                       // TierSampling::kResident
  std::vector<uint8_t> in_cold_ ABSL_GUARDED_BY(mu_);  // per slot: Residence::kCold
  uint64_t batches_since_swap_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::vector<Key>> swap_requests_ ABSL_GUARDED_BY(mu_);
  // The maintenance thread: swaps, promotions, warm-up after open.
  std::thread maintenance_;
  Wakeup maintenance_wakeup_;
  std::atomic<int> background_waiting_{0};  // background threads waiting for mu_
  AlignedBytes swap_staging_;               // used by the maintenance thread only (SwapIn)
  // A spare row being filled by SwapIn: it belongs to the maintenance thread until SwapIn hands
  // it over under the lock, so it is written without the lock.
  uint8_t* SpareRow(uint32_t frame) ABSL_NO_THREAD_SAFETY_ANALYSIS { return store_.row_ptr(frame); }
  // Decodes a verified record into spare row `frame` (the row image, unless it was read in
  // place, and the bytes fields); false if its lengths do not add up.
  bool FillSpare(uint32_t frame, std::string_view record) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // The writer thread. writer_mu_ is held while a group is written, so Checkpoint can stop the
  // writer between groups.
  Mutex writer_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::thread writer_;
  Wakeup writer_wakeup_;
  AlignedBytes write_buffer_ ABSL_GUARDED_BY(writer_mu_);  // a write group's stored records
  AlignedBytes write_raw_ ABSL_GUARDED_BY(writer_mu_);     // its raw records (compressed schemas)
  bool checkpointed_at_close_ ABSL_GUARDED_BY(writer_mu_) = false;
  // The segment being compacted: its live items when it was picked, and how far we got.
  struct Compaction {
    bool active = false;
    uint32_t victim = 0;
    std::vector<Key> keys;
    size_t next = 0;
    uint64_t data_bytes = 0;
    uint64_t moved_bytes = 0;  // record bytes moved out so far (the summary logged at the end)
  };
  Compaction compaction_ ABSL_GUARDED_BY(writer_mu_);
  absl::Time compaction_not_before_ ABSL_GUARDED_BY(writer_mu_) = absl::InfinitePast();
  std::atomic<bool> storage_open_{false};

  // Scratch for Sample, reused across calls.
  std::vector<Slot> scratch_slots_ ABSL_GUARDED_BY(mu_);
  std::vector<SelectorItem> scratch_items_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::internal

#endif  // STRATA_CORE_TABLE_IMPL_H_
