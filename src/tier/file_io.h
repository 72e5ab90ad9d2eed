// Whole-file reads and atomic replacement through an Env: the two ways the SSD tier handles its
// small files (MANIFEST, checkpoints).
#ifndef STRATA_TIER_FILE_IO_H_
#define STRATA_TIER_FILE_IO_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "strata/env.h"

namespace strata::internal {

// Reads all of `path` into *out.
absl::Status ReadWholeFile(Env* env, const std::string& path, std::string* out);

// Replaces dir/name with `contents`: written to dir/name.tmp, synced, renamed over dir/name,
// then the directory synced. A crash leaves the old file or the new one, and maybe name.tmp.
absl::Status WriteFileAtomically(Env* env, const std::string& dir, const std::string& name,
                                 std::string_view contents);

}  // namespace strata::internal

#endif  // STRATA_TIER_FILE_IO_H_
