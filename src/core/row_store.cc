#include "core/row_store.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace strata::internal {
namespace {

// Copies of a compile-time size become a few register moves instead of a call to memcpy, which
// is what dominates batches of small fields (W2, W4's scalars).
template <size_t kBytes>
void CopyFixed(uint8_t* dst, const uint8_t* src, size_t) {
  std::memcpy(dst, src, kBytes);
}
void CopyAny(uint8_t* dst, const uint8_t* src, size_t bytes) { std::memcpy(dst, src, bytes); }

RowStore::CopyFn CopyFor(size_t bytes) {
  switch (bytes) {
    case 1:
      return &CopyFixed<1>;
    case 2:
      return &CopyFixed<2>;
    case 4:
      return &CopyFixed<4>;
    case 8:
      return &CopyFixed<8>;
    case 12:
      return &CopyFixed<12>;
    case 16:
      return &CopyFixed<16>;
    case 32:
      return &CopyFixed<32>;
    case 64:
      return &CopyFixed<64>;
    default:
      return &CopyAny;
  }
}

}  // namespace

absl::StatusOr<RowStore> RowStore::Create(const Schema& schema, size_t capacity) {
  RowStore store;
  store.fields_.resize(schema.num_fields());
  size_t offset = 0;
  for (size_t f = 0; f < schema.num_fields(); ++f) {
    const FieldSpec& spec = schema.field(f);
    Field& field = store.fields_[f];
    field.variable = spec.variable;
    if (spec.variable) {
      field.blocks.resize(capacity);
      field.lengths.assign(capacity, 0);
      store.variable_fields_.push_back(f);
      continue;
    }
    const size_t align = DTypeSize(spec.dtype);
    offset = (offset + align - 1) / align * align;
    field.offset = offset;
    field.row_bytes = spec.row_bytes();
    field.copy = CopyFor(field.row_bytes);
    offset += field.row_bytes;
    store.fixed_fields_.push_back(f);
  }
  store.stride_ = (offset + 7) / 8 * 8;
  store.prefetch_lines_ = std::min<size_t>((store.stride_ + 63) / 64 + 1, 8);
  auto region = MmapRegion::Reserve(store.stride_ * capacity);
  if (!region.ok()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("payload of ", capacity, " items: ", region.status().message()));
  }
  store.rows_ = std::move(region).value();
  return store;
}

void RowStore::SetBytes(size_t field, Slot slot, const char* data, size_t len) {
  Field& f = fields_[field];
  std::unique_ptr<char[]> block(len == 0 ? nullptr : new char[len]);
  if (len != 0) std::memcpy(block.get(), data, len);
  f.blocks[slot] = std::move(block);
  f.lengths[slot] = len;
}

std::string_view RowStore::GetBytes(size_t field, Slot slot) const {
  const Field& f = fields_[field];
  return {f.blocks[slot].get(), static_cast<size_t>(f.lengths[slot])};
}

void RowStore::ReleaseBytes(Slot slot) {
  for (size_t f : variable_fields_) {
    fields_[f].blocks[slot].reset();
    fields_[f].lengths[slot] = 0;
  }
}

}  // namespace strata::internal
