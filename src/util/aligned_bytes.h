// AlignedBytes: a growable byte array whose storage starts on a 4096-byte boundary, for buffers
// that O_DIRECT reads land in. Not thread-safe.
#ifndef STRATA_UTIL_ALIGNED_BYTES_H_
#define STRATA_UTIL_ALIGNED_BYTES_H_

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace strata::internal {

class AlignedBytes {
 public:
  static constexpr size_t kAlignment = 4096;
  AlignedBytes() = default;
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  ~AlignedBytes() { std::free(data_); }

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }

  // Grows or shrinks to `n` bytes, keeping the first min(n, size()) bytes; new bytes are zero.
  void resize(size_t n) {
    reserve(n);
    if (n > size_) std::memset(data_ + size_, 0, n - size_);
    size_ = n;
  }
  // Empties the array, keeping its memory for reuse.
  void clear() { size_ = 0; }
  // Makes room for `n` bytes in all (capacity doubles, so appends are amortized O(1)).
  void reserve(size_t n) {
    if (n <= capacity_) return;
    size_t cap = capacity_ == 0 ? kAlignment : capacity_;
    while (cap < n) cap *= 2;
    auto* p = static_cast<char*>(std::aligned_alloc(kAlignment, cap));
    if (p == nullptr) throw std::bad_alloc();
    if (size_ != 0) std::memcpy(p, data_, size_);
    std::free(data_);
    data_ = p;
    capacity_ = cap;
  }
  void append(const void* p, size_t n) {
    if (n == 0) return;  // p may be null then
    reserve(size_ + n);
    std::memcpy(data_ + size_, p, n);
    size_ += n;
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace strata::internal

#endif  // STRATA_UTIL_ALIGNED_BYTES_H_
