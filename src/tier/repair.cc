#include "tier/repair.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "strata/log.h"
#include "strata/status.h"
#include "tier/checkpoint.h"
#include "tier/file_io.h"
#include "tier/file_names.h"
#include "tier/format.h"

namespace strata {

std::string RepairReport::ToString() const {
  std::string out = manifest_rebuilt ? "rebuilt the MANIFEST: " : "rewrote the MANIFEST: ";
  absl::StrAppend(&out, segments, " segments, ");
  if (checkpoint.empty()) {
    absl::StrAppend(&out, "no checkpoint (every segment is replayed)");
  } else {
    absl::StrAppend(&out, "checkpoint ", checkpoint);
    if (checkpoint_items_dropped > 0) {
      absl::StrAppend(&out, " (", checkpoint_items_dropped, " items in missing segments dropped)");
    }
  }
  if (!set_aside.empty())
    absl::StrAppend(&out, "; set aside in lost/: ", absl::StrJoin(set_aside, ", "));
  if (!deleted.empty()) absl::StrAppend(&out, "; deleted: ", absl::StrJoin(deleted, ", "));
  return out;
}

namespace internal {
namespace {

class Repairer {
 public:
  Repairer(const SegmentStore::Options& o, uint32_t score_columns)
      : o_(o), env_(o.env), score_columns_(score_columns) {}

  absl::StatusOr<RepairReport> Run() {
    if (!env_->FileExists(o_.dir)) {
      auto children = env_->GetChildren(o_.dir);
      if (!children.ok()) {
        return absl::NotFoundError(absl::StrCat("storage_dir ", o_.dir, " does not exist"));
      }
    }
    ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, env_->LockFile(Path(kLockFile)));
    ASSIGN_OR_RETURN(std::vector<std::string> children, env_->GetChildren(o_.dir));
    std::sort(children.begin(), children.end());
    RETURN_IF_ERROR(ReadOldManifest());

    // Sort the files.
    std::map<uint32_t, std::pair<bool, bool>> segment_files;  // id -> (data, index) present
    std::vector<uint32_t> checkpoints;
    for (const std::string& c : children) {
      const FileName f = ParseFileName(c);
      next_number_ = std::max(next_number_, f.number + 1);
      switch (f.kind) {
        case FileName::kLock:
        case FileName::kLost:
          break;
        case FileName::kManifest:
          if (!have_old_) RETURN_IF_ERROR(SetAside(c));
          break;
        case FileName::kTemp:
          RETURN_IF_ERROR(Delete(c));
          break;
        case FileName::kSegmentData:
        case FileName::kSegmentIndex:
          if (std::find(old_.obsolete.begin(), old_.obsolete.end(), c) != old_.obsolete.end()) {
            RETURN_IF_ERROR(Delete(c));
          } else if (f.kind == FileName::kSegmentData) {
            segment_files[f.number].first = true;
          } else {
            segment_files[f.number].second = true;
          }
          break;
        case FileName::kCheckpoint:
          if (std::find(old_.obsolete.begin(), old_.obsolete.end(), c) != old_.obsolete.end()) {
            RETURN_IF_ERROR(Delete(c));
          } else {
            checkpoints.push_back(f.number);
          }
          break;
        case FileName::kForeign:
          RETURN_IF_ERROR(SetAside(c));
          break;
      }
    }

    // Segments: both files, or set aside.
    Manifest m;
    m.table_name = have_old_ ? old_.table_name : o_.table_name;
    m.schema = o_.schema;
    m.segment_bytes = have_old_ ? old_.segment_bytes : o_.segment_bytes;
    m.durable = have_old_ ? old_.durable : true;
    absl::flat_hash_map<uint32_t, uint32_t> old_alignment;
    for (const SegmentInfo& s : old_.segments) old_alignment[s.id] = s.alignment;
    for (const auto& [id, present] : segment_files) {
      if (!present.first || !present.second) {
        RETURN_IF_ERROR(SetAside(present.first ? SegmentDataName(id) : SegmentIndexName(id)));
        continue;
      }
      SegmentInfo s{.id = id, .sealed = true};
      ASSIGN_OR_RETURN(s.data_bytes, env_->GetFileSize(Path(SegmentDataName(id))));
      ASSIGN_OR_RETURN(s.index_bytes, env_->GetFileSize(Path(SegmentIndexName(id))));
      auto it = old_alignment.find(id);
      if (it != old_alignment.end()) {
        s.alignment = it->second;
      } else {
        ASSIGN_OR_RETURN(s.alignment, InferAlignment(id, s.data_bytes));
      }
      m.segments.push_back(s);
    }
    report_.segments = m.segments.size();

    // The checkpoint: the old manifest's first, then the newest that reads.
    std::sort(checkpoints.rbegin(), checkpoints.rend());
    if (have_old_ && !old_.checkpoint.empty()) {
      const uint32_t n = ParseFileName(old_.checkpoint).number;
      auto it = std::find(checkpoints.begin(), checkpoints.end(), n);
      if (it != checkpoints.end()) std::rotate(checkpoints.begin(), it, it + 1);
    }
    absl::flat_hash_map<uint32_t, bool> kept;
    for (const SegmentInfo& s : m.segments) kept[s.id] = true;
    for (uint32_t n : checkpoints) {
      const std::string name = CheckpointName(n);
      if (!m.checkpoint.empty()) {
        RETURN_IF_ERROR(SetAside(name));
        continue;
      }
      absl::StatusOr<CheckpointData> d = ReadCheckpoint(name);
      if (!d.ok() || d->score_columns != score_columns_) {
        RETURN_IF_ERROR(SetAside(name));
        continue;
      }
      // The old manifest's replay_from holds for its own checkpoint only.
      m.replay_from = have_old_ && name == old_.checkpoint ? old_.replay_from : 0;
      // Keep the items whose segment is kept, or that a replayed entry places anew (compaction
      // moved them after the checkpoint and dropped their old segment).
      ASSIGN_OR_RETURN(const absl::flat_hash_set<uint64_t> replayed, ReplayedKeys(m));
      CheckpointData& data = *d;
      std::vector<CheckpointItem> items;
      std::vector<float> scores;
      for (size_t k = 0; k < data.items.size(); ++k) {
        const CheckpointItem& it = data.items[k];
        const uint64_t key = (uint64_t{data.generations[it.slot]} << 32) | it.slot;
        if (kept.contains(it.segment) || replayed.contains(key)) {
          items.push_back(it);
          scores.insert(scores.end(), data.scores.begin() + k * data.score_columns,
                        data.scores.begin() + (k + 1) * data.score_columns);
        } else {
          ++data.generations[it.slot];  // free: the item's generation ended
          ++report_.checkpoint_items_dropped;
        }
      }
      m.checkpoint = name;
      if (items.size() != data.items.size()) {
        data.items = std::move(items);
        data.scores = std::move(scores);
        m.checkpoint = CheckpointName(next_number_++);
        RETURN_IF_ERROR(WriteFileAtomically(env_, o_.dir, m.checkpoint,
                                            FrameFile(kCheckpointMagic, EncodeCheckpoint(data))));
        RETURN_IF_ERROR(SetAside(name));
      }
    }
    report_.checkpoint = m.checkpoint;
    m.next_file_number = std::max<uint32_t>(next_number_, 1);
    RETURN_IF_ERROR(WriteFileAtomically(env_, o_.dir, kManifestFile, EncodeManifest(m)));
    return report_;
  }

 private:
  std::string Path(const std::string& name) const { return o_.dir + "/" + name; }

  absl::Status ReadOldManifest() {
    report_.manifest_rebuilt = true;
    if (!env_->FileExists(Path(kManifestFile))) return absl::OkStatus();
    std::string data;
    RETURN_IF_ERROR(ReadWholeFile(env_, Path(kManifestFile), &data));
    absl::StatusOr<Manifest> m = DecodeManifest(data, Path(kManifestFile));
    if (!m.ok()) return absl::OkStatus();  // unreadable: set aside, rebuilt
    if (m->schema != o_.schema) {
      return absl::FailedPreconditionError(
          absl::StrCat(o_.dir, " holds table '", m->table_name, "' with schema ", m->schema,
                       ", not the schema given: ", o_.schema, "; nothing was changed"));
    }
    old_ = *std::move(m);
    have_old_ = true;
    report_.manifest_rebuilt = false;
    next_number_ = std::max(next_number_, old_.next_file_number);
    return absl::OkStatus();
  }

  absl::StatusOr<CheckpointData> ReadCheckpoint(const std::string& name) {
    std::string file;
    RETURN_IF_ERROR(ReadWholeFile(env_, Path(name), &file));
    ASSIGN_OR_RETURN(std::string_view body, UnframeFile(kCheckpointMagic, file, Path(name)));
    return DecodeCheckpoint(body, Path(name));
  }

  // Keys of the records the index files of `m`'s segments at or after replay_from hold.
  absl::StatusOr<absl::flat_hash_set<uint64_t>> ReplayedKeys(const Manifest& m) {
    absl::flat_hash_set<uint64_t> keys;
    for (const SegmentInfo& s : m.segments) {
      if (s.id < m.replay_from) continue;
      std::string index;
      RETURN_IF_ERROR(ReadWholeFile(env_, Path(SegmentIndexName(s.id)), &index));
      for (size_t i = 0; i + kIndexEntryBytes <= index.size(); i += kIndexEntryBytes) {
        IndexEntry e;
        uint16_t version;
        if (DecodeIndexEntry(index.data() + i, &e, &version) != DecodeResult::kOk) break;
        if (!(e.flags & IndexEntry::kTombstone)) keys.insert(e.key);
      }
    }
    return keys;
  }

  // 4096 when every record starts on a page and the data file is whole pages (written for
  // O_DIRECT), else 1.
  absl::StatusOr<uint32_t> InferAlignment(uint32_t id, uint64_t data_bytes) {
    std::string index;
    RETURN_IF_ERROR(ReadWholeFile(env_, Path(SegmentIndexName(id)), &index));
    bool any = false;
    for (size_t i = 0; i + kIndexEntryBytes <= index.size(); i += kIndexEntryBytes) {
      IndexEntry e;
      uint16_t version;
      if (DecodeIndexEntry(index.data() + i, &e, &version) != DecodeResult::kOk) break;
      if (e.length == 0) continue;
      if (e.data_offset % kDirectIoAlignment != 0) return 1u;
      any = true;
    }
    return any && data_bytes % kDirectIoAlignment == 0 ? static_cast<uint32_t>(kDirectIoAlignment)
                                                       : 1u;
  }

  absl::Status SetAside(const std::string& name) {
    const std::string lost = Path(kLostDir);
    RETURN_IF_ERROR(env_->CreateDirIfMissing(lost));
    std::string target = lost + "/" + name;
    for (int i = 1; env_->FileExists(target); ++i) target = absl::StrCat(lost, "/", name, ".", i);
    RETURN_IF_ERROR(env_->RenameFile(Path(name), target));
    report_.set_aside.push_back(name);
    return absl::OkStatus();
  }

  absl::Status Delete(const std::string& name) {
    RETURN_IF_ERROR(env_->DeleteFile(Path(name)));
    report_.deleted.push_back(name);
    return absl::OkStatus();
  }

  const SegmentStore::Options& o_;
  Env* const env_;
  const uint32_t score_columns_;
  Manifest old_;
  bool have_old_ = false;
  uint32_t next_number_ = 1;
  RepairReport report_;
};

}  // namespace

absl::StatusOr<RepairReport> RepairStorage(const SegmentStore::Options& options,
                                           uint32_t score_columns) {
  absl::StatusOr<RepairReport> report = Repairer(options, score_columns).Run();
  if (!report.ok()) {
    Log(LogSeverity::kWarning, "repair",
        absl::StrCat("table '", options.table_name, "': repair of ", options.dir,
                     " failed: ", report.status().ToString()));
    return report;
  }
  // Setting files aside or dropping checkpoint items loses data: a warning.
  const bool lost = !report->set_aside.empty() || report->checkpoint_items_dropped > 0;
  Log(lost ? LogSeverity::kWarning : LogSeverity::kInfo, "repair",
      absl::StrCat("table '", options.table_name, "': repaired ", options.dir, ": ",
                   report->ToString()));
  return report;
}

}  // namespace internal
}  // namespace strata
