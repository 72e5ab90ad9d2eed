// Fuzzes DecodeIndexEntry, the reader of seg-N.index, over every whole 64-byte entry of the
// input (a trailing partial entry is a torn tail and is never decoded); each entry as it is and
// once more with its own checksum repaired (so that mutated fields reach the field decoder).
//
// Properties, each an abort() when it fails:
//   - the result is kOk exactly when the magic, the checksum of bytes 0..55 and the version
//     match; kUnknownVersion when magic and checksum match but the version does not (and it
//     reports that version); kCorrupt otherwise;
//   - a kOk entry re-encodes (EncodeIndexEntry) to the very same 64 bytes, which decode to the
//     same fields (the priority compared bit for bit: a NaN must survive too).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz/fuzz_util.h"
#include "tier/format.h"

namespace strata::fuzz {
namespace {

using internal::DecodeResult;
using internal::IndexEntry;
using internal::kIndexEntryBytes;

template <typename T>
T At(const char* entry, size_t offset) {
  T v;
  std::memcpy(&v, entry + offset, sizeof(T));
  return v;
}

bool SameEntry(const IndexEntry& a, const IndexEntry& b) {
  return a.flags == b.flags && a.key == b.key && a.seq == b.seq && a.data_offset == b.data_offset &&
         a.length == b.length && a.group == b.group && a.task == b.task &&
         a.checksum == b.checksum && std::memcmp(&a.priority, &b.priority, sizeof(double)) == 0;
}

void FuzzOne(const char* entry) {
  IndexEntry e;
  uint16_t version = 0;
  const DecodeResult result = internal::DecodeIndexEntry(entry, &e, &version);
  const bool intact = At<uint32_t>(entry, 0) == internal::kIndexMagic &&
                      At<uint64_t>(entry, 56) == internal::Checksum64(entry, 56);
  if (!intact) {
    FUZZ_CHECK(result == DecodeResult::kCorrupt);
    return;
  }
  const uint16_t stored_version = At<uint16_t>(entry, 4);
  if (stored_version != internal::kFormatVersion) {
    FUZZ_CHECK(result == DecodeResult::kUnknownVersion);
    FUZZ_CHECK(version == stored_version);
    return;
  }
  FUZZ_CHECK(result == DecodeResult::kOk);
  FUZZ_CHECK(version == internal::kFormatVersion);
  char again[kIndexEntryBytes];
  internal::EncodeIndexEntry(e, again);
  FUZZ_CHECK(std::memcmp(again, entry, kIndexEntryBytes) == 0);
  IndexEntry back;
  uint16_t back_version = 0;
  FUZZ_CHECK(internal::DecodeIndexEntry(again, &back, &back_version) == DecodeResult::kOk);
  FUZZ_CHECK(back_version == internal::kFormatVersion);
  FUZZ_CHECK(SameEntry(e, back));
}

}  // namespace
}  // namespace strata::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using strata::internal::kIndexEntryBytes;
  for (size_t off = 0; off + kIndexEntryBytes <= size; off += kIndexEntryBytes) {
    // A copy of exactly one entry, so that ASan sees any read past its 64 bytes.
    char entry[kIndexEntryBytes];
    std::memcpy(entry, data + off, kIndexEntryBytes);
    strata::fuzz::FuzzOne(entry);
    const uint64_t sum = strata::internal::Checksum64(entry, 56);
    if (std::memcmp(entry + 56, &sum, sizeof(sum)) != 0) {
      std::memcpy(entry + 56, &sum, sizeof(sum));
      strata::fuzz::FuzzOne(entry);
    }
  }
  return 0;
}
