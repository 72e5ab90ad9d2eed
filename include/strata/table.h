// Table: a named, bounded collection of items under a schema, sampled and evicted by pluggable
// selectors and paced by a rate limiter. The heart of Strata.
//
//   Table ──owns──> payload columns (one array per fixed field; per-item blocks for bytes fields)
//     │             metadata arrays (generation, priority, group, task, seq, times sampled, scores)
//     ├──owns──> sampler  (Selector: which item Sample returns)
//     ├──owns──> remover  (Selector: which item is evicted when full)
//     └──owns──> rate limiter (paces inserts against samples)
//
// Lifecycle: Create -> any calls from any threads -> Close (optional; wakes blocked callers
// with Cancelled, later calls fail with FailedPrecondition) -> destruction (callers must have
// returned). Thread-safe: every method may be called concurrently. One mutex guards the table;
// blocking calls release it while they wait. Tables are independent of each other.
//
// Every batch call validates the whole batch first: on an error nothing is changed.
#ifndef STRATA_TABLE_H_
#define STRATA_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "strata/batch.h"
#include "strata/options.h"
#include "strata/rate_limiter.h"
#include "strata/repair.h"

namespace strata {
namespace internal {
class TableImpl;
}  // namespace internal

struct SampleOptions {
  size_t batch_size = 1;  // >= 1
  // With replacement, an item may appear several times in one batch. Ordered samplers (FIFO,
  // LIFO, heaps) always return distinct items.
  bool replacement = true;
  // How long to wait for the rate limiter; InfiniteDuration waits forever.
  absl::Duration timeout = absl::InfiniteDuration();
  // Importance-weight exponent for this call (Prioritized samplers; e.g. annealed from 0.4 to 1
  // over training); negative: the sampler's configured beta. Must not be NaN or infinite.
  double beta = -1;
};

// The SSD tier's state and counters (all zero for a DRAM-only table).
struct TierInfo {
  bool enabled = false;
  uint64_t dram_items = 0;      // items with a DRAM copy
  uint64_t dram_bytes = 0;      // their payload bytes (<= dram_budget_bytes)
  uint64_t stored_items = 0;    // items whose record is written to storage
  uint64_t stored_bytes = 0;    // their record bytes
  uint64_t disk_bytes = 0;      // segment files, including garbage of removed items
  uint64_t pending_writes = 0;  // items and tombstones queued for the writer
  uint64_t dram_hits = 0;       // items Sample/Get served from DRAM
  uint64_t dram_misses = 0;     // ... read from storage
  double dram_hit_rate = 0;     // hits / (hits + misses)
  uint64_t reads_issued = 0;    // storage reads submitted
  uint64_t reads_completed = 0;
  uint64_t read_bytes = 0;
  uint64_t reads_in_flight = 0;  // queue depth now
  uint64_t max_reads_in_flight = 0;
  double read_p50_us = 0;  // read latency percentiles
  double read_p99_us = 0;
  double read_latency_total_us = 0;  // sum over completed reads: a window's mean is
                                     // delta(read_latency_total_us) / delta(reads_completed)
  uint64_t writes_issued = 0;        // segment appends (one per write group)
  uint64_t records_written = 0;      // item records and tombstones
  uint64_t bytes_written = 0;
  uint64_t syncs = 0;
  uint64_t demotions = 0;               // DRAM copies dropped to make room
  uint64_t promotions = 0;              // stored items given a DRAM copy (placement, warm-up)
  uint64_t swaps = 0;                   // resident mode: items swapped in
  uint64_t swaps_skipped = 0;           // swaps dropped because the swapper was behind
  uint64_t swaps_requested = 0;         // victims chosen for swapping (swapped, skipped or not
                                        // replaceable: nothing of their group on storage only)
  double swap_ratio = 0;                // live swap settings (Table::SetSwap)
  uint32_t swap_interval = 0;           // (0 without storage)
  uint64_t dram_budget_bytes = 0;       // live budget (Table::Resize)
  uint64_t swap_bytes = 0;              // record bytes read by swaps and promotions
  uint64_t segments = 0;                // segment files holding live records
  uint64_t segments_compacted = 0;      // segments rewritten or deleted by compaction
  uint64_t compaction_bytes_moved = 0;  // live record bytes copied by compaction
  uint64_t compaction_bytes_freed = 0;  // data bytes of deleted segments
  double compaction_progress = 0;       // of the segment being compacted now (0..1; 0 when idle)
  uint64_t corrupt_items = 0;           // records that failed their checksum or were cut short by a
                                        // truncated file (DataLoss, once; the item is removed)
  uint64_t recovered_items = 0;         // items restored when the table was opened
  uint64_t bad_index_entries = 0;       // torn/corrupt index entries skipped at open
  uint64_t checkpoints = 0;             // checkpoints written since the table was opened
  double checkpoint_ms = 0;             // the last one's duration (copy, encode, write, sync)
  double checkpoint_max_lock_us = 0;    // the longest the last one held the table lock at once
  std::string reader;                   // "io_uring" or the fallback in use
  std::string storage_error;            // the last write error, empty once writes succeed again
  // Placement::kGroupBalanced: per group, its items with a written DRAM copy and its items in
  // all, ordered by group.
  struct Group {
    int32_t group = 0;
    uint64_t dram_items = 0;
    uint64_t items = 0;
  };
  std::vector<Group> groups;
};

// Counters since creation and the current state.
struct TableInfo {
  std::string name;
  std::string schema;
  std::string sampler;
  std::string remover;
  uint64_t size = 0;   // live items
  uint64_t bytes = 0;  // payload bytes of live items
  uint64_t max_items = 0;
  uint64_t max_bytes = 0;
  uint64_t inserted = 0;  // items inserted
  uint64_t dropped = 0;   // items refused by the insertion policy
  uint64_t sampled = 0;   // items returned by Sample
  uint64_t evicted = 0;   // removed by the remover to make room
  uint64_t expired = 0;   // removed after max_times_sampled
  uint64_t deleted = 0;   // removed by Delete
  uint64_t priority_updates = 0;
  uint64_t score_updates = 0;
  uint64_t missing_keys = 0;  // stale or unknown keys seen by Get/Delete/Update*
  bool closed = false;
  RateLimiterInfo rate_limiter;
  TierInfo tier;
};

class Table {
 public:
  // InvalidArgument naming the bad option (no fields, max_items 0, alpha < 0, a GroupBalanced
  // score column not in the schema, reservoir without a remover, invalid rate limiter...).
  // With storage_dir, opening never deletes a file it cannot account for (docs/format.md,
  // "Recovery"): a missing MANIFEST beside segment files, files the MANIFEST leaves out, a
  // checkpoint naming a missing segment, or a crafted entry are DataLoss naming the file (and
  // entry) with nothing changed; Repair is the explicit way on from there.
  static absl::StatusOr<std::unique_ptr<Table>> Create(TableOptions options);

  // Repairs options.storage_dir (no table may have it open) so that Create with these options
  // opens it: rebuilds the MANIFEST from the segment and checkpoint files present, keeping a
  // readable checkpoint (minus items in segments that are gone), and moves every file it cannot
  // place into storage_dir/lost/ — nothing is deleted but temporaries and files the manifest
  // listed as obsolete. Errors: InvalidArgument (no storage_dir), NotFound (no directory),
  // FailedPrecondition (open elsewhere; the directory holds another schema), Env errors.
  static absl::StatusOr<RepairReport> Repair(const TableOptions& options);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  // Inserts batch.size() items, appending one key per item to `*keys` (kNoKey for an item the
  // insertion policy dropped). Makes room by evicting with the remover. Blocks while the rate
  // limiter holds inserts back, up to `timeout`.
  // Errors: InvalidArgument (unknown or missing field, wrong dtype or shape, inconsistent batch
  // size, NaN/negative/infinite priority, NaN score, item larger than max_bytes) with nothing
  // inserted; ResourceExhausted when full without a remover; DeadlineExceeded / Cancelled while
  // waiting, in which case the items admitted before the wait stay inserted and their keys are in
  // `*keys`; FailedPrecondition when closed.
  absl::Status Insert(const ItemBatch& batch, std::vector<Key>* keys,
                      absl::Duration timeout = absl::InfiniteDuration());

  // Samples options.batch_size items into `*out` (reusing its buffers when it can), incrementing
  // their times_sampled and removing those that reach max_times_sampled. Blocks on the rate
  // limiter up to options.timeout.
  // Errors: InvalidArgument (batch_size 0 or above the larger of max_items and 2^20, checked
  // before anything is allocated or waited for; more than size() items without replacement or
  // from an ordered sampler); DataLoss when stored items are lost (a checksum mismatch or a
  // truncated file: reported once, naming keys and files; those items are removed);
  // DeadlineExceeded; Cancelled; FailedPrecondition when closed. On error `*out`
  // is unspecified and the table unchanged.
  absl::Status Sample(const SampleOptions& options, SampleBatch* out);

  // Copies the items with `keys` into `*out` (probabilities and weights left empty), in order,
  // skipping keys that are stale or unknown; their indices into `keys` go to `*missing`.
  // Returns the number found. Does not count as sampling.
  absl::StatusOr<size_t> Get(absl::Span<const Key> keys, SampleBatch* out,
                             std::vector<size_t>* missing = nullptr);

  // Where a Scan goes on from. A default-constructed cursor starts at the beginning.
  struct ScanCursor {
    uint64_t next_slot = 0;
    bool done = false;  // true once the scan passed every slot in use
  };
  // Copies up to `max_items` (in [1, 2^20]) live items into `*out` — fields, keys, priorities,
  // groups, tasks, times sampled and scores (SampleBatch::scores) — in slot order from
  // `*cursor`, and advances it; returns how many. Items present for the whole scan are returned
  // exactly once; items inserted or removed meanwhile may or may not be. Does not count as
  // sampling and leaves selectors and the rate limiter alone. Holds the table lock for one
  // bounded chunk (it may return fewer items than asked, even 0, before `done`); stored items
  // are read without it. Errors: InvalidArgument; FailedPrecondition when closed; DataLoss for
  // lost records (those items are removed and the cursor stays, so calling again re-reads the
  // chunk without them).
  absl::StatusOr<size_t> Scan(ScanCursor* cursor, size_t max_items, SampleBatch* out);

  // Removes the items with `keys`; stale or unknown keys are skipped and reported in `*missing`
  // (indices into `keys`). Returns the number removed.
  absl::StatusOr<size_t> Delete(absl::Span<const Key> keys, std::vector<size_t>* missing = nullptr);

  // Removes every item inserted with `task` (ItemBatch::set_tasks); returns the number removed.
  // O(slots ever used). E.g. a continual-learning run rolling back a task it did not finish.
  absl::StatusOr<size_t> DeleteTask(int32_t task);

  // Sets priorities[i] on the item keys[i] (the last one wins for repeated keys); a stale or
  // unknown key is never applied to another item: it is skipped and its index goes to
  // `*missing`. Returns the number applied. InvalidArgument (nothing applied) on a length
  // mismatch or a NaN, infinite or negative priority.
  absl::StatusOr<size_t> UpdatePriorities(absl::Span<const Key> keys,
                                          absl::Span<const double> priorities,
                                          std::vector<size_t>* missing = nullptr);

  // As UpdatePriorities, for the score column `column` (InvalidArgument if unknown, or NaN).
  absl::StatusOr<size_t> UpdateScores(std::string_view column, absl::Span<const Key> keys,
                                      absl::Span<const float> values,
                                      std::vector<size_t>* missing = nullptr);
  // Several score columns at once, in one step: every column is checked first (known, one value
  // per key, no NaN; InvalidArgument naming it, nothing applied), then all are set together, so
  // no other call sees some columns updated and not others.
  struct ScoreUpdate {
    std::string_view column;
    absl::Span<const float> values;
  };
  absl::StatusOr<size_t> UpdateScores(absl::Span<const ScoreUpdate> columns,
                                      absl::Span<const Key> keys,
                                      std::vector<size_t>* missing = nullptr);

  // Replaces the rate limiter's options on the live table, keeping its counters; blocked
  // callers re-check at once. InvalidArgument (no change) if invalid.
  absl::Status SetRateLimiter(const RateLimiterOptions& options);

  // Changes the limits of the live table. max_items: in [1, TableOptions::max_items] (the
  // capacity the table was created with); below size(), the remover evicts down to it
  // (InvalidArgument without a remover). dram_budget_bytes (tables with storage; 0 keeps it):
  // in [one item, max_dram_budget_bytes]; shrinking drops DRAM copies in placement order
  // (waiting for unwritten items to be written), growing refills DRAM from storage in the
  // background (Placement::kGroupBalanced: fewest-copies groups first). InvalidArgument (no
  // change) when out of range. The change survives reopening only if made again: options set at
  // open win.
  absl::Status Resize(uint64_t max_items, uint64_t dram_budget_bytes = 0);

  // TierSampling::kResident: replaces swap_ratio (in [0, 1]) and swap_interval (>= 1) on the live
  // table; the next sampled batch uses them. InvalidArgument if out of range or for other tables.
  absl::Status SetSwap(double ratio, uint32_t interval);

  // Tables with storage: writes every queued item, then a checkpoint of the metadata (priorities,
  // scores, counters), so that reopening the directory restores exactly this state. Blocks on
  // the disk. Also done by Close. Without storage: OK, nothing to do.
  absl::Status Checkpoint();

  // Wakes every blocked caller with Cancelled; later calls fail with FailedPrecondition.
  // With storage, then writes what is queued and a checkpoint (errors are dropped: call
  // Checkpoint first to see them). Idempotent. Items stay readable through info().
  void Close();

  size_t size() const;
  TableInfo info() const;
  const TableOptions& options() const;

  // Verifies every internal invariant (selector structures agree with the live items, the
  // sum-tree total equals the sum of priorities, byte counts, free list). O(n); for tests.
  absl::Status CheckInvariants() const;

 private:
  explicit Table(std::unique_ptr<internal::TableImpl> impl);
  std::unique_ptr<internal::TableImpl> impl_;
};

}  // namespace strata

#endif  // STRATA_TABLE_H_
