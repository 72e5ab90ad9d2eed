// Repair of a storage directory (Table::Repair; docs/format.md, "Repair"). Works on the files
// alone, with the directory locked: no table is open on it.
#ifndef STRATA_TIER_REPAIR_H_
#define STRATA_TIER_REPAIR_H_

#include "absl/status/statusor.h"
#include "strata/repair.h"
#include "tier/segment_store.h"

namespace strata::internal {

// Rewrites options.dir's MANIFEST from the segment and checkpoint files present so that
// SegmentStore::Open accounts for every file:
//   - a segment is kept when both its files are there; a lone data or index file is set aside;
//   - the checkpoint is the manifest's own if it still reads, else the newest that does; items
//     it places in segments that are gone are dropped (counted); other checkpoints are set aside;
//     without the old manifest's replay_from every kept segment is replayed (replaying entries a
//     checkpoint already holds is harmless: the highest generation wins);
//   - an unreadable MANIFEST and files that are not Strata's are set aside; temporaries and the
//     old manifest's obsolete files are deleted.
// `score_columns` is the schema's count (checkpoints of another count are not used).
// Errors: NotFound (no directory), FailedPrecondition (locked by an open table; the manifest
// is of another schema), Env errors. Nothing is changed on error before the first move.
absl::StatusOr<RepairReport> RepairStorage(const SegmentStore::Options& options,
                                           uint32_t score_columns);

}  // namespace strata::internal

#endif  // STRATA_TIER_REPAIR_H_
