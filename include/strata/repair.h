// RepairReport: what Table::Repair did to a storage directory. Repair is the one explicit act
// that changes a directory Table::Create refused; it never deletes a file it cannot account for:
// what it cannot place goes to storage_dir/lost/.
#ifndef STRATA_REPAIR_H_
#define STRATA_REPAIR_H_

#include <cstdint>
#include <string>
#include <vector>

namespace strata {

struct RepairReport {
  // The MANIFEST was missing or unreadable and was rebuilt from the files present.
  bool manifest_rebuilt = false;
  size_t segments = 0;                    // segments the repaired manifest lists
  std::string checkpoint;                 // the checkpoint it uses ("" if none could be read)
  uint64_t checkpoint_items_dropped = 0;  // items the checkpoint placed in segments that are gone
  std::vector<std::string> set_aside;     // files moved into storage_dir/lost/ (names they had)
  std::vector<std::string> deleted;       // leftovers of interrupted steps, as Create deletes them
  // One line for logs: "rebuilt the MANIFEST: 3 segments, checkpoint meta-000007.ckpt (2 items
  // dropped); set aside: seg-000004.data; deleted: MANIFEST.tmp".
  std::string ToString() const;
};

}  // namespace strata

#endif  // STRATA_REPAIR_H_
