// BatchFiller: writes the columns of a SampleBatch for a list of slots — the one place that
// shapes a batch. Metadata comes from the slot index, DRAM payloads straight from the row store
// (a DRAM hit never goes through the record format, with or without bytes fields); the payloads
// of cold items are written by the table's read plan into the arrays Shape reserved.
//
// Use, under the table's lock: Shape, Metadata, then the payloads (Gather for a DRAM-only table,
// CopyRow per resident item of a table with storage); bytes fields last, from views of each
// item's values (WriteBytes), which for cold items is after their reads, outside the lock.
#ifndef STRATA_CORE_BATCH_FILLER_H_
#define STRATA_CORE_BATCH_FILLER_H_

#include <cstddef>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "core/row_store.h"
#include "core/slot_index.h"
#include "strata/batch.h"
#include "strata/schema.h"

namespace strata::internal {

class BatchFiller {
 public:
  // Per field, the output array of a fixed field (nullptr for a bytes field).
  using Arrays = absl::InlinedVector<uint8_t*, 8>;

  // Shapes `out` for n items of `schema` (names, dtypes, shapes) and reserves the fixed fields'
  // output arrays; clears the scores (Scores fills them).
  static Arrays Shape(const Schema& schema, const RowStore& layout, size_t n, SampleBatch* out);
  // Keys, priorities, groups, tasks and times sampled of `slots`, counting a sample of each
  // when `count_sample` (a slot repeated in the batch is counted each time). `rows_by_slot`:
  // a DRAM-only table's rows, whose small rows are prefetched along for the Gather after it.
  static void Metadata(SlotIndex& index, absl::Span<const Slot> slots, bool count_sample,
                       SampleBatch* out, const RowStore* rows_by_slot = nullptr);
  // The score columns of `slots`, item by item (Scan).
  static void Scores(const SlotIndex& index, absl::Span<const Slot> slots, SampleBatch* out);
  // Every bytes field of `out`: values[i * nvar + v] is item i's v-th bytes field (nvar bytes
  // fields in schema order, layout.variable_fields()).
  static void WriteBytes(const RowStore& layout, size_t n,
                         absl::Span<const std::string_view> values, SampleBatch* out);
  // The views WriteBytes takes, for items whose DRAM rows are `row_of_item` (valid while the
  // lock is held).
  static void BytesOf(const RowStore& rows, absl::Span<const Slot> row_of_item,
                      absl::Span<std::string_view> values);
};

}  // namespace strata::internal

#endif  // STRATA_CORE_BATCH_FILLER_H_
