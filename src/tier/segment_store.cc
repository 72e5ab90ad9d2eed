#include "tier/segment_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "strata/status.h"

namespace strata::internal {
namespace {

constexpr char kManifest[] = "MANIFEST";
constexpr char kLock[] = "LOCK";

// The names Strata creates in a storage directory.
bool IsStrataFile(const std::string& name) {
  auto numbered = [&](std::string_view prefix, std::string_view suffix) {
    if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix)) {
      return false;
    }
    std::string_view rest = std::string_view(name).substr(prefix.size());
    if (rest.ends_with(".tmp")) rest.remove_suffix(4);
    if (!rest.ends_with(suffix)) return false;
    rest.remove_suffix(suffix.size());
    return !rest.empty() &&
           std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return name == kLock || name == kManifest || name == std::string(kManifest) + ".tmp" ||
         numbered("seg-", ".data") || numbered("seg-", ".index") || numbered("meta-", ".ckpt");
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

absl::Status SegmentStore::ReadWholeFile(const std::string& path, std::string* out) {
  ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> f, options_.env->NewRandomAccessFile(path));
  out->resize(f->size());
  size_t done = 0;
  while (done < out->size()) {
    size_t got = 0;
    RETURN_IF_ERROR(f->Read(done, out->size() - done, out->data() + done, &got));
    if (got == 0) break;
    done += got;
  }
  out->resize(done);
  return absl::OkStatus();
}

absl::Status SegmentStore::WriteFileAtomically(const std::string& name, std::string_view contents) {
  const std::string tmp = PathOf(name + ".tmp");
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f,
                   options_.env->NewWritableFile(tmp, /*append=*/false));
  RETURN_IF_ERROR(f->Append(absl::string_view(contents.data(), contents.size())));
  RETURN_IF_ERROR(f->Sync());
  RETURN_IF_ERROR(f->Close());
  RETURN_IF_ERROR(options_.env->RenameFile(tmp, PathOf(name)));
  return options_.env->SyncDir(options_.dir);
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
  ASSIGN_OR_RETURN(store->lock_, env->LockFile(store->PathOf(kLock)));
  ASSIGN_OR_RETURN(std::vector<std::string> children, env->GetChildren(options.dir));
  *recovered = Recovered{};
  const bool exists = env->FileExists(store->PathOf(kManifest));
  // Never touch files that are not Strata's: a directory holding others is refused.
  for (const std::string& c : children) {
    if (!IsStrataFile(c)) {
      return absl::FailedPreconditionError(
          absl::StrCat("storage_dir ", options.dir, " holds '", c,
                       "', which is not a Strata file; use an empty or Strata directory"));
    }
  }
  if (options.durability == Durability::kNone || !exists) {
    // A fresh table: nothing here is ours to keep (kNone promises nothing after a close).
    for (const std::string& c : children) {
      if (c != kLock) RETURN_IF_ERROR(env->DeleteFile(store->PathOf(c)));
    }
    MutexLock l(&store->mu_);
    store->manifest_.table_name = options.table_name;
    store->manifest_.schema = options.schema;
    store->manifest_.segment_bytes = options.segment_bytes;
  } else {
    RETURN_IF_ERROR(store->Recover(recovered));
    // Files the manifest does not name are leftovers of an interrupted step: remove them.
    MutexLock l(&store->mu_);
    for (const std::string& c : children) {
      bool keep = c == kLock || c == kManifest || c == store->manifest_.checkpoint;
      for (const SegmentInfo& s : store->manifest_.segments) {
        keep = keep || c == SegmentDataName(s.id) || c == SegmentIndexName(s.id);
      }
      if (!keep) RETURN_IF_ERROR(env->DeleteFile(store->PathOf(c)));
    }
  }
  recovered->existed = exists && options.durability != Durability::kNone;
  // Never append to a recovered segment: its tail may be torn.
  RETURN_IF_ERROR(store->StartSegment());
  return store;
}

absl::Status SegmentStore::Recover(Recovered* recovered) {
  Env* env = options_.env;
  const std::string manifest_path = PathOf(kManifest);
  std::string data;
  RETURN_IF_ERROR(ReadWholeFile(manifest_path, &data));
  ASSIGN_OR_RETURN(Manifest m, DecodeManifest(data, manifest_path));
  if (m.schema != options_.schema) {
    return absl::FailedPreconditionError(absl::StrCat(options_.dir, " holds table '", m.table_name,
                                                      "' with schema ", m.schema,
                                                      ", not the schema given: ", options_.schema));
  }
  if (!m.checkpoint.empty()) {
    const std::string path = PathOf(m.checkpoint);
    std::string ckpt;
    RETURN_IF_ERROR(ReadWholeFile(path, &ckpt));
    ASSIGN_OR_RETURN(std::string_view body, UnframeFile(kCheckpointMagic, ckpt, path));
    recovered->checkpoint.assign(body.data(), body.size());
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
    RETURN_IF_ERROR(ReadWholeFile(index_path, &index));
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
      // A bad entry, or one pointing past the data written, ends the file: everything after it
      // was written later than something that did not survive.
      if (r == DecodeResult::kCorrupt || e.data_offset + e.length > data_size) {
        recovered->bad_entries += whole - i;
        break;
      }
      recovered->entries.push_back({s.id, e});
    }
  }
  MutexLock l(&mu_);
  manifest_ = std::move(m);
  segments_ = std::move(segments);
  data_bytes_ = std::move(data_bytes);
  disk_bytes_ = disk;
  return absl::OkStatus();
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
    for (SegmentInfo& s : manifest_.segments) {
      if (s.id == active_id_ && !s.sealed && active_data_ != nullptr) {
        s.sealed = true;
        s.data_bytes = active_data_->size();
        s.index_bytes = active_index_->size();
      }
    }
    manifest_.segments.push_back(SegmentInfo{
        .id = id, .alignment = options_.direct_io ? static_cast<uint32_t>(kDirectIoAlignment) : 1});
    segments_[id] = std::move(seg);
    data_bytes_[id] = 0;
  }
  // The manifest names the segment before anything is appended to it, so recovery never misses
  // an acknowledged record.
  RETURN_IF_ERROR(SaveManifest());
  if (active_data_ != nullptr) active_data_->Close().IgnoreError();
  if (active_index_ != nullptr) active_index_->Close().IgnoreError();
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
  return Annotate(WriteFileAtomically(kManifest, encoded), "saving the manifest");
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
  if (active_broken_ || (active_data_->size() > 0 &&
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
  RETURN_IF_ERROR(StartSegment());
  return active_id_;
}

absl::Status SegmentStore::WriteCheckpoint(std::string_view body, uint32_t first_uncovered) {
  std::string old;
  std::string name;
  {
    MutexLock l(&mu_);
    name = CheckpointName(manifest_.next_file_number++);
    old = manifest_.checkpoint;
  }
  RETURN_IF_ERROR(Annotate(WriteFileAtomically(name, FrameFile(kCheckpointMagic, body)),
                           absl::StrCat("writing checkpoint ", name)));
  {
    MutexLock l(&mu_);
    manifest_.checkpoint = name;
    manifest_.replay_from = first_uncovered;
  }
  RETURN_IF_ERROR(SaveManifest());
  if (!old.empty()) RETURN_IF_ERROR(options_.env->DeleteFile(PathOf(old)));
  return absl::OkStatus();
}

absl::Status SegmentStore::DropSegments(const std::vector<uint32_t>& ids) {
  {
    MutexLock l(&mu_);
    for (uint32_t id : ids) {
      if (id == active_id_) {
        return absl::InternalError(absl::StrCat("cannot drop the active segment ", id));
      }
      auto& segs = manifest_.segments;
      segs.erase(std::remove_if(segs.begin(), segs.end(),
                                [id](const SegmentInfo& s) { return s.id == id; }),
                 segs.end());
      segments_.erase(id);
      data_bytes_.erase(id);
    }
  }
  RETURN_IF_ERROR(SaveManifest());
  for (uint32_t id : ids) {
    for (const std::string& name : {SegmentDataName(id), SegmentIndexName(id)}) {
      auto size = options_.env->GetFileSize(PathOf(name));
      RETURN_IF_ERROR(options_.env->DeleteFile(PathOf(name)));
      MutexLock l(&mu_);
      if (size.ok()) disk_bytes_ -= std::min(disk_bytes_, *size);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<IndexEntry>> SegmentStore::ReadIndex(uint32_t id) {
  std::string index;
  RETURN_IF_ERROR(ReadWholeFile(PathOf(SegmentIndexName(id)), &index));
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
