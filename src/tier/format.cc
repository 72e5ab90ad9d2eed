#include "tier/format.h"

#include <cstdio>
#include <limits>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "strata/status.h"
// Header-only use of Debian's libxxhash-dev: no link dependency (the Python build compiles this
// too).
#define XXH_INLINE_ALL
#include "xxhash.h"

namespace strata::internal {
namespace {

template <typename T>
void Store(char* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}
template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// A manifest field that EncodeManifest writes as an unsigned integer of type T. nlohmann's
// get<T>() converts any number or boolean: it wraps a negative one and truncates a fraction or one
// past T's range (undefined behaviour for a float), so that recovery would act on a file number or
// size that no writer wrote. Anything but an integer in T's range is DataLoss naming the field.
template <typename T>
absl::Status GetUnsigned(const nlohmann::json& v, const std::string& field, const std::string& path,
                         T* out) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() > std::numeric_limits<T>::max()) {
    return absl::DataLossError(absl::StrCat(
        path, ": manifest field ", field, " is ", v.is_number() ? v.dump() : v.type_name(),
        ", not an integer in [0, ", std::numeric_limits<T>::max(), "]"));
  }
  *out = static_cast<T>(v.get<uint64_t>());
  return absl::OkStatus();
}

// nlohmann iterates over an object's values, over a primitive as a list of itself and over null
// as an empty list: a list field that is not an array is refused instead.
absl::Status RequireArray(const nlohmann::json& v, const std::string& field,
                          const std::string& path) {
  if (v.is_array()) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat(path, ": manifest field ", field, " is ", v.type_name(), ", not an array"));
}

std::string Numbered(const char* prefix, uint32_t n, const char* suffix) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s%06u%s", prefix, n, suffix);
  return buf;
}

}  // namespace

uint64_t Checksum64(const void* data, size_t n) { return XXH64(data, n, 0); }
uint32_t RecordChecksum(const void* data, size_t n) {
  return static_cast<uint32_t>(XXH3_64bits(data, n));
}

// Layout (docs/format.md): 0 magic u32 | 4 version u16 | 6 flags u16 | 8 key u64 | 16 seq u64 |
// 24 data_offset u64 | 32 length u32 | 36 group i32 | 40 task i32 | 44 checksum u32 |
// 48 priority f64 | 56 xxh64 of bytes 0..55.
void EncodeIndexEntry(const IndexEntry& e, char out[kIndexEntryBytes]) {
  Store<uint32_t>(out + 0, kIndexMagic);
  Store<uint16_t>(out + 4, kFormatVersion);
  Store<uint16_t>(out + 6, e.flags);
  Store<uint64_t>(out + 8, e.key);
  Store<uint64_t>(out + 16, e.seq);
  Store<uint64_t>(out + 24, e.data_offset);
  Store<uint32_t>(out + 32, e.length);
  Store<int32_t>(out + 36, e.group);
  Store<int32_t>(out + 40, e.task);
  Store<uint32_t>(out + 44, e.checksum);
  Store<double>(out + 48, e.priority);
  Store<uint64_t>(out + 56, Checksum64(out, 56));
}

DecodeResult DecodeIndexEntry(const char in[kIndexEntryBytes], IndexEntry* e, uint16_t* version) {
  if (Load<uint32_t>(in) != kIndexMagic || Load<uint64_t>(in + 56) != Checksum64(in, 56)) {
    return DecodeResult::kCorrupt;
  }
  *version = Load<uint16_t>(in + 4);
  if (*version != kFormatVersion) return DecodeResult::kUnknownVersion;
  e->flags = Load<uint16_t>(in + 6);
  e->key = Load<uint64_t>(in + 8);
  e->seq = Load<uint64_t>(in + 16);
  e->data_offset = Load<uint64_t>(in + 24);
  e->length = Load<uint32_t>(in + 32);
  e->group = Load<int32_t>(in + 36);
  e->task = Load<int32_t>(in + 40);
  e->checksum = Load<uint32_t>(in + 44);
  e->priority = Load<double>(in + 48);
  return DecodeResult::kOk;
}

std::string EncodeManifest(const Manifest& m) {
  nlohmann::json j;
  j["table"] = m.table_name;
  j["schema"] = m.schema;
  j["segment_bytes"] = m.segment_bytes;
  j["next_file_number"] = m.next_file_number;
  j["checkpoint"] = m.checkpoint;
  j["replay_from"] = m.replay_from;
  nlohmann::json segs = nlohmann::json::array();
  for (const SegmentInfo& s : m.segments) {
    segs.push_back({{"id", s.id},
                    {"sealed", s.sealed},
                    {"data_bytes", s.data_bytes},
                    {"index_bytes", s.index_bytes},
                    {"alignment", s.alignment}});
  }
  j["segments"] = std::move(segs);
  j["obsolete"] = m.obsolete;
  j["durable"] = m.durable;
  return FrameFile(kManifestMagic, j.dump(1));
}

absl::StatusOr<Manifest> DecodeManifest(std::string_view data, const std::string& path) {
  auto body = UnframeFile(kManifestMagic, data, path);
  if (!body.ok()) return body.status();
  nlohmann::json j = nlohmann::json::parse(body->begin(), body->end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat(path, ": manifest body is not a JSON object"));
  }
  Manifest m;
  try {
    m.table_name = j.at("table").get<std::string>();
    m.schema = j.at("schema").get<std::string>();
    RETURN_IF_ERROR(GetUnsigned(j.at("segment_bytes"), "segment_bytes", path, &m.segment_bytes));
    RETURN_IF_ERROR(
        GetUnsigned(j.at("next_file_number"), "next_file_number", path, &m.next_file_number));
    m.checkpoint = j.at("checkpoint").get<std::string>();
    RETURN_IF_ERROR(GetUnsigned(j.at("replay_from"), "replay_from", path, &m.replay_from));
    const nlohmann::json& segments = j.at("segments");
    RETURN_IF_ERROR(RequireArray(segments, "segments", path));
    for (size_t i = 0; i < segments.size(); ++i) {
      const nlohmann::json& s = segments[i];
      const std::string field = absl::StrCat("segments[", i, "]");
      if (!s.is_object()) {
        return absl::DataLossError(absl::StrCat(path, ": manifest field ", field, " is ",
                                                s.type_name(), ", not an object"));
      }
      SegmentInfo info;  // alignment 1 unless given: older manifests do not have it
      RETURN_IF_ERROR(GetUnsigned(s.at("id"), field + ".id", path, &info.id));
      RETURN_IF_ERROR(
          GetUnsigned(s.at("data_bytes"), field + ".data_bytes", path, &info.data_bytes));
      RETURN_IF_ERROR(
          GetUnsigned(s.at("index_bytes"), field + ".index_bytes", path, &info.index_bytes));
      info.sealed = s.at("sealed").get<bool>();
      if (s.contains("alignment")) {
        RETURN_IF_ERROR(
            GetUnsigned(s.at("alignment"), field + ".alignment", path, &info.alignment));
      }
      m.segments.push_back(info);
    }
    if (j.contains("obsolete")) {
      RETURN_IF_ERROR(RequireArray(j.at("obsolete"), "obsolete", path));
      for (const nlohmann::json& name : j.at("obsolete")) {
        m.obsolete.push_back(name.get<std::string>());
      }
    }
    m.durable = j.value("durable", true);
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(
        absl::StrCat(path, ": manifest field missing or of the wrong type: ", e.what()));
  }
  return m;
}

std::string FrameFile(uint32_t magic, std::string_view body) {
  std::string out;
  ByteWriter w(&out);
  w.Put<uint32_t>(magic);
  w.Put<uint16_t>(kFormatVersion);
  w.Put<uint16_t>(0);
  w.Put<uint64_t>(body.size());
  w.PutBytes(body.data(), body.size());
  w.Put<uint64_t>(Checksum64(out.data(), out.size()));
  return out;
}

absl::StatusOr<std::string_view> UnframeFile(uint32_t magic, std::string_view data,
                                             const std::string& path) {
  constexpr size_t kHeader = 16;
  if (data.size() < kHeader + 8) {
    return absl::DataLossError(
        absl::StrCat(path, ": truncated (", data.size(), " bytes, shorter than a header)"));
  }
  if (Load<uint32_t>(data.data()) != magic) {
    return absl::DataLossError(absl::StrCat(path, ": not a Strata file of the expected kind"));
  }
  const uint16_t version = Load<uint16_t>(data.data() + 4);
  const uint64_t length = Load<uint64_t>(data.data() + 8);
  if (length != data.size() - kHeader - 8) {
    return absl::DataLossError(absl::StrCat(path, ": truncated or padded (header says ", length,
                                            " body bytes, file holds ", data.size() - kHeader - 8,
                                            ")"));
  }
  if (Load<uint64_t>(data.data() + kHeader + length) != Checksum64(data.data(), kHeader + length)) {
    return absl::DataLossError(absl::StrCat(path, ": checksum mismatch"));
  }
  if (version != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": format version ", version, "; this build reads version ", kFormatVersion));
  }
  // Version 1 always writes 0 here: anything else is not a version-1 file, checksum or not.
  if (const uint16_t reserved = Load<uint16_t>(data.data() + 6); reserved != 0) {
    return absl::DataLossError(
        absl::StrCat(path, ": reserved header field is ", reserved, ", not 0"));
  }
  return data.substr(kHeader, length);
}

std::string SegmentDataName(uint32_t id) { return Numbered("seg-", id, ".data"); }
std::string SegmentIndexName(uint32_t id) { return Numbered("seg-", id, ".index"); }
std::string CheckpointName(uint32_t number) { return Numbered("meta-", number, ".ckpt"); }

}  // namespace strata::internal
