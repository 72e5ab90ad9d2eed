// A large anonymous memory reservation whose pages are committed only when first touched.
//
// Tables size their payload columns for max_items up front; reserving address space (not memory)
// keeps an empty table of capacity 10M cheap, and keeps each column one contiguous array so that
// gathers are a plain indexed copy.
#ifndef STRATA_UTIL_MMAP_REGION_H_
#define STRATA_UTIL_MMAP_REGION_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"

namespace strata::internal {

// Move-only owner of one mapping. Not thread-safe by itself; the owner synchronizes access.
class MmapRegion {
 public:
  MmapRegion() = default;
  // Reserves `bytes` (rounded up to pages) of zeroed, lazily committed memory.
  // ResourceExhausted if the address space cannot be reserved.
  static absl::StatusOr<MmapRegion> Reserve(size_t bytes);
  ~MmapRegion();
  MmapRegion(MmapRegion&& other) noexcept;
  MmapRegion& operator=(MmapRegion&& other) noexcept;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace strata::internal

#endif  // STRATA_UTIL_MMAP_REGION_H_
