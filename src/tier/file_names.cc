#include "tier/file_names.h"

#include <algorithm>
#include <limits>

namespace strata::internal {
namespace {

// N of "<prefix>N<suffix>", N decimal digits that fit a u32; false otherwise.
bool Numbered(std::string_view name, std::string_view prefix, std::string_view suffix,
              uint32_t* number) {
  if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(suffix)) {
    return false;
  }
  const std::string_view digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 10 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  uint64_t n = 0;
  for (char c : digits) n = n * 10 + static_cast<uint64_t>(c - '0');
  if (n > std::numeric_limits<uint32_t>::max()) return false;
  *number = static_cast<uint32_t>(n);
  return true;
}

}  // namespace

FileName ParseFileName(std::string_view name) {
  FileName f;
  if (name == kLockFile) {
    f.kind = FileName::kLock;
  } else if (name == kManifestFile) {
    f.kind = FileName::kManifest;
  } else if (name == kLostDir) {
    f.kind = FileName::kLost;
  } else if (name.ends_with(".tmp")) {
    name.remove_suffix(4);
    const FileName base = ParseFileName(name);
    if (base.kind == FileName::kManifest || base.kind == FileName::kCheckpoint) {
      f.kind = FileName::kTemp;
    }
  } else if (Numbered(name, "seg-", ".data", &f.number)) {
    f.kind = FileName::kSegmentData;
  } else if (Numbered(name, "seg-", ".index", &f.number)) {
    f.kind = FileName::kSegmentIndex;
  } else if (Numbered(name, "meta-", ".ckpt", &f.number)) {
    f.kind = FileName::kCheckpoint;
  }
  return f;
}

}  // namespace strata::internal
