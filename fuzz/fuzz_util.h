// Helpers shared by the fuzz targets (fuzz/README.md): a check that aborts, so that libFuzzer
// records the input as a crash, and the repair of a framed file's length and checksum, so that
// mutated bodies get past the checksum and reach the decoders behind it.
#ifndef STRATA_FUZZ_FUZZ_UTIL_H_
#define STRATA_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "tier/format.h"

// Aborts with the failed condition when `cond` is false: a property of the format does not hold.
#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace strata::fuzz {

inline constexpr size_t kFrameHeaderBytes = 16;  // u32 magic, u16 version, u16 0, u64 length
inline constexpr size_t kFrameTrailerBytes = 8;  // u64 xxh64 of everything before it

// `data` with its body length and trailing checksum rewritten to match what it holds; magic,
// version and the reserved field stay as the fuzzer made them. Empty if `data` cannot hold a
// header and a trailer.
inline std::string RepairFrame(std::string_view data) {
  if (data.size() < kFrameHeaderBytes + kFrameTrailerBytes) return {};
  std::string out(data.substr(0, data.size() - kFrameTrailerBytes));
  const uint64_t length = out.size() - kFrameHeaderBytes;
  std::memcpy(out.data() + 8, &length, sizeof(length));
  internal::ByteWriter(&out).Put<uint64_t>(internal::Checksum64(out.data(), out.size()));
  return out;
}

// Runs `fuzz_one` on the input as it is, and again with its frame repaired (RepairFrame) when
// that changes it: the shared body of the targets that read framed files.
inline void FuzzFramed(const uint8_t* data, size_t size, void (*fuzz_one)(std::string_view)) {
  const std::string_view file(reinterpret_cast<const char*>(data), size);
  fuzz_one(file);
  const std::string repaired = RepairFrame(file);
  if (!repaired.empty() && repaired != file) fuzz_one(repaired);
}

inline std::string_view AsChars(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace strata::fuzz

#endif  // STRATA_FUZZ_FUZZ_UTIL_H_
