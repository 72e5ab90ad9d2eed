// TableImpl: the implementation behind strata::Table (see include/strata/table.h for the
// contract of each method).
//
// Per-slot metadata, indexed by slot:
//
//   meta_[s]      32 B, half a cache line, so a sampled item costs one miss for all of it:
//     gen       u32  generation; odd while the slot holds an item. Key = gen << 32 | slot.
//     sampled   u32  times sampled
//     group     i32  group (class) id
//     task      i32  task id
//     priority  f64  user priority
//     seq       u64  insertion sequence; for a free slot, the next free slot (free list)
//   item_bytes_[s] u64  payload bytes (only when the schema has bytes fields)
//   scores_[c][s]  f32  score column c (declared by the user: counted as their data)
//
// 32 bytes per slot before selectors (which add 8-20 each), within the 64 B/item budget.
//
// Locking: one Mutex (util/mutex.h) guards everything mutable. Sampling copies payloads under it
// (DRAM copies only; no I/O is ever done under the lock). Blocking waits (rate limiter) release it.
#ifndef STRATA_CORE_TABLE_IMPL_H_
#define STRATA_CORE_TABLE_IMPL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "core/row_store.h"
#include "limit/rate_limiter.h"
#include "select/selector.h"
#include "strata/table.h"
#include "util/mmap_region.h"
#include "util/mutex.h"
#include "util/random.h"

namespace strata::internal {

class TableImpl {
 public:
  static absl::StatusOr<std::unique_ptr<TableImpl>> Create(TableOptions options);

  absl::Status Insert(const ItemBatch& batch, std::vector<Key>* keys, absl::Duration timeout)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Sample(const SampleOptions& options, SampleBatch* out) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<size_t> Get(absl::Span<const Key> keys, SampleBatch* out,
                             std::vector<size_t>* missing) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<size_t> Delete(absl::Span<const Key> keys, std::vector<size_t>* missing)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<size_t> UpdatePriorities(absl::Span<const Key> keys,
                                          absl::Span<const double> priorities,
                                          std::vector<size_t>* missing) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<size_t> UpdateScores(std::string_view column, absl::Span<const Key> keys,
                                      absl::Span<const float> values, std::vector<size_t>* missing)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status SetRateLimiter(const RateLimiterOptions& options) ABSL_LOCKS_EXCLUDED(mu_);
  void Close() ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  TableInfo info() const ABSL_LOCKS_EXCLUDED(mu_);
  const TableOptions& options() const { return options_; }
  absl::Status CheckInvariants() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
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

  absl::Status Bind(const ItemBatch& batch, BoundBatch* bound) const;
  uint64_t ItemBytes(const BoundBatch& b, size_t i) const;
  std::string_view ItemBytesField(const BoundBatch& b, size_t field, size_t i) const;

  // Inserts item i of `b` (making room first). Returns its key, or kNoKey if dropped.
  Key InsertOne(const BoundBatch& b, size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  enum class Removal { kEvicted, kExpired, kDeleted };
  void RemoveSlot(Slot slot, Removal why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The live slot `key` names, or kNoSlot.
  Slot Resolve(Key key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls fn(i, slot) for each keys[i] that names a live item, in order; the others are counted
  // as missing and their indices appended to `*missing` when given. One pass, prefetching the
  // metadata of keys a few places ahead (keys name random slots).
  template <typename Fn>
  void ForEachLive(absl::Span<const Key> keys, std::vector<size_t>* missing, Fn fn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    constexpr size_t kAhead = 16;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i + kAhead < keys.size()) {
        const Slot ahead = static_cast<Slot>(keys[i + kAhead] & 0xFFFFFFFFu);
        if (ahead < high_water_) __builtin_prefetch(&meta_[ahead]);
      }
      const Slot slot = Resolve(keys[i]);
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
  void Fill(const Slot* slots, size_t n, bool count_sample, SampleBatch* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckOpen() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Immutable configuration.
  const TableOptions options_;
  const size_t capacity_;
  int sampler_score_ = -1;  // score column each selector orders by, or -1
  int remover_score_ = -1;

  mutable Mutex mu_;
  // Protected by mu_.
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  size_t size_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t arrivals_ ABSL_GUARDED_BY(mu_) = 0;  // for the reservoir
  double max_priority_ ABSL_GUARDED_BY(mu_) = 1.0;
  Slot high_water_ ABSL_GUARDED_BY(mu_) = 0;  // slots >= this were never used
  Slot free_head_ ABSL_GUARDED_BY(mu_) = kNoSlot;
  Rng rng_ ABSL_GUARDED_BY(mu_);
  RowStore store_ ABSL_GUARDED_BY(mu_);
  struct alignas(32) SlotMeta {
    uint32_t gen = 0;
    uint32_t sampled = 0;
    int32_t group = 0;
    int32_t task = 0;
    double priority = 0;
    uint64_t seq = 0;
  };
  static_assert(sizeof(SlotMeta) == 32);
  // An MmapRegion rather than a std::vector: zeroed (a zero SlotMeta is a free, never-used
  // slot), committed lazily, and on huge pages, because every sampled or updated key is a random
  // access here and at 10M items 4 KB pages make each one a TLB miss too.
  MmapRegion meta_region_;
  SlotMeta* meta_ ABSL_PT_GUARDED_BY(mu_) = nullptr;
  std::vector<uint64_t> item_bytes_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<float>> scores_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Selector> sampler_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Selector> remover_ ABSL_GUARDED_BY(mu_);  // may be null
  std::unique_ptr<RateLimiter> limiter_ ABSL_GUARDED_BY(mu_);
  TableInfo counters_ ABSL_GUARDED_BY(mu_);
  // Scratch for Sample, reused across calls.
  std::vector<Slot> scratch_slots_ ABSL_GUARDED_BY(mu_);
  std::vector<SelectorItem> scratch_items_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::internal

#endif  // STRATA_CORE_TABLE_IMPL_H_
