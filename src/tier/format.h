// The SSD tier's on-disk format, version 1 (docs/format.md is the specification; this file is
// its only implementation). Pure encoding and decoding: no I/O, no locks.
//
//   IndexEntry   one 64-byte, self-checksummed entry per record (or tombstone) in seg-N.index
//   Manifest     the table's identity and its live segments, as JSON framed with a checksum
//   framed file  magic | version | length | body | xxh64 — manifests and checkpoints
//   ByteWriter / ByteReader   little-endian fields of a checkpoint body
#ifndef STRATA_TIER_FORMAT_H_
#define STRATA_TIER_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace strata::internal {

inline constexpr uint16_t kFormatVersion = 1;
inline constexpr uint32_t kIndexMagic = 0x49525453;       // "STRI"
inline constexpr uint32_t kManifestMagic = 0x4d525453;    // "STRM"
inline constexpr uint32_t kCheckpointMagic = 0x43525453;  // "STRC"
inline constexpr size_t kIndexEntryBytes = 64;

// xxh64 (seed 0): index entries and framed files.
uint64_t Checksum64(const void* data, size_t n);
// The 32-bit record checksum kept in DRAM per item and in the index entry: the low half of
// XXH3-64 (seed 0), which verifies several times faster than xxh64 (it runs on every cold read).
uint32_t RecordChecksum(const void* data, size_t n);

struct IndexEntry {
  static constexpr uint16_t kTombstone = 1;  // the item `key` was removed
  static constexpr uint16_t kRelocated = 2;  // a copy made by compaction: the item moved here
  uint16_t flags = 0;
  uint64_t key = 0;  // generation << 32 | slot
  uint64_t seq = 0;  // insertion sequence of the item
  uint64_t data_offset = 0;
  uint32_t length = 0;  // record bytes in seg-N.data
  int32_t group = 0;
  int32_t task = 0;
  uint32_t checksum = 0;  // RecordChecksum of the record
  double priority = 0;    // at insertion
};

void EncodeIndexEntry(const IndexEntry& e, char out[kIndexEntryBytes]);
// False when the entry's own checksum or magic does not match (a torn or corrupt entry).
// InvalidArgument-free by design: the caller decides what a bad entry means.
enum class DecodeResult { kOk, kCorrupt, kUnknownVersion };
DecodeResult DecodeIndexEntry(const char in[kIndexEntryBytes], IndexEntry* e, uint16_t* version);

struct SegmentInfo {
  uint32_t id = 0;
  uint64_t data_bytes = 0;   // bytes of seg-N.data covered by the index (sealed segments)
  uint64_t index_bytes = 0;  // bytes of seg-N.index (sealed segments)
  bool sealed = false;
  uint32_t alignment = 1;  // records start at multiples of this (4096: written for O_DIRECT)
};

struct Manifest {
  std::string table_name;
  std::string schema;  // Schema::DebugString(); a reopen must match it exactly
  uint64_t segment_bytes = 0;
  uint32_t next_file_number = 1;
  std::vector<SegmentInfo> segments;  // in creation order
  std::string checkpoint;             // file name, empty if none yet
  uint32_t replay_from = 0;           // recovery replays index files of segments >= this id
  // Files no longer part of the table whose deletion may not have happened yet (a crash between
  // the manifest update and the delete): recovery deletes them. Absent in older manifests.
  std::vector<std::string> obsolete;
  // False for a table opened with Durability::kNone, whose contents a reopen may discard.
  // Absent in older manifests: true.
  bool durable = true;
};

std::string EncodeManifest(const Manifest& m);
// `path` names the file in error messages.
absl::StatusOr<Manifest> DecodeManifest(std::string_view data, const std::string& path);

// Framed files: u32 magic, u16 version, u16 0, u64 body length, body, u64 xxh64 of all before.
std::string FrameFile(uint32_t magic, std::string_view body);
// The body, or DataLoss (bad checksum, truncated) / FailedPrecondition (unknown version) naming
// `path`.
absl::StatusOr<std::string_view> UnframeFile(uint32_t magic, std::string_view data,
                                             const std::string& path);

// Appends little-endian fields.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}
  template <typename T>
  void Put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_->append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void PutBytes(const void* data, size_t n) {
    if (n != 0) out_->append(static_cast<const char*>(data), n);  // data may be null when n is 0
  }

 private:
  std::string* out_;
};

// Reads what ByteWriter wrote; reading past the end sets a sticky error (checked once at the end
// or whenever convenient) and yields zeros.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}
  template <typename T>
  T Get() {
    T v{};
    GetBytes(&v, sizeof(T));
    return v;
  }
  void GetBytes(void* dst, size_t n) {
    if (n == 0) return;  // dst may be null then
    if (n > data_.size() - pos_) {
      overrun_ = true;
      std::memset(dst, 0, n);
      return;
    }
    std::memcpy(dst, data_.data() + pos_, n);
    pos_ += n;
  }
  bool ok() const { return !overrun_; }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  bool overrun_ = false;
};

// File names inside storage_dir.
std::string SegmentDataName(uint32_t id);     // "seg-000012.data"
std::string SegmentIndexName(uint32_t id);    // "seg-000012.index"
std::string CheckpointName(uint32_t number);  // "meta-000005.ckpt"

}  // namespace strata::internal

#endif  // STRATA_TIER_FORMAT_H_
