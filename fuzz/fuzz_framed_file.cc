// Fuzzes UnframeFile, the reader of every framed file (MANIFEST, meta-N.ckpt; and the index magic,
// which no framed file uses, must be told apart just as well), for each of the three magics, on
// the input as it is and once more with its length and checksum repaired (so that mutations of
// the magic, version and reserved fields get past the checksum).
//
// Properties, each an abort() when it fails:
//   - a refused input is DataLoss, or FailedPrecondition (a newer version), naming the path;
//   - an input unframes for at most one of the three magics;
//   - a body that unframes is the input's bytes 16..size-8, and FrameFile(magic, body) gives back
//     the input byte for byte (the frame is canonical: nothing the reader ignores can differ),
//     which unframes to the same body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "tier/format.h"

namespace strata::fuzz {
namespace {

constexpr char kPath[] = "/fuzz/framed-file";

void FuzzOne(std::string_view file) {
  int unframed = 0;
  for (uint32_t magic :
       {internal::kIndexMagic, internal::kManifestMagic, internal::kCheckpointMagic}) {
    absl::StatusOr<std::string_view> body = internal::UnframeFile(magic, file, kPath);
    if (!body.ok()) {
      FUZZ_CHECK(body.status().code() == absl::StatusCode::kDataLoss ||
                 body.status().code() == absl::StatusCode::kFailedPrecondition);
      FUZZ_CHECK(body.status().message().find(kPath) != std::string_view::npos);
      continue;
    }
    ++unframed;
    FUZZ_CHECK(file.size() >= kFrameHeaderBytes + kFrameTrailerBytes);
    FUZZ_CHECK(*body == file.substr(kFrameHeaderBytes,
                                    file.size() - kFrameHeaderBytes - kFrameTrailerBytes));
    const std::string again = internal::FrameFile(magic, *body);
    FUZZ_CHECK(again == file);
    absl::StatusOr<std::string_view> back = internal::UnframeFile(magic, again, kPath);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(*back == *body);
  }
  FUZZ_CHECK(unframed <= 1);
}

}  // namespace
}  // namespace strata::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strata::fuzz::FuzzFramed(data, size, &strata::fuzz::FuzzOne);
  return 0;
}
