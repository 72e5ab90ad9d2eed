// SegmentStore: the files of one table's storage_dir (docs/format.md) — the lock, the manifest,
// append-only segments (data + index), and metadata checkpoints. It knows records only as bytes
// and index entries; what they mean is the table's business.
//
// Segments are created lazily: Start and Roll leave no segment active, and the first Append after
// them creates one (a new file number), so opening, checkpointing and closing without writing
// adds no segment files.
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
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
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
    std::string checkpoint;       // the checkpoint body, empty if none
    std::string checkpoint_path;  // its file, for error messages
    struct Entry {
      uint32_t segment = 0;
      uint32_t position = 0;  // entry number in the segment's index file
      IndexEntry entry;
      // "seg-000012.index entry 7", for error messages.
      std::string Where() const {
        return absl::StrCat(SegmentIndexName(segment), " entry ", position);
      }
    };
    std::vector<Entry> entries;  // index entries written after the checkpoint, in log order
    uint64_t bad_entries = 0;    // torn or corrupt index entries skipped (each ends its file)
    bool existed = false;
  };

  // Locks `dir` (creating it) and opens or creates the store. Every file in the directory is
  // accounted for before anything is deleted (docs/format.md, "Recovery"): files of the table,
  // leftovers of an interrupted step (deleted), or neither — then Open fails and changes nothing.
  // With Durability::kNone the contents of a table that was itself opened with kNone are
  // discarded. Errors: FailedPrecondition when another table holds the directory, the schema
  // differs, a file is not Strata's, or kNone would discard a durable table; DataLoss for a
  // missing, corrupt or inconsistent manifest, files it does not account for, or a corrupt
  // checkpoint or index entry (naming the file and the entry); any Env error.
  //
  // Open only reads: the caller checks what was recovered, then calls Start, which deletes the
  // leftovers and saves the manifest. A caller that refuses the recovered state changes nothing
  // in the directory.
  static absl::StatusOr<std::unique_ptr<SegmentStore>> Open(const Options& options,
                                                            Recovered* recovered);
  // Makes the directory writable: deletes the leftovers Open found, drops the recovered segments
  // that hold nothing (data and index files both empty, as older versions left one at every open
  // and checkpoint) unless `in_use` names them (a live item located there: its file was damaged,
  // and reading it reports the loss), and saves the manifest. Dropped segments are listed
  // obsolete in a manifest before their files are deleted, as DropSegments does. No segment is
  // active afterwards: a recovered one is never appended to (its tail may be torn), and the
  // first Append creates a new one. Call once, before any Append / Roll / WriteCheckpoint.
  absl::Status Start(const absl::flat_hash_set<uint32_t>& in_use = {});
  ~SegmentStore();
  // Lets another table open the directory (after the owner closed; no more writes).
  void ReleaseLock();

  // Appends `records` (back to back) to the active segment's data file and `entries` (one per
  // record, data_offset relative to the start of `records`; tombstones have length 0) to its
  // index, starting a new segment first when none is active (after Start or Roll) or when the
  // data would pass segment_bytes; the manifest names it before anything is appended. On return
  // entries[i].data_offset is absolute and *segment names the segment. Flushes (kFlush) or
  // syncs (kSync) both files before returning. On error the segment is abandoned: the next
  // Append starts a new one (a partial write is garbage the index never points to).
  absl::Status Append(std::string_view records, std::vector<IndexEntry>* entries,
                      uint32_t* segment);

  // Seals the active segment (recorded in the manifest) and leaves none active: the next Append
  // starts a new one. Returns an id such that everything appended later lands in segments >= it:
  // the next file number, or the active segment's own id when nothing was appended to it yet
  // (then it stays active). With no segment active it does nothing and creates no file.
  absl::StatusOr<uint32_t> Roll();

  // Writes `body` as a new checkpoint covering every segment below `first_uncovered` (whose
  // index entries recovery then skips), then publishes it in the manifest, and deletes the
  // previous checkpoint file.
  absl::Status WriteCheckpoint(std::string_view body, uint32_t first_uncovered);

  // Deletes segments that hold no live record (ids given by the caller), updating the manifest.
  absl::Status DropSegments(const std::vector<uint32_t>& ids);

  // The entries of segment `id`'s index file, up to the first torn or corrupt one.
  absl::StatusOr<std::vector<IndexEntry>> ReadIndex(uint32_t id);
  // Sizes of the data files of all live segments, and which one is being appended to (0: none;
  // file numbers start at 1).
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
  // Checks what a manifest claims before anything relies on it: ids below next_file_number
  // (else the next segment created would overwrite one), listed files present, obsolete files
  // not part of the table.
  absl::Status CheckManifest(const Manifest& m, const std::string& path) const;
  // Sort a directory's Strata files into leftovers to delete, or fail naming the ones that
  // cannot be accounted for: without a manifest, under a discarding (kNone) open, after Recover.
  absl::Status AccountWithoutManifest(const std::vector<std::string>& children,
                                      std::vector<std::string>* leftovers);
  absl::Status AccountDiscarded(const std::vector<std::string>& children,
                                std::vector<std::string>* leftovers);
  absl::Status AccountRecovered(const std::vector<std::string>& children,
                                std::vector<std::string>* leftovers) ABSL_LOCKS_EXCLUDED(mu_);
  // Deletes files the manifest lists as obsolete and forgets them.
  absl::Status DeleteObsolete(const std::vector<std::string>& names) ABSL_LOCKS_EXCLUDED(mu_);
  // Creates a new segment, names it in the manifest (sealing the active one, if any) and makes it
  // the active one.
  absl::Status StartSegment() ABSL_LOCKS_EXCLUDED(mu_);
  // Marks the active segment sealed in manifest_, with its file sizes (no-op without one).
  void SealActiveLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes the active segment's files; none is active afterwards.
  void CloseActive();
  absl::Status SaveManifest() ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  std::unique_ptr<FileLock> lock_;
  std::vector<std::string> leftovers_;  // found by Open, deleted by Start

  // Writer state (externally serialized: one writer at a time).
  std::unique_ptr<WritableFile> active_data_;
  std::unique_ptr<WritableFile> active_index_;
  uint32_t active_id_ = 0;  // 0: none (active_data_ is null)
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
