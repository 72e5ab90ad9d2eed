#include "tier/record_codec.h"

#include <cstring>

namespace strata::internal {

uint64_t RecordLength(const RecordLayout& layout, uint64_t item_bytes) {
  if (layout.bytes_fields == 0) return layout.stride;
  return layout.stride + 4 * layout.bytes_fields + (item_bytes - layout.fixed_bytes);
}

bool ItemBytesOfRecord(const RecordLayout& layout, uint64_t length, uint64_t* item_bytes) {
  if (layout.bytes_fields == 0) {
    *item_bytes = layout.fixed_bytes;
    return length == layout.stride;
  }
  const uint64_t overhead = layout.stride + 4 * layout.bytes_fields;
  if (length < overhead) return false;
  *item_bytes = layout.fixed_bytes + (length - overhead);
  return true;
}

void EncodeRecord(const RecordLayout& layout, const uint8_t* row,
                  absl::Span<const std::string_view> bytes, AlignedBytes* out) {
  out->append(row, layout.stride);
  for (const std::string_view v : bytes) {
    const uint32_t len = static_cast<uint32_t>(v.size());
    out->append(&len, 4);
    out->append(v.data(), v.size());
  }
}

bool DecodeRecord(const RecordLayout& layout, std::string_view record, const char** row,
                  absl::Span<std::string_view> bytes) {
  if (record.size() < layout.stride || bytes.size() != layout.bytes_fields) return false;
  *row = record.data();
  size_t pos = layout.stride;
  for (std::string_view& v : bytes) {
    uint32_t len;
    if (record.size() - pos < 4) return false;
    std::memcpy(&len, record.data() + pos, 4);
    pos += 4;
    if (record.size() - pos < len) return false;
    v = record.substr(pos, len);
    pos += len;
  }
  return pos == record.size();
}

}  // namespace strata::internal
