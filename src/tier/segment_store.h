// SegmentStore: the files of one table's storage_dir (docs/format.md) — the lock, the manifest,
// append-only segments (data + index), and metadata checkpoints. It knows records only as bytes
// and index entries; what they mean is the table's business.
//
// Threads: one writer at a time calls Append / Roll / WriteCheckpoint (the table's writer
// thread, or Close/Checkpoint while holding the table's writer mutex). Any thread may call
// Segment() and read through the returned pin concurrently with appends. A pinned segment's
// files stay open (and, on POSIX, readable even if deleted) until the last pin is released.
#ifndef STRATA_TIER_SEGMENT_STORE_H_
#define STRATA_TIER_SEGMENT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "strata/env.h"
#include "strata/options.h"
#include "tier/format.h"
#include "util/mutex.h"

namespace strata::internal {

// One segment's readable data file. Held through shared_ptr: holding one is a pin.
struct Segment {
  uint32_t id = 0;
  std::unique_ptr<RandomAccessFile> data;
  std::string path;  // of the data file, for error messages
};

class SegmentStore {
 public:
  struct Options {
    Env* env = nullptr;
    std::string dir;
    std::string table_name;
    std::string schema;  // Schema::DebugString(); must match an existing directory's
    uint64_t segment_bytes = 0;
    uint64_t budget_bytes = 0;  // 0: unlimited
    Durability durability = Durability::kFlush;
    // Read segments written with 4096-byte alignment through O_DIRECT (the caller pads records).
    bool direct_io = false;
  };
  // What Open found in an existing directory.
  struct Recovered {
    std::string checkpoint;  // the checkpoint body, empty if none
    struct Entry {
      uint32_t segment = 0;
      IndexEntry entry;
    };
    std::vector<Entry> entries;  // index entries written after the checkpoint, in log order
    uint64_t bad_entries = 0;    // torn or corrupt index entries skipped (each ends its file)
    bool existed = false;
  };

  // Locks `dir` (creating it) and opens or creates the store. With Durability::kNone an existing
  // directory's contents are discarded. Errors: FailedPrecondition when another table holds the
  // directory or the schema differs; DataLoss for a corrupt manifest or checkpoint; any Env error.
  static absl::StatusOr<std::unique_ptr<SegmentStore>> Open(const Options& options,
                                                            Recovered* recovered);
  ~SegmentStore();
  // Lets another table open the directory (after the owner closed; no more writes).
  void ReleaseLock();

  // Appends `records` (back to back) to the active segment's data file and `entries` (one per
  // record, data_offset relative to the start of `records`; tombstones have length 0) to its
  // index, rolling to a new segment first when the data would pass segment_bytes. On return
  // entries[i].data_offset is absolute and *segment names the segment. Flushes (kFlush) or
  // syncs (kSync) both files before returning. On error the segment is abandoned: the next
  // Append starts a new one (a partial write is garbage the index never points to).
  absl::Status Append(std::string_view records, std::vector<IndexEntry>* entries,
                      uint32_t* segment);

  // Seals the active segment and starts a new one; returns the new segment's id. Everything
  // appended later lands in segments >= that id.
  absl::StatusOr<uint32_t> Roll();

  // Writes `body` as a new checkpoint covering every segment below `first_uncovered` (whose
  // index entries recovery then skips), then publishes it in the manifest, and deletes the
  // previous checkpoint file.
  absl::Status WriteCheckpoint(std::string_view body, uint32_t first_uncovered);

  // Deletes segments that hold no live record (ids given by the caller), updating the manifest.
  absl::Status DropSegments(const std::vector<uint32_t>& ids);

  // The entries of segment `id`'s index file, up to the first torn or corrupt one.
  absl::StatusOr<std::vector<IndexEntry>> ReadIndex(uint32_t id);
  // Sizes of the data files of all live segments, and which one is being appended to.
  std::vector<SegmentInfo> segments() const ABSL_LOCKS_EXCLUDED(mu_);
  uint32_t active_segment() const { return active_id_; }
  // Recovery replays the index files of segments >= this id (the rest is in the checkpoint).
  uint32_t replay_from() const ABSL_LOCKS_EXCLUDED(mu_);

  // A pin on segment `id`, or null if it no longer exists.
  std::shared_ptr<const Segment> GetSegment(uint32_t id) const ABSL_LOCKS_EXCLUDED(mu_);

  uint64_t disk_bytes() const ABSL_LOCKS_EXCLUDED(mu_);  // data + index bytes of live segments
  uint64_t bytes_written() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t appends() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t syncs() const ABSL_LOCKS_EXCLUDED(mu_);
  const std::string& dir() const { return options_.dir; }

 private:
  explicit SegmentStore(Options options) : options_(std::move(options)) {}
  std::string PathOf(const std::string& name) const { return options_.dir + "/" + name; }
  absl::Status Recover(Recovered* recovered);
  absl::Status StartSegment() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status SaveManifest() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status WriteFileAtomically(const std::string& name, std::string_view contents);
  absl::Status ReadWholeFile(const std::string& path, std::string* out);

  const Options options_;
  std::unique_ptr<FileLock> lock_;

  // Writer state (externally serialized: one writer at a time).
  std::unique_ptr<WritableFile> active_data_;
  std::unique_ptr<WritableFile> active_index_;
  uint32_t active_id_ = 0;
  bool active_broken_ = false;

  mutable Mutex mu_;
  Manifest manifest_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, std::shared_ptr<const Segment>> segments_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, uint64_t> data_bytes_ ABSL_GUARDED_BY(mu_);  // per segment
  uint64_t disk_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bytes_written_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t appends_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t syncs_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace strata::internal

#endif  // STRATA_TIER_SEGMENT_STORE_H_
