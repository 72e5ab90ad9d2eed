// Fuzzes the record decoder (src/tier/record_codec.h), which splits a record read from a data
// file into its row image and bytes fields. The first two input bytes choose the layout (row
// image of 0..255 bytes, 0..7 bytes fields); the rest is the record. Properties:
//   - DecodeRecord never reads outside the record (ASan), whatever the lengths inside say;
//   - an accepted record re-encodes to the same bytes, and its length and item bytes agree
//     (ItemBytesOfRecord, RecordLength), as Restore relies on.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "tier/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::internal;
  if (size < 2) return 0;
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
