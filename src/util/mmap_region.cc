#include "util/mmap_region.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace strata::internal {

absl::StatusOr<MmapRegion> MmapRegion::Reserve(size_t bytes) {
  MmapRegion region;
  if (bytes == 0) return region;
  const size_t page = 4096;
  const size_t size = (bytes + page - 1) / page * page;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot reserve ", size, " bytes of address space: ", std::strerror(errno)));
  }
  // Large tables are read at random: huge pages cut the TLB misses per sampled item. Advisory
  // only; the kernel may refuse (THP disabled) and nothing depends on it.
  if (size >= (size_t{2} << 20)) madvise(p, size, MADV_HUGEPAGE);
  region.data_ = static_cast<uint8_t*>(p);
  region.size_ = size;
  return region;
}

MmapRegion::~MmapRegion() {
  if (data_ != nullptr) munmap(data_, size_);
}

MmapRegion::MmapRegion(MmapRegion&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MmapRegion& MmapRegion::operator=(MmapRegion&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace strata::internal
