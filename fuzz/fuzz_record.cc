// Fuzzes the record decoder (src/tier/record_codec.h), which splits a record read from a data
// file into its row image and bytes fields, and the compressed-record decoder. The first two
// input bytes choose the layout (row image of 0..255 bytes, 0..7 bytes fields; byte 1 >= 128: a
// compressed layout); the rest is the record. Properties:
//   - DecodeRecord never reads outside the record (ASan), whatever the lengths inside say;
//   - an accepted record re-encodes to the same bytes, and its length and item bytes agree
//     (ItemBytesOfRecord, RecordLength), as Restore relies on.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "tier/record_codec.h"

namespace {

// A stored record of a compressed layout (byte 1 >= 128): fields of 4 raw, 256 zstd and 3 zstd
// bytes. DecodeStored never writes outside the row nor reads outside the record; a record it
// accepts decodes, re-encoded by EncodeStored, to the same row.
int FuzzStored(const uint8_t* data, size_t size) {
  using namespace strata::internal;
  RecordLayout layout;
  layout.stride = 272;
  layout.fixed_bytes = 4 + 256 + 3;
  layout.fixed = {{.offset = 0, .bytes = 4},
                  {.offset = 8, .bytes = 256, .zstd = true},
                  {.offset = 264, .bytes = 3, .zstd = true}};
  layout.compressed = true;
  const std::vector<char> record(data, data + size);
  std::vector<uint8_t> row(layout.stride);
  if (!DecodeStored(layout, std::string_view(record.data(), record.size()), row.data())) return 0;
  uint64_t item_bytes = 0;
  FUZZ_CHECK(ItemBytesOfRecord(layout, record.size(), &item_bytes));
  AlignedBytes again;
  EncodeStored(layout, row.data(), &again);
  std::vector<uint8_t> row2(layout.stride);
  FUZZ_CHECK(DecodeStored(layout, std::string_view(again.data(), again.size()), row2.data()));
  FUZZ_CHECK(row2 == row);
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::internal;
  if (size < 2) return 0;
  if (data[1] >= 128) return FuzzStored(data + 2, size - 2);
  const RecordLayout layout{.stride = data[0], .bytes_fields = data[1] % 8u, .fixed_bytes = 3};
  // A copy of just the record, so that ASan sees any read past its end.
  const std::vector<char> record(data + 2, data + size);
  const std::string_view view(record.data(), record.size());
  const char* row = nullptr;
  std::vector<std::string_view> bytes(layout.bytes_fields);
  if (!DecodeRecord(layout, view, &row, absl::MakeSpan(bytes))) return 0;
  FUZZ_CHECK(row == record.data());
  AlignedBytes again;
  EncodeRecord(layout, reinterpret_cast<const uint8_t*>(row), bytes, &again);
  FUZZ_CHECK(std::string_view(again.data(), again.size()) == view);
  uint64_t item_bytes = 0;
  FUZZ_CHECK(ItemBytesOfRecord(layout, record.size(), &item_bytes));
  FUZZ_CHECK(RecordLength(layout, item_bytes) == record.size());
  return 0;
}
