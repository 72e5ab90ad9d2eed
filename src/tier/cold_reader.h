// The one path by which stored records come back: read them (no table lock held), verify each
// record's checksum as its own read completes (while the others are still in flight), and say
// what became of each. Planning — which records, their pins and destinations — happens under
// the table lock in the caller, decoding (tier/record_codec.h) after. Sampling, Get, swaps,
// promotions, warm-up and compaction all read through here.
#ifndef STRATA_TIER_COLD_READER_H_
#define STRATA_TIER_COLD_READER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "io/async_reader.h"
#include "tier/segment_store.h"

namespace strata::internal {

struct ColdRead {
  // In.
  std::shared_ptr<const Segment> segment;  // the pin (null: the segment is gone)
  uint32_t offset = 0;
  uint32_t length = 0;    // record bytes
  uint32_t checksum = 0;  // the RecordChecksum the record must have
  char* dst = nullptr;    // room for ReadLength(segment, length) bytes
  // Out.
  enum class Result {
    kOk,      // dst holds the record, checksum verified
    kLost,    // the record is not there: checksum mismatch, or the file ends before it
    kFailed,  // a read error that may pass (EIO, an injected fault, no segment)
  };
  Result result = Result::kOk;
  absl::Status status;  // why, when not kOk

  // "/dir/seg-000003.data offset 4096, 72 bytes: checksum mismatch", for error messages.
  std::string Describe() const;
};

// The bytes to read for a record of `length`: whole pages from an O_DIRECT segment.
uint32_t ReadLength(const Segment* segment, uint32_t length);

// Reads and verifies every record; returns when all are done. Blocks on the device.
void ReadRecords(AsyncReader* reader, absl::Span<ColdRead> reads);

}  // namespace strata::internal

#endif  // STRATA_TIER_COLD_READER_H_
