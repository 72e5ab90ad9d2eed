// The bytes of one item's record in a segment data file (docs/format.md, "Data file").
//
// The raw record — what DRAM holds, and what is stored when no field is compressed:
//
//   row image     `stride` bytes: the fixed fields at their DRAM row offsets
//   bytes fields  per bytes field, in schema order: u32 length, then the bytes
//
// The stored record of a schema with compressed fields (fixed fields only, no bytes fields):
//
//   per fixed field, in schema order:  its bytes as they are, or, when the field is compressed,
//                                      u32 frame length, then one zstd frame of its bytes
//
// Pure functions over a RecordLayout: no I/O, no locks, no table state. Every writer (the write
// group, compaction's copies) and every reader (sample, get, scan, swap, warm-up) goes through
// them. Compression and decompression run on whichever thread calls them — never under the
// table lock.
#ifndef STRATA_TIER_RECORD_CODEC_H_
#define STRATA_TIER_RECORD_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "strata/schema.h"
#include "util/aligned_bytes.h"

namespace strata::internal {

struct RecordLayout {
  size_t stride = 0;         // row image bytes (RowStore::stride)
  size_t bytes_fields = 0;   // number of bytes (variable-size) fields
  uint64_t fixed_bytes = 0;  // payload bytes of the fixed fields (Schema::fixed_row_bytes)
  // The fixed fields in schema order: their place in the row image, and how they are stored.
  struct Fixed {
    size_t offset = 0;
    size_t bytes = 0;
    bool zstd = false;
  };
  std::vector<Fixed> fixed;
  bool compressed = false;  // some field is stored compressed: stored != raw records

  // `field_offsets[f]`: the row offset of schema field f (RowStore); bytes fields ignored.
  static RecordLayout For(const Schema& schema, size_t stride,
                          absl::Span<const size_t> field_offsets);
};

// The raw record length of an item whose payload (fixed fields + bytes fields) is `item_bytes`.
uint64_t RecordLength(const RecordLayout& layout, uint64_t item_bytes);

// The payload bytes of an item whose stored record is `length` bytes; false when no item of
// this layout has a stored record of that length (a crafted or corrupt length).
bool ItemBytesOfRecord(const RecordLayout& layout, uint64_t length, uint64_t* item_bytes);

// Appends the raw record of an item: its row image and one view per bytes field.
void EncodeRecord(const RecordLayout& layout, const uint8_t* row,
                  absl::Span<const std::string_view> bytes, AlignedBytes* out);

// Splits a raw record into its row image (*row, `stride` bytes) and bytes fields (bytes[0..n),
// views into `record`). False when the lengths inside do not add up to the record exactly.
bool DecodeRecord(const RecordLayout& layout, std::string_view record, const char** row,
                  absl::Span<std::string_view> bytes);

// layout.compressed only. Appends the stored form of the raw record whose row image is `row`.
void EncodeStored(const RecordLayout& layout, const uint8_t* row, AlignedBytes* out);

// layout.compressed only. Decodes a stored record into a row image at `row` (`stride` bytes,
// padding zeroed). False when it is malformed: a frame length past the end, a frame that does
// not decompress to exactly its field's bytes, or bytes left over.
bool DecodeStored(const RecordLayout& layout, std::string_view stored, uint8_t* row);

}  // namespace strata::internal

#endif  // STRATA_TIER_RECORD_CODEC_H_
