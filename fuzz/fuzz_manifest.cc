// Fuzzes DecodeManifest, the reader of MANIFEST, on the input as it is and once more with its
// frame's length and checksum repaired (so that mutated JSON reaches the JSON decoder).
//
// Properties, each an abort() when it fails:
//   - a refused input is DataLoss or FailedPrecondition (a newer version), naming the path;
//   - a decoded manifest re-encodes (EncodeManifest) to a file that decodes to equal fields, and
//     re-encoding that gives the same bytes (the encoding is canonical);
//   - the decode is lossless: every field the decoder read holds, in the input's JSON, exactly
//     the value and JSON type that the encoder writes for the decoded field. A decoder that
//     wraps a negative number, truncates a fraction or a number past the field's range, reads a
//     boolean as a number or a non-array as a list fails this. Unknown keys are ignored; the keys
//     older manifests lack read as their defaults ("alignment" 1, "obsolete" [], "durable" true).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "nlohmann/json.hpp"
#include "tier/format.h"

namespace strata::fuzz {
namespace {

using internal::Manifest;
using internal::SegmentInfo;
using nlohmann::json;

constexpr char kPath[] = "MANIFEST";

bool SameSegment(const SegmentInfo& a, const SegmentInfo& b) {
  return a.id == b.id && a.data_bytes == b.data_bytes && a.index_bytes == b.index_bytes &&
         a.sealed == b.sealed && a.alignment == b.alignment;
}

bool SameManifest(const Manifest& a, const Manifest& b) {
  if (a.segments.size() != b.segments.size()) return false;
  for (size_t i = 0; i < a.segments.size(); ++i) {
    if (!SameSegment(a.segments[i], b.segments[i])) return false;
  }
  return a.table_name == b.table_name && a.schema == b.schema &&
         a.segment_bytes == b.segment_bytes && a.next_file_number == b.next_file_number &&
         a.checkpoint == b.checkpoint && a.replay_from == b.replay_from &&
         a.obsolete == b.obsolete && a.durable == b.durable;
}

// Same JSON type and value: nlohmann's == alone holds for 1 and 1.0, and for -1 and 2^64 - 1.
bool SameJson(const json& a, const json& b) { return a.type() == b.type() && a == b; }

// A key older manifests may lack: as written, or absent and decoded as `absent`.
void CheckOptional(const json& in, const json& out, const char* key, const json& absent) {
  FUZZ_CHECK(SameJson(in.contains(key) ? in.at(key) : absent, out.at(key)));
}

// `in` is the JSON the decoder read; `out` the JSON the encoder writes for what it decoded.
void CheckLossless(const json& in, const json& out) {
  for (const char* key :
       {"table", "schema", "segment_bytes", "next_file_number", "checkpoint", "replay_from"}) {
    FUZZ_CHECK(in.contains(key));
    FUZZ_CHECK(SameJson(in.at(key), out.at(key)));
  }
  const json& in_segs = in.at("segments");
  const json& out_segs = out.at("segments");
  FUZZ_CHECK(in_segs.is_array());
  FUZZ_CHECK(in_segs.size() == out_segs.size());
  for (size_t i = 0; i < in_segs.size(); ++i) {
    const json& s = in_segs[i];
    FUZZ_CHECK(s.is_object());
    for (const char* key : {"id", "sealed", "data_bytes", "index_bytes"}) {
      FUZZ_CHECK(s.contains(key));
      FUZZ_CHECK(SameJson(s.at(key), out_segs[i].at(key)));
    }
    CheckOptional(s, out_segs[i], "alignment", 1u);
  }
  CheckOptional(in, out, "obsolete", json::array());
  CheckOptional(in, out, "durable", true);
}

json BodyJson(std::string_view file) {
  auto body = internal::UnframeFile(internal::kManifestMagic, file, kPath);
  FUZZ_CHECK(body.ok());
  json j = json::parse(body->begin(), body->end(), nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(j.is_object());
  return j;
}

void FuzzOne(std::string_view file) {
  absl::StatusOr<Manifest> m = internal::DecodeManifest(file, kPath);
  if (!m.ok()) {
    FUZZ_CHECK(m.status().code() == absl::StatusCode::kDataLoss ||
               m.status().code() == absl::StatusCode::kFailedPrecondition);
    FUZZ_CHECK(m.status().message().find(kPath) != std::string_view::npos);
    return;
  }
  const std::string again = internal::EncodeManifest(*m);
  absl::StatusOr<Manifest> back = internal::DecodeManifest(again, kPath);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(SameManifest(*m, *back));
  FUZZ_CHECK(internal::EncodeManifest(*back) == again);
  CheckLossless(BodyJson(file), BodyJson(again));
}

}  // namespace
}  // namespace strata::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strata::fuzz::FuzzFramed(data, size, &strata::fuzz::FuzzOne);
  return 0;
}
