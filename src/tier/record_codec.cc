#include "tier/record_codec.h"

#include <zstd.h>

#include <cstring>
#include <memory>

namespace strata::internal {
namespace {

constexpr int kZstdLevel = 3;

// One context per thread, reused: creating one per call costs more than compressing 64 KiB.
struct ZstdContexts {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> c{ZSTD_createCCtx(), &ZSTD_freeCCtx};
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> d{ZSTD_createDCtx(), &ZSTD_freeDCtx};
};
ZstdContexts& Contexts() {
  thread_local ZstdContexts contexts;
  return contexts;
}

}  // namespace

RecordLayout RecordLayout::For(const Schema& schema, size_t stride,
                               absl::Span<const size_t> field_offsets) {
  RecordLayout l;
  l.stride = stride;
  l.fixed_bytes = schema.fixed_row_bytes();
  for (size_t f = 0; f < schema.num_fields(); ++f) {
    const FieldSpec& spec = schema.field(f);
    if (spec.variable) {
      ++l.bytes_fields;
      continue;
    }
    const bool zstd = spec.compression == Compression::kZstd;
    l.fixed.push_back({.offset = field_offsets[f], .bytes = spec.row_bytes(), .zstd = zstd});
    l.compressed = l.compressed || zstd;
  }
  return l;
}

uint64_t RecordLength(const RecordLayout& layout, uint64_t item_bytes) {
  if (layout.bytes_fields == 0) return layout.stride;
  return layout.stride + 4 * layout.bytes_fields + (item_bytes - layout.fixed_bytes);
}

bool ItemBytesOfRecord(const RecordLayout& layout, uint64_t length, uint64_t* item_bytes) {
  if (layout.compressed) {
    // Fixed fields only: the payload follows from the schema; the length must be one a stored
    // record can have.
    uint64_t min = 0;
    uint64_t max = 0;
    for (const RecordLayout::Fixed& f : layout.fixed) {
      min += f.zstd ? 4 + 1 : f.bytes;
      max += f.zstd ? 4 + ZSTD_compressBound(f.bytes) : f.bytes;
    }
    *item_bytes = layout.fixed_bytes;
    return length >= min && length <= max;
  }
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

void EncodeStored(const RecordLayout& layout, const uint8_t* row, AlignedBytes* out) {
  ZSTD_CCtx* cctx = Contexts().c.get();
  for (const RecordLayout::Fixed& f : layout.fixed) {
    if (!f.zstd) {
      out->append(row + f.offset, f.bytes);
      continue;
    }
    const size_t start = out->size();
    const size_t bound = ZSTD_compressBound(f.bytes);
    out->resize(start + 4 + bound);
    const size_t n = ZSTD_compressCCtx(cctx, out->data() + start + 4, bound, row + f.offset,
                                       f.bytes, kZstdLevel);
    // Cannot fail with a destination of compressBound bytes; a failure is a bug, not input.
    if (ZSTD_isError(n)) std::abort();
    const uint32_t len = static_cast<uint32_t>(n);
    std::memcpy(out->data() + start, &len, 4);
    out->resize(start + 4 + n);
  }
}

bool DecodeStored(const RecordLayout& layout, std::string_view stored, uint8_t* row) {
  ZSTD_DCtx* dctx = Contexts().d.get();
  std::memset(row, 0, layout.stride);  // padding between and after fields
  size_t pos = 0;
  for (const RecordLayout::Fixed& f : layout.fixed) {
    if (!f.zstd) {
      if (stored.size() - pos < f.bytes) return false;
      std::memcpy(row + f.offset, stored.data() + pos, f.bytes);
      pos += f.bytes;
      continue;
    }
    uint32_t len;
    if (stored.size() - pos < 4) return false;
    std::memcpy(&len, stored.data() + pos, 4);
    pos += 4;
    if (stored.size() - pos < len) return false;
    const size_t n = ZSTD_decompressDCtx(dctx, row + f.offset, f.bytes, stored.data() + pos, len);
    if (ZSTD_isError(n) || n != f.bytes) return false;
    pos += len;
  }
  return pos == stored.size();
}

}  // namespace strata::internal
