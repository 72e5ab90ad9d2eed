// RowStore: the DRAM payload of one table.
//
//   fixed fields:  [ slot 0: f0 | f1 | ... ][ slot 1: f0 | f1 | ... ] ...   one MmapRegion,
//                  `stride` bytes per slot, each field at a fixed offset aligned to its dtype
//   bytes fields:  slot -> heap block (exactly the item's length) + length, per field
//
// Items are rows, not columns: sampling reads random items, and one item's fields then share
// cache lines and pages (one TLB miss and one hardware-prefetch stream per item instead of one
// per field). A gather still writes each field to its own contiguous output array, the layout
// a tensor wants. Address space for `capacity` rows is reserved up front (huge pages where the
// kernel allows) and committed as slots are first written.
//
// Externally synchronized (the table's mutex); holds no locks itself.
#ifndef STRATA_CORE_ROW_STORE_H_
#define STRATA_CORE_ROW_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "select/selector.h"
#include "strata/schema.h"
#include "util/mmap_region.h"

namespace strata::internal {

class RowStore {
 public:
  static absl::StatusOr<RowStore> Create(const Schema& schema, size_t capacity);

  // Fixed fields.
  size_t row_bytes(size_t field) const { return fields_[field].row_bytes; }
  size_t field_offset(size_t field) const { return fields_[field].offset; }  // within a row
  uint8_t* field_ptr(size_t field, Slot slot) {
    return rows_.data() + static_cast<size_t>(slot) * stride_ + fields_[field].offset;
  }
  // Copies slots[0..n) into dst[f] (one array per fixed field f, rows back to back; entries for
  // bytes fields are ignored).
  void Gather(const Slot* slots, size_t n, uint8_t* const* dst) const {
    // Rows are random, so memory latency dominates: start loading a row a few items ahead.
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) PrefetchRow(slots[i + kPrefetchAhead]);
      CopyRow(slots[i], i, dst);
    }
  }

  // Starts loading the row of `slot` when rows are at most one cache line (else nothing: long
  // rows are prefetched by Gather itself). Lets a caller overlap small rows' misses with its own.
  void PrefetchSmallRow(Slot slot) const {
    if (stride_ <= 64) __builtin_prefetch(rows_.data() + static_cast<size_t>(slot) * stride_);
  }

  // Whole rows (the SSD tier's records start with a row image; see docs/format.md).
  size_t stride() const { return stride_; }
  const uint8_t* row_ptr(size_t row) const { return rows_.data() + row * stride_; }
  uint8_t* row_ptr(size_t row) { return rows_.data() + row * stride_; }
  // Copies the fixed fields of DRAM row `row` to position i of each dst[f].
  void CopyRowOut(size_t row, size_t i, uint8_t* const* dst) const {
    ScatterRow(row_ptr(row), i, dst);
  }
  // Copies the fixed fields of a row image to position i of each dst[f].
  void ScatterRow(const uint8_t* image, size_t i, uint8_t* const* dst) const {
    for (size_t f : fixed_fields_) {
      const Field& field = fields_[f];
      field.copy(dst[f] + i * field.row_bytes, image + field.offset, field.row_bytes);
    }
  }
  const std::vector<size_t>& fixed_fields() const { return fixed_fields_; }
  const std::vector<size_t>& variable_fields() const { return variable_fields_; }

  // Bytes fields.
  void SetBytes(size_t field, Slot slot, const char* data, size_t len);
  std::string_view GetBytes(size_t field, Slot slot) const;
  // Releases every bytes field of `slot`.
  void ReleaseBytes(Slot slot);

  using CopyFn = void (*)(uint8_t* dst, const uint8_t* src, size_t bytes);

 private:
  struct Field {
    bool variable = false;
    size_t row_bytes = 0;
    size_t offset = 0;  // within the row
    CopyFn copy = nullptr;
    std::vector<std::unique_ptr<char[]>> blocks;  // bytes fields, per slot
    std::vector<uint64_t> lengths;                // bytes fields, per slot
  };

  // Items ahead that Gather prefetches. 4..8 measured alike on W4 (392 B rows); 12 and 16 were a
  // few percent slower, presumably prefetches queueing for line-fill buffers.
  static constexpr size_t kPrefetchAhead = 8;
  void PrefetchRow(Slot slot) const {
    // Up to 8 lines; the hardware streams the rest of a longer row.
    const uint8_t* row = rows_.data() + static_cast<size_t>(slot) * stride_;
    for (size_t l = 0; l < prefetch_lines_; ++l) __builtin_prefetch(row + 64 * l);
  }
  // Copies `slot`'s fixed fields to row i of each dst[f].
  void CopyRow(Slot slot, size_t i, uint8_t* const* dst) const { CopyRowOut(slot, i, dst); }

  std::vector<Field> fields_;
  std::vector<size_t> fixed_fields_;
  std::vector<size_t> variable_fields_;
  size_t stride_ = 0;
  size_t prefetch_lines_ = 0;
  MmapRegion rows_;
};

}  // namespace strata::internal

#endif  // STRATA_CORE_ROW_STORE_H_
