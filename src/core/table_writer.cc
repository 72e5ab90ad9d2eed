// TableImpl: the writer thread — write-behind with group commit, durability waits, storage
// errors, and compaction and automatic checkpoints between groups (docs/design.md, "SSD tier").
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/batch_writer.h"
#include "core/table_impl.h"
#include "strata/log.h"
#include "strata/status.h"
#include "tier/format.h"

namespace strata::internal {
namespace {

// A write group holds at most this many entries or record bytes: large enough to amortize a
// sync, small enough that the table lock is not held long while the group is copied.
constexpr size_t kMaxGroupEntries = 1024;
constexpr size_t kMaxGroupBytes = size_t{8} << 20;
// The writer checkpoints on its own once more segments than this would be replayed at open.
constexpr size_t kAutoCheckpointSegments = 16;

}  // namespace

// --- The writer ------------------------------------------------------------------------------

void TableImpl::Enqueue(Key key, bool tombstone) { writes_.Enqueue(key, tombstone); }

void TableImpl::WakeWriter() { writer_wakeup_.Notify(); }

void TableImpl::StopWriter() {
  writer_wakeup_.Stop();
  if (writer_.joinable()) writer_.join();
}

void TableImpl::WriterLoop() {
  // After a failed write, retry with exponential backoff (10 ms .. 1 s).
  auto backoff = std::chrono::milliseconds(0);
  for (bool busy = false;;) {
    // The timeout is a safety net only: every enqueuer wakes the writer. After a failure, sleep
    // the backoff whatever arrives.
    const bool running = backoff.count() > 0
                             ? writer_wakeup_.Wait(backoff, /*only_stop=*/true)
                             : writer_wakeup_.Wait(std::chrono::milliseconds(busy ? 0 : 50));
    if (!running) return;
    MutexLock w(&writer_mu_);
    bool failed = false;
    while (WriteGroup(&failed)) {
    }
    backoff = failed ? std::clamp(backoff * 2, std::chrono::milliseconds(10),
                                  std::chrono::milliseconds(1000))
                     : std::chrono::milliseconds(0);
    if (failed) continue;
    // Between groups: reclaim space, one paced step at a time (inserts come first); when a step
    // ran, more may be due: come back without sleeping.
    busy = CompactStep();
    // Bound recovery work (and compaction's carried tombstones) with a fresh checkpoint once
    // many segments would be replayed.
    if (options_.durability != Durability::kNone) {
      const uint32_t replay_from = segments_->replay_from();
      size_t replayed = 0;
      for (const SegmentInfo& s : segments_->segments()) replayed += s.id >= replay_from;
      if (replayed > kAutoCheckpointSegments) CheckpointLocked().IgnoreError();
    }
  }
}

bool TableImpl::WriteGroup(bool* failed) {
  // Under the lock only the DRAM copies: raw records into `raw` (compressed schemas) or straight
  // into `records`. Compression and checksums run after the lock is released.
  const bool compressed = record_layout_.compressed;
  AlignedBytes& records = write_buffer_;  // reused group after group
  AlignedBytes& raw = compressed ? write_raw_ : write_buffer_;
  records.clear();
  raw.clear();
  std::vector<IndexEntry> entries;
  std::vector<WriteBehind::Pending> taken;
  {
    BackgroundLock lock(this);
    WriteBehind::Pending w;
    while (entries.size() < kMaxGroupEntries && raw.size() < kMaxGroupBytes &&
           writes_.TakeFront(&w)) {
      taken.push_back(w);
      if (w.tombstone) {
        entries.push_back(IndexEntry{.flags = IndexEntry::kTombstone, .key = w.key});
        continue;
      }
      const Slot slot = index_.Resolve(w.key);
      if (slot == kNoSlot) {
        // Removed before it was written: no record, but a tombstone, so that a crash cannot
        // give its key (already handed to the caller) to another item.
        if (options_.durability != Durability::kNone) {
          entries.push_back(IndexEntry{.flags = IndexEntry::kTombstone, .key = w.key});
        }
        continue;
      }
      const size_t offset = raw.size();
      AppendRecord(slot, &raw);
      const size_t len = raw.size() - offset;
      if (!compressed) PadRecords(&raw);  // the next record starts aligned (O_DIRECT reads)
      const SlotIndex::Meta& m = index_.meta(slot);
      entries.push_back(IndexEntry{.key = w.key,
                                   .seq = m.seq,
                                   .data_offset = offset,
                                   .length = static_cast<uint32_t>(len),
                                   .group = m.group,
                                   .task = m.task,
                                   .priority = m.priority});
    }
    if (taken.empty()) return false;
  }
  for (IndexEntry& e : entries) {
    if (e.flags & IndexEntry::kTombstone) continue;
    if (compressed) {
      const size_t offset = records.size();
      EncodeStored(record_layout_, reinterpret_cast<const uint8_t*>(raw.data() + e.data_offset),
                   &records);
      e.data_offset = offset;
      e.length = static_cast<uint32_t>(records.size() - offset);
      PadRecords(&records);
    }
    e.checksum = RecordChecksum(records.data() + e.data_offset, e.length);
  }
  uint32_t segment = 0;
  absl::Status s =
      entries.empty()
          ? absl::OkStatus()
          : segments_->Append(std::string_view(records.data(), records.size()), &entries, &segment);
  // Storage errors are logged once per transition (failing, then writing again), after the
  // lock is released.
  std::string log_message;
  LogSeverity log_severity = LogSeverity::kInfo;
  {
    BackgroundLock lock(this);
    if (!s.ok()) {
      if (writes_.error().ok()) {
        log_severity = LogSeverity::kError;
        log_message =
            absl::StrCat("table '", options_.name, "': writing to ", options_.storage_dir,
                         " failed (", writes_.size() + taken.size(),
                         " writes stay queued, items stay in DRAM; retrying): ", s.ToString());
      }
      // Keep everything queued, in order; the items stay in DRAM (dirty) until a retry succeeds.
      writes_.Failed(taken, s);
      *failed = true;
    } else {
      for (const IndexEntry& e : entries) {
        ++tier_counters_.records_written;
        if (e.flags & IndexEntry::kTombstone) continue;
        const Slot slot = index_.Resolve(e.key);
        if (slot == kNoSlot) {
          // Removed while being written: the record is garbage, and must not come back at reopen.
          Enqueue(e.key, /*tombstone=*/true);
          continue;
        }
        loc_[slot] = Location{segment, static_cast<uint32_t>(e.data_offset), e.checksum, e.length};
        live_bytes_[segment] += FileSpan(e.length);
        ++stored_items_;
        stored_bytes_ += e.length;
        // Now clean: its frame may be given up.
        dram_.MarkClean(ItemBytesOf(slot));
        Transit(slot, Residence::kDirty, Residence::kClean);
      }
      if (!writes_.error().ok()) {
        log_severity = LogSeverity::kWarning;
        log_message =
            absl::StrCat("table '", options_.name, "': writing to ", options_.storage_dir,
                         " recovered (writes succeed again) after: ", writes_.error().ToString());
      }
      writes_.Written(taken);
    }
  }
  if (!log_message.empty()) Log(log_severity, "storage", std::move(log_message));
  return s.ok();
}

absl::Status TableImpl::AwaitDurable(uint64_t ticket, absl::Time deadline) {
  auto done = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return writes_.durable(ticket) || !writes_.error().ok();
  };
  if (!mu_.AwaitInterruptibly(done, deadline)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "table '", options_.name,
        "': timed out waiting for inserted items to be written (they are in the table, "
        "not yet durable)"));
  }
  if (!writes_.durable(ticket)) {
    return absl::Status(writes_.error().code(),
                        absl::StrCat("table '", options_.name,
                                     "': inserted items are in the table but not durable: ",
                                     writes_.error().message()));
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
