#include "tier/cold_reader.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "tier/format.h"

namespace strata::internal {
namespace {

// Runs on the thread that completed the read.
void Verify(ReadOp& op, void* context) {
  ColdRead& r = *static_cast<ColdRead*>(context);
  if (op.status.ok()) {
    if (RecordChecksum(op.dst, r.length) == r.checksum) {
      r.result = ColdRead::Result::kOk;
      return;
    }
    r.result = ColdRead::Result::kLost;
    r.status = absl::DataLossError("checksum mismatch");
    return;
  }
  r.result = IsEndOfFile(op.status) ? ColdRead::Result::kLost : ColdRead::Result::kFailed;
  r.status = op.status;
}

}  // namespace

std::string ColdRead::Describe() const {
  return absl::StrCat(segment != nullptr ? segment->path : absl::StrCat("segment (gone)"),
                      " offset ", offset, ", ", length,
                      " bytes: ", status.ok() ? "ok" : status.message());
}

uint32_t ReadLength(const Segment* segment, uint32_t length) {
  if (segment == nullptr || !segment->data->direct_io()) return length;
  return static_cast<uint32_t>((uint64_t{length} + kDirectIoAlignment - 1) / kDirectIoAlignment *
                               kDirectIoAlignment);
}

void ReadRecords(AsyncReader* reader, absl::Span<ColdRead> reads) {
  std::vector<ReadOp> ops;
  ops.reserve(reads.size());
  for (ColdRead& r : reads) {
    if (r.segment == nullptr) {
      r.result = ColdRead::Result::kFailed;
      r.status = absl::InternalError("its segment is gone");
      continue;
    }
    ops.push_back(ReadOp{.file = r.segment->data.get(),
                         .offset = r.offset,
                         .length = ReadLength(r.segment.get(), r.length),
                         .dst = r.dst,
                         .on_complete = &Verify,
                         .context = &r});
  }
  if (!ops.empty()) reader->ReadAll(absl::MakeSpan(ops));
}

}  // namespace strata::internal
