#include "tier/segment_store.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "strata/status.h"
#include "tier/file_io.h"
#include "tier/file_names.h"

namespace strata::internal {
namespace {

// "a, b, c and 4 more".
std::string ListSome(const std::vector<std::string>& names) {
  constexpr size_t kShown = 4;
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(names.size(), kShown));
  std::string out = absl::StrJoin(shown, ", ");
  if (names.size() > kShown) absl::StrAppend(&out, " and ", names.size() - kShown, " more");
  return out;
}

absl::Status Annotate(const absl::Status& s, const std::string& what) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

}  // namespace

void SegmentStore::ReleaseLock() { lock_.reset(); }

SegmentStore::~SegmentStore() {
  // Close errors are dropped here: everything acknowledged was flushed or synced already.
  if (active_data_ != nullptr) active_data_->Close().IgnoreError();
  if (active_index_ != nullptr) active_index_->Close().IgnoreError();
}

absl::StatusOr<std::unique_ptr<SegmentStore>> SegmentStore::Open(const Options& options,
                                                                 Recovered* recovered) {
  if (options.segment_bytes == 0 || options.segment_bytes > (uint64_t{1} << 32)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "segment_bytes must be in [1, 2^32] (offsets are 32-bit), got ", options.segment_bytes));
  }
  std::unique_ptr<SegmentStore> store(new SegmentStore(options));
  Env* env = options.env;
  RETURN_IF_ERROR(env->CreateDirIfMissing(options.dir));
  ASSIGN_OR_RETURN(store->lock_, env->LockFile(store->PathOf(kLockFile)));
  ASSIGN_OR_RETURN(std::vector<std::string> children, env->GetChildren(options.dir));
  *recovered = Recovered{};
  // Never touch files that are not Strata's: a directory holding others is refused.
  for (const std::string& c : children) {
    if (ParseFileName(c).kind == FileName::kForeign) {
      return absl::FailedPreconditionError(
          absl::StrCat("storage_dir ", options.dir, " holds '", c,
                       "', which is not a Strata file; use an empty or Strata directory"));
    }
  }
  // Every file is accounted for before any is deleted: an error leaves the directory as it was.
  std::vector<std::string> leftovers;
  if (!env->FileExists(store->PathOf(kManifestFile))) {
    RETURN_IF_ERROR(store->AccountWithoutManifest(children, &leftovers));
  } else if (options.durability == Durability::kNone) {
    RETURN_IF_ERROR(store->AccountDiscarded(children, &leftovers));
  } else {
    RETURN_IF_ERROR(store->Recover(recovered));
    RETURN_IF_ERROR(store->AccountRecovered(children, &leftovers));
    recovered->existed = true;
  }
  store->leftovers_ = std::move(leftovers);
  {
    MutexLock l(&store->mu_);
    if (!recovered->existed) {
      store->manifest_ = Manifest{};
      store->manifest_.table_name = options.table_name;
      store->manifest_.schema = options.schema;
      store->manifest_.segment_bytes = options.segment_bytes;
    }
    store->manifest_.durable = options.durability != Durability::kNone;
  }
  return store;
}

absl::Status SegmentStore::Start(const absl::flat_hash_set<uint32_t>& in_use) {
  for (const std::string& c : leftovers_) RETURN_IF_ERROR(options_.env->DeleteFile(PathOf(c)));
  leftovers_.clear();
  std::vector<uint32_t> no_data;  // recovered segments with an empty data file
  {
    MutexLock l(&mu_);
    manifest_.obsolete.clear();  // deleted: the manifest saved below drops them
    for (const SegmentInfo& seg : manifest_.segments) {
      auto data = data_bytes_.find(seg.id);
      if (!in_use.contains(seg.id) && data != data_bytes_.end() && data->second == 0) {
        no_data.push_back(seg.id);
      }
    }
  }
  // Segments that hold neither a record nor an index entry (older versions started one at every
  // open and every checkpoint): nothing to replay, nothing to read.
  std::vector<uint32_t> empty;
  for (uint32_t id : no_data) {
    auto index = options_.env->GetFileSize(PathOf(SegmentIndexName(id)));
    if (index.ok() && *index == 0) empty.push_back(id);
  }
  // Listed obsolete in a manifest that no longer lists them, then deleted: a crash in between
  // leaves files the next open accounts for.
  if (!empty.empty()) RETURN_IF_ERROR(DropSegments(empty));
  // No segment is active: a recovered one is never appended to (its tail may be torn), and the
  // first Append starts a new one, so an open without writes creates no segment file.
  return SaveManifest();
}

absl::Status SegmentStore::AccountWithoutManifest(const std::vector<std::string>& children,
                                                  std::vector<std::string>* leftovers) {
  // A fresh directory, or the remains of a first open that stopped before its manifest was
  // written: empty segment files and temporaries. Anything holding data is a table whose
  // manifest is gone.
  std::vector<std::string> held;
  for (const std::string& c : children) {
    const FileName f = ParseFileName(c);
    if (f.kind == FileName::kLock || f.kind == FileName::kLost) continue;
    auto size = options_.env->GetFileSize(PathOf(c));
    if (f.kind == FileName::kTemp ||
        ((f.kind == FileName::kSegmentData || f.kind == FileName::kSegmentIndex) && size.ok() &&
         *size == 0)) {
      leftovers->push_back(c);
      continue;
    }
    held.push_back(absl::StrCat(c, size.ok() ? absl::StrCat(" (", *size, " bytes)") : ""));
  }
  if (held.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      "storage_dir ", options_.dir, " has no MANIFEST but holds ", ListSome(held),
      "; nothing was changed. Table::Repair rebuilds the manifest from the files present"));
}

absl::Status SegmentStore::AccountDiscarded(const std::vector<std::string>& children,
                                            std::vector<std::string>* leftovers) {
  // Durability::kNone starts empty, but only over a table that promised nothing either.
  const std::string path = PathOf(kManifestFile);
  std::string data;
  RETURN_IF_ERROR(ReadWholeFile(options_.env, path, &data));
  ASSIGN_OR_RETURN(const Manifest m, DecodeManifest(data, path));
  if (m.durable) {
    return absl::FailedPreconditionError(absl::StrCat(
        "storage_dir ", options_.dir, " holds table '", m.table_name,
        "', written with durability flush or sync; durability none would discard it. Open it with "
        "the durability it was written with, or use another directory"));
  }
  for (const std::string& c : children) {
    const FileName f = ParseFileName(c);
    if (f.kind != FileName::kLock && f.kind != FileName::kLost) leftovers->push_back(c);
  }
  return absl::OkStatus();
}

absl::Status SegmentStore::AccountRecovered(const std::vector<std::string>& children,
                                            std::vector<std::string>* leftovers) {
  MutexLock l(&mu_);
  const Manifest& m = manifest_;
  absl::flat_hash_set<uint32_t> live;
  for (const SegmentInfo& s : m.segments) live.insert(s.id);
  absl::flat_hash_set<std::string> obsolete(m.obsolete.begin(), m.obsolete.end());
  std::vector<std::string> unaccounted;
  for (const std::string& c : children) {
    const FileName f = ParseFileName(c);
    const bool segment_file = f.kind == FileName::kSegmentData || f.kind == FileName::kSegmentIndex;
    if (f.kind == FileName::kLock || f.kind == FileName::kManifest || f.kind == FileName::kLost ||
        c == m.checkpoint || (segment_file && live.contains(f.number))) {
      continue;  // part of the table
    }
    // Leftovers of a step the manifest records, or of one that stopped before the manifest
    // named its file: a temporary, a file the manifest lists as obsolete, a checkpoint never
    // published, a segment created but never written to.
    bool leftover = f.kind == FileName::kTemp || obsolete.contains(c) ||
                    (f.kind == FileName::kCheckpoint && f.number >= m.next_file_number);
    if (segment_file && f.number >= m.next_file_number) {
      auto size = options_.env->GetFileSize(PathOf(c));
      leftover = size.ok() && *size == 0;
    }
    (leftover ? *leftovers : unaccounted).push_back(c);
  }
  if (unaccounted.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      PathOf(kManifestFile), " does not account for ", ListSome(unaccounted),
      " (a segment or checkpoint the manifest leaves out); nothing was changed. Table::Repair "
      "rebuilds the manifest from the files present"));
}

absl::Status SegmentStore::CheckManifest(const Manifest& m, const std::string& path) const {
  auto bad = [&](auto&&... what) {
    return absl::DataLossError(absl::StrCat(path, ": ", what...,
                                            "; nothing was changed. Table::Repair rebuilds the "
                                            "manifest from the files present"));
  };
  absl::flat_hash_set<uint32_t> ids;
  for (size_t i = 0; i < m.segments.size(); ++i) {
    const SegmentInfo& s = m.segments[i];
    // A segment at or above next_file_number would be overwritten by the next one created.
    if (s.id >= m.next_file_number) {
      return bad("segment ", s.id, " is not below next_file_number ", m.next_file_number);
    }
    if (!ids.insert(s.id).second) return bad("segment ", s.id, " is listed twice");
    if (s.alignment != 1 && s.alignment != kDirectIoAlignment) {
      return bad("segment ", s.id, " has alignment ", s.alignment, " (1 or 4096 expected)");
    }
    for (const std::string& name : {SegmentDataName(s.id), SegmentIndexName(s.id)}) {
      if (!options_.env->FileExists(PathOf(name))) {
        return bad("it lists segment ", s.id, ", but ", name, " is missing");
      }
    }
  }
  if (!m.checkpoint.empty()) {
    const FileName f = ParseFileName(m.checkpoint);
    if (f.kind != FileName::kCheckpoint || f.number >= m.next_file_number) {
      return bad("checkpoint '", m.checkpoint, "' is not a checkpoint file name below ",
                 "next_file_number ", m.next_file_number);
    }
    if (!options_.env->FileExists(PathOf(m.checkpoint))) {
      return bad("it names checkpoint ", m.checkpoint, ", which is missing");
    }
  }
  if (m.replay_from > m.next_file_number) {
    return bad("replay_from ", m.replay_from, " is past next_file_number ", m.next_file_number);
  }
  for (const std::string& name : m.obsolete) {
    const FileName f = ParseFileName(name);
    const bool segment_file = f.kind == FileName::kSegmentData || f.kind == FileName::kSegmentIndex;
    // Only files that are no longer part of the table may be listed for deletion.
    if ((!segment_file && f.kind != FileName::kCheckpoint) || name == m.checkpoint ||
        (segment_file && ids.contains(f.number))) {
      return bad("'", name, "' is listed as obsolete but is not a file the table gave up");
    }
  }
  return absl::OkStatus();
}

absl::Status SegmentStore::Recover(Recovered* recovered) {
  Env* env = options_.env;
  const std::string manifest_path = PathOf(kManifestFile);
  std::string data;
  RETURN_IF_ERROR(ReadWholeFile(env, manifest_path, &data));
  ASSIGN_OR_RETURN(Manifest m, DecodeManifest(data, manifest_path));
  if (m.schema != options_.schema) {
    return absl::FailedPreconditionError(absl::StrCat(options_.dir, " holds table '", m.table_name,
                                                      "' with schema ", m.schema,
                                                      ", not the schema given: ", options_.schema));
  }
  RETURN_IF_ERROR(CheckManifest(m, manifest_path));
  if (!m.checkpoint.empty()) {
    const std::string path = PathOf(m.checkpoint);
    std::string ckpt;
    RETURN_IF_ERROR(ReadWholeFile(env, path, &ckpt));
    ASSIGN_OR_RETURN(std::string_view body, UnframeFile(kCheckpointMagic, ckpt, path));
    recovered->checkpoint.assign(body.data(), body.size());
    recovered->checkpoint_path = path;
  }
  uint64_t disk = 0;
  absl::flat_hash_map<uint32_t, std::shared_ptr<const Segment>> segments;
  absl::flat_hash_map<uint32_t, uint64_t> data_bytes;
  for (const SegmentInfo& s : m.segments) {
    auto seg = std::make_shared<Segment>();
    seg->id = s.id;
    seg->path = PathOf(SegmentDataName(s.id));
    if (options_.direct_io && s.alignment == kDirectIoAlignment) {
      ASSIGN_OR_RETURN(seg->data, env->NewDirectRandomAccessFile(seg->path));
    } else {
      ASSIGN_OR_RETURN(seg->data, env->NewRandomAccessFile(seg->path));
    }
    const uint64_t data_size = seg->data->size();
    disk += data_size;
    data_bytes[s.id] = data_size;
    const std::string index_path = PathOf(SegmentIndexName(s.id));
    std::string index;
    RETURN_IF_ERROR(ReadWholeFile(env, index_path, &index));
    disk += index.size();
    segments[s.id] = std::move(seg);
    if (s.id < m.replay_from) continue;
    const size_t whole = index.size() / kIndexEntryBytes;
    if (index.size() % kIndexEntryBytes != 0) ++recovered->bad_entries;  // a torn last entry
    for (size_t i = 0; i < whole; ++i) {
      IndexEntry e;
      uint16_t version = 0;
      const DecodeResult r = DecodeIndexEntry(index.data() + i * kIndexEntryBytes, &e, &version);
      if (r == DecodeResult::kUnknownVersion) {
        return absl::FailedPreconditionError(absl::StrCat(index_path, ": format version ", version,
                                                          "; this build reads version ",
                                                          kFormatVersion));
      }
      // A bad entry ends the file: everything after it was written later than something that
      // did not survive. So does one pointing past the data written in the segment that was
      // being appended to (a torn tail); in a sealed segment the record was written and is
      // gone since — the item is kept, and reading it reports the loss.
      if (r == DecodeResult::kCorrupt || (!s.sealed && e.data_offset + e.length > data_size)) {
        recovered->bad_entries += whole - i;
        break;
      }
      constexpr uint16_t kKnownFlags = IndexEntry::kTombstone | IndexEntry::kRelocated;
      if ((e.flags & ~kKnownFlags) != 0 || e.data_offset > UINT32_MAX) {
        return absl::DataLossError(absl::StrCat(
            index_path, " entry ", i, " (key ", e.key, "): ",
            (e.flags & ~kKnownFlags) != 0 ? absl::StrCat("unknown flags ", e.flags)
                                          : absl::StrCat("offset ", e.data_offset, " past 4 GiB"),
            "; nothing was changed"));
      }
      recovered->entries.push_back({s.id, static_cast<uint32_t>(i), e});
    }
  }
  MutexLock l(&mu_);
  manifest_ = std::move(m);
  segments_ = std::move(segments);
  data_bytes_ = std::move(data_bytes);
  disk_bytes_ = disk;
  return absl::OkStatus();
}

void SegmentStore::SealActiveLocked() {
  if (active_data_ == nullptr) return;
  for (SegmentInfo& s : manifest_.segments) {
    if (s.id == active_id_ && !s.sealed) {
      s.sealed = true;
      s.data_bytes = active_data_->size();
      s.index_bytes = active_index_->size();
    }
  }
}

void SegmentStore::CloseActive() {
  if (active_data_ != nullptr) active_data_->Close().IgnoreError();
  if (active_index_ != nullptr) active_index_->Close().IgnoreError();
  active_data_.reset();
  active_index_.reset();
  active_id_ = 0;
  active_broken_ = false;
}

absl::Status SegmentStore::StartSegment() {
  Env* env = options_.env;
  uint32_t id;
  {
    MutexLock l(&mu_);
    id = manifest_.next_file_number++;
  }
  const std::string data_path = PathOf(SegmentDataName(id));
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> data, env->NewWritableFile(data_path, false));
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> index,
                   env->NewWritableFile(PathOf(SegmentIndexName(id)), false));
  auto seg = std::make_shared<Segment>();
  seg->id = id;
  seg->path = data_path;
  if (options_.direct_io) {
    ASSIGN_OR_RETURN(seg->data, env->NewDirectRandomAccessFile(data_path));
  } else {
    ASSIGN_OR_RETURN(seg->data, env->NewRandomAccessFile(data_path));
  }
  {
    MutexLock l(&mu_);
    SealActiveLocked();
    manifest_.segments.push_back(SegmentInfo{
        .id = id, .alignment = options_.direct_io ? static_cast<uint32_t>(kDirectIoAlignment) : 1});
    segments_[id] = std::move(seg);
    data_bytes_[id] = 0;
  }
  // The manifest names the segment before anything is appended to it, so recovery never misses
  // an acknowledged record.
  RETURN_IF_ERROR(SaveManifest());
  CloseActive();
  active_data_ = std::move(data);
  active_index_ = std::move(index);
  active_id_ = id;
  active_broken_ = false;
  return absl::OkStatus();
}

absl::Status SegmentStore::SaveManifest() {
  std::string encoded;
  {
    MutexLock l(&mu_);
    encoded = EncodeManifest(manifest_);
  }
  return Annotate(WriteFileAtomically(options_.env, options_.dir, kManifestFile, encoded),
                  "saving the manifest");
}

absl::Status SegmentStore::Append(std::string_view records, std::vector<IndexEntry>* entries,
                                  uint32_t* segment) {
  const uint64_t index_bytes = entries->size() * kIndexEntryBytes;
  if (options_.budget_bytes != 0) {
    MutexLock l(&mu_);
    if (disk_bytes_ + records.size() + index_bytes > options_.budget_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "storage budget of ", options_.budget_bytes, " bytes in ", options_.dir, " is used up (",
          disk_bytes_, " bytes in segment files, ", records.size() + index_bytes, " more needed)"));
    }
  }
  if (active_data_ == nullptr || active_broken_ ||
      (active_data_->size() > 0 &&
       active_data_->size() + records.size() > options_.segment_bytes)) {
    RETURN_IF_ERROR(StartSegment());
  }
  const uint64_t base = active_data_->size();
  std::string index(index_bytes, '\0');
  for (size_t i = 0; i < entries->size(); ++i) {
    IndexEntry& e = (*entries)[i];
    if (e.length != 0) e.data_offset += base;
    EncodeIndexEntry(e, index.data() + i * kIndexEntryBytes);
  }
  const std::string data_name = SegmentDataName(active_id_);
  const std::string index_name = SegmentIndexName(active_id_);
  absl::Status s;
  if (!records.empty()) {
    s = Annotate(active_data_->Append(absl::string_view(records.data(), records.size())),
                 absl::StrCat("appending to ", data_name));
  }
  if (s.ok()) s = Annotate(active_index_->Append(index), absl::StrCat("appending to ", index_name));
  uint64_t syncs = 0;
  if (s.ok() && options_.durability == Durability::kSync) {
    if (!records.empty()) {
      s = Annotate(active_data_->Sync(), absl::StrCat("syncing ", data_name));
      ++syncs;
    }
    if (s.ok()) {
      s = Annotate(active_index_->Sync(), absl::StrCat("syncing ", index_name));
      ++syncs;
    }
  } else if (s.ok()) {
    s = active_data_->Flush();
    if (s.ok()) s = active_index_->Flush();
  }
  if (!s.ok()) {
    active_broken_ = true;
    return s;
  }
  *segment = active_id_;
  MutexLock l(&mu_);
  disk_bytes_ += records.size() + index_bytes;
  data_bytes_[active_id_] = active_data_->size();
  bytes_written_ += records.size() + index_bytes;
  ++appends_;
  syncs_ += syncs;
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> SegmentStore::Roll() {
  if (active_data_ != nullptr && !active_broken_ && active_data_->size() == 0 &&
      active_index_->size() == 0) {
    return active_id_;  // nothing in it yet: later appends still land in it or above
  }
  if (active_data_ != nullptr) {
    {
      MutexLock l(&mu_);
      SealActiveLocked();
    }
    // Never appended to again, even if the manifest below is not saved (a later save records
    // the seal).
    CloseActive();
    RETURN_IF_ERROR(SaveManifest());
  }
  // The next segment created takes a number at or above this one (numbers only grow).
  MutexLock l(&mu_);
  return manifest_.next_file_number;
}

absl::Status SegmentStore::WriteCheckpoint(std::string_view body, uint32_t first_uncovered) {
  std::string old;
  std::string name;
  {
    MutexLock l(&mu_);
    name = CheckpointName(manifest_.next_file_number++);
    old = manifest_.checkpoint;
  }
  RETURN_IF_ERROR(Annotate(
      WriteFileAtomically(options_.env, options_.dir, name, FrameFile(kCheckpointMagic, body)),
      absl::StrCat("writing checkpoint ", name)));
  {
    MutexLock l(&mu_);
    manifest_.checkpoint = name;
    manifest_.replay_from = first_uncovered;
    if (!old.empty()) manifest_.obsolete.push_back(old);
  }
  RETURN_IF_ERROR(SaveManifest());
  if (!old.empty()) RETURN_IF_ERROR(DeleteObsolete({old}));
  return absl::OkStatus();
}

absl::Status SegmentStore::DropSegments(const std::vector<uint32_t>& ids) {
  std::vector<std::string> names;
  {
    MutexLock l(&mu_);
    for (uint32_t id : ids) {
      if (id == active_id_) {
        return absl::InternalError(absl::StrCat("cannot drop the active segment ", id));
      }
    }
    for (uint32_t id : ids) {
      auto& segs = manifest_.segments;
      segs.erase(std::remove_if(segs.begin(), segs.end(),
                                [id](const SegmentInfo& s) { return s.id == id; }),
                 segs.end());
      segments_.erase(id);
      data_bytes_.erase(id);
      for (std::string name : {SegmentDataName(id), SegmentIndexName(id)}) {
        manifest_.obsolete.push_back(name);
        names.push_back(std::move(name));
      }
    }
  }
  // The manifest that stops listing the segments names their files as obsolete, so a crash
  // before the deletes below leaves files recovery can account for.
  RETURN_IF_ERROR(SaveManifest());
  return DeleteObsolete(names);
}

absl::Status SegmentStore::DeleteObsolete(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    auto size = options_.env->GetFileSize(PathOf(name));
    RETURN_IF_ERROR(options_.env->DeleteFile(PathOf(name)));
    MutexLock l(&mu_);
    if (size.ok()) disk_bytes_ -= std::min(disk_bytes_, *size);
    auto& obsolete = manifest_.obsolete;
    obsolete.erase(std::remove(obsolete.begin(), obsolete.end(), name), obsolete.end());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<IndexEntry>> SegmentStore::ReadIndex(uint32_t id) {
  std::string index;
  RETURN_IF_ERROR(ReadWholeFile(options_.env, PathOf(SegmentIndexName(id)), &index));
  std::vector<IndexEntry> out;
  for (size_t i = 0; i + kIndexEntryBytes <= index.size(); i += kIndexEntryBytes) {
    IndexEntry e;
    uint16_t version = 0;
    if (DecodeIndexEntry(index.data() + i, &e, &version) != DecodeResult::kOk) break;
    out.push_back(e);
  }
  return out;
}

std::vector<SegmentInfo> SegmentStore::segments() const {
  MutexLock l(&mu_);
  std::vector<SegmentInfo> out = manifest_.segments;
  for (SegmentInfo& s : out) {
    auto it = data_bytes_.find(s.id);
    s.data_bytes = it == data_bytes_.end() ? 0 : it->second;
  }
  return out;
}

std::shared_ptr<const Segment> SegmentStore::GetSegment(uint32_t id) const {
  MutexLock l(&mu_);
  auto it = segments_.find(id);
  return it == segments_.end() ? nullptr : it->second;
}

uint32_t SegmentStore::replay_from() const {
  MutexLock l(&mu_);
  return manifest_.replay_from;
}

uint64_t SegmentStore::disk_bytes() const {
  MutexLock l(&mu_);
  return disk_bytes_;
}
uint64_t SegmentStore::bytes_written() const {
  MutexLock l(&mu_);
  return bytes_written_;
}
uint64_t SegmentStore::appends() const {
  MutexLock l(&mu_);
  return appends_;
}
uint64_t SegmentStore::syncs() const {
  MutexLock l(&mu_);
  return syncs_;
}

}  // namespace strata::internal
