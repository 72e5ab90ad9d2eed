// The bytes of one item's record in a segment data file (docs/format.md, "Data file"):
//
//   row image     `stride` bytes: the fixed fields at their DRAM row offsets
//   bytes fields  per bytes field, in schema order: u32 length, then the bytes
//
// Pure functions over a RecordLayout: no I/O, no locks, no table state. Every writer (the write
// group, compaction's copies) and every reader (sample, get, swap, warm-up) goes through them.
#ifndef STRATA_TIER_RECORD_CODEC_H_
#define STRATA_TIER_RECORD_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/types/span.h"
#include "util/aligned_bytes.h"

namespace strata::internal {

struct RecordLayout {
  size_t stride = 0;         // row image bytes (RowStore::stride)
  size_t bytes_fields = 0;   // number of bytes (variable-size) fields
  uint64_t fixed_bytes = 0;  // payload bytes of the fixed fields (Schema::fixed_row_bytes)
};

// The record length of an item whose payload (fixed fields + bytes fields) is `item_bytes`.
uint64_t RecordLength(const RecordLayout& layout, uint64_t item_bytes);

// The payload bytes of an item whose record is `length` bytes; false when no item of this
// layout has a record of that length (a crafted or corrupt length).
bool ItemBytesOfRecord(const RecordLayout& layout, uint64_t length, uint64_t* item_bytes);

// Appends the record of an item: its row image and one view per bytes field.
void EncodeRecord(const RecordLayout& layout, const uint8_t* row,
                  absl::Span<const std::string_view> bytes, AlignedBytes* out);

// Splits `record` into its row image (*row, `stride` bytes) and bytes fields (bytes[0..n),
// views into `record`). False when the lengths inside do not add up to the record exactly.
bool DecodeRecord(const RecordLayout& layout, std::string_view record, const char** row,
                  absl::Span<std::string_view> bytes);

}  // namespace strata::internal

#endif  // STRATA_TIER_RECORD_CODEC_H_
