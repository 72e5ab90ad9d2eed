// The names Strata gives the files of a storage directory (docs/format.md, "Files"), parsed back.
// Recovery and repair use this to account for every file in a directory: a name that does not
// parse is not Strata's and is never touched.
#ifndef STRATA_TIER_FILE_NAMES_H_
#define STRATA_TIER_FILE_NAMES_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace strata::internal {

inline constexpr char kManifestFile[] = "MANIFEST";
inline constexpr char kLockFile[] = "LOCK";
// Where Table::Repair sets aside what it cannot place (a subdirectory of storage_dir).
inline constexpr char kLostDir[] = "lost";

struct FileName {
  enum Kind {
    kForeign,       // not a name Strata creates
    kLock,          // LOCK
    kManifest,      // MANIFEST
    kTemp,          // NAME.tmp: an atomic write that was never renamed into place
    kSegmentData,   // seg-N.data
    kSegmentIndex,  // seg-N.index
    kCheckpoint,    // meta-N.ckpt
    kLost,          // lost/
  };
  Kind kind = kForeign;
  uint32_t number = 0;  // N of a segment or checkpoint file
};

FileName ParseFileName(std::string_view name);

}  // namespace strata::internal

#endif  // STRATA_TIER_FILE_NAMES_H_
