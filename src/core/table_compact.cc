// TableImpl: compaction — space reclamation of the SSD tier (docs/design.md, "Space
// reclamation"). Runs on the writer thread between write groups, one chunk at a time, paced by
// options.compaction_bytes_per_second.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/table_impl.h"
#include "strata/log.h"
#include "strata/status.h"
#include "tier/compaction_picker.h"
#include "tier/format.h"

namespace strata::internal {
namespace {

constexpr size_t kChunkBytes = size_t{4} << 20;  // live record bytes moved per step

}  // namespace

bool TableImpl::CompactStep() {
  const absl::Time now = absl::Now();
  if (now < compaction_not_before_) return false;
  if (!compaction_.active) {
    const std::vector<SegmentInfo> segs = segments_->segments();
    const uint32_t active = segments_->active_segment();
    BackgroundLock lock(this);
    std::vector<SegmentUsage> usage;
    usage.reserve(segs.size());
    for (const SegmentInfo& s : segs) {
      auto it = live_bytes_.find(s.id);
      usage.push_back(SegmentUsage{.id = s.id,
                                   .data_bytes = s.data_bytes,
                                   .live_bytes = it == live_bytes_.end() ? 0 : it->second});
    }
    const std::optional<uint32_t> picked =
        PickCompactionVictim(usage, active, options_.compaction_live_ratio);
    if (!picked.has_value()) return false;
    const uint32_t victim = *picked;
    // The victim's live records, in file order (sequential reads).
    std::vector<std::pair<uint32_t, Key>> items;
    for (Slot s = 0; s < index_.high_water(); ++s) {
      if (index_.live(s) && loc_[s].segment == victim) {
        items.emplace_back(loc_[s].offset, KeyOf(s));
      }
    }
    std::sort(items.begin(), items.end());
    compaction_ = Compaction{};
    compaction_.active = true;
    compaction_.victim = victim;
    for (const auto& [offset, key] : items) compaction_.keys.push_back(key);
    for (const SegmentInfo& s : segs) {
      if (s.id == victim) compaction_.data_bytes = s.data_bytes;
    }
  }
  const uint32_t victim = compaction_.victim;

  // 1. Under the lock: the next chunk of items still in the victim.
  struct Move {
    Key key;
    Location from;
    uint32_t length;
    IndexEntry entry;
  };
  std::vector<Move> moves;
  size_t chunk = 0;
  {
    BackgroundLock lock(this);
    while (compaction_.next < compaction_.keys.size() && chunk < kChunkBytes) {
      const Key key = compaction_.keys[compaction_.next++];
      const Slot s = index_.Resolve(key);
      if (s == kNoSlot || loc_[s].segment != victim) continue;  // removed meanwhile
      const uint32_t len = RecordLength(s);
      const SlotIndex::Meta& m = index_.meta(s);
      moves.push_back(Move{key, loc_[s], len,
                           IndexEntry{.flags = IndexEntry::kRelocated,
                                      .key = key,
                                      .seq = m.seq,
                                      .data_offset = chunk,
                                      .length = len,
                                      .group = m.group,
                                      .task = m.task,
                                      .checksum = loc_[s].checksum,
                                      .priority = m.priority}});
      chunk = (chunk + len + record_align_ - 1) / record_align_ * record_align_;
    }
  }
  const bool last = compaction_.next >= compaction_.keys.size();

  // 2. Without the lock: read the chunk from the (pinned) victim and check every record.
  AlignedBytes records;
  records.resize(chunk);
  std::vector<IndexEntry> entries;
  std::vector<Key> corrupt;
  absl::Status status;
  if (!moves.empty()) {
    std::shared_ptr<const Segment> pin = segments_->GetSegment(victim);
    if (pin == nullptr) {
      status = absl::InternalError(absl::StrCat("segment ", victim, " vanished during compaction"));
    } else {
      std::vector<ColdRead> reads(moves.size());
      // O_DIRECT reads whole pages; records start on page boundaries there, so a rounded-up
      // read stays inside the record's slot of `records`.
      for (size_t i = 0; i < moves.size(); ++i) {
        reads[i] = ColdRead{.segment = pin,
                            .offset = moves[i].from.offset,
                            .length = moves[i].length,
                            .checksum = moves[i].from.checksum,
                            .dst = records.data() + moves[i].entry.data_offset};
      }
      ReadRecords(reader_.get(), absl::MakeSpan(reads));
      for (size_t i = 0; i < moves.size() && status.ok(); ++i) {
        if (reads[i].result == ColdRead::Result::kFailed) {
          status = reads[i].status;  // an I/O error: try again later
        } else if (reads[i].result == ColdRead::Result::kLost) {
          // Cut short or corrupt: lost, as for a sample (CompleteReads).
          corrupt.push_back(moves[i].key);
          moves[i].length = 0;  // not moved
        } else {
          entries.push_back(moves[i].entry);
        }
      }
    }
  }

  // 3. On the last chunk of a segment that recovery would replay, carry forward its tombstones
  //    for slots that hold no stored item now: dropping them could resurrect an older record of
  //    that slot still present in another segment.
  if (status.ok() && last && options_.durability != Durability::kNone &&
      victim >= segments_->replay_from()) {
    absl::StatusOr<std::vector<IndexEntry>> index = segments_->ReadIndex(victim);
    if (!index.ok()) {
      status = index.status();
    } else {
      absl::flat_hash_map<Slot, IndexEntry> carry;
      BackgroundLock lock(this);
      for (const IndexEntry& e : *index) {
        if (!(e.flags & IndexEntry::kTombstone)) continue;
        const Slot s = static_cast<Slot>(e.key & 0xFFFFFFFFu);
        if (s < index_.high_water() && index_.live(s) && loc_[s].segment != kUnwritten) continue;
        auto [it, inserted] = carry.try_emplace(s, e);
        if (!inserted && (e.key >> 32) > (it->second.key >> 32)) it->second = e;
      }
      for (const auto& [s, e] : carry) entries.push_back(e);
    }
  }

  // 4. Append the copies (the writer's only appender is this thread).
  uint32_t segment = 0;
  if (status.ok() && !entries.empty()) {
    // Tombstones carry no data; relocated records keep their chunk offsets.
    status =
        segments_->Append(std::string_view(records.data(), records.size()), &entries, &segment);
  }
  if (!status.ok()) {
    bool first = false;  // log the transition to an error only (compaction retries every second)
    {
      BackgroundLock lock(this);
      first = writes_.error().ok();
      writes_.SetError(absl::Status(
          status.code(), absl::StrCat("compaction of segment ", victim, ": ", status.message())));
      compaction_ = Compaction{};
      compaction_not_before_ = now + absl::Seconds(1);
    }
    if (first) {
      Log(LogSeverity::kWarning, "compaction",
          absl::StrCat("table '", options_.name, "': compaction of segment ", victim, " (",
                       SegmentDataName(victim), ") failed, retrying in 1 s: ", status.ToString()));
    }
    return false;
  }

  // 5. Publish the new locations of items that did not change meanwhile.
  bool drop = false;
  uint64_t moved = 0;
  {
    BackgroundLock lock(this);
    size_t k = 0;
    for (const Move& m : moves) {
      if (m.length == 0) continue;  // corrupt, not copied
      const IndexEntry& e = entries[k++];
      const Slot s = index_.Resolve(m.key);
      if (s == kNoSlot || loc_[s].segment != victim || loc_[s].offset != m.from.offset) {
        continue;  // removed (its tombstone is queued and lands after this copy)
      }
      loc_[s].segment = segment;
      loc_[s].offset = static_cast<uint32_t>(e.data_offset);
      live_bytes_[victim] -= FileSpan(m.length);
      live_bytes_[segment] += FileSpan(m.length);
      moved += m.length;
    }
    for (Key key : corrupt) {
      const Slot s = index_.Resolve(key);
      if (s != kNoSlot) {
        RemoveSlot(s, Removal::kDeleted);
        ++tier_counters_.corrupt_items;
      }
    }
    tier_counters_.compaction_bytes_moved += moved;
    tier_counters_.compaction_progress =
        last || compaction_.keys.empty()
            ? 0.0
            : static_cast<double>(compaction_.next) / static_cast<double>(compaction_.keys.size());
    if (last) {
      auto it = live_bytes_.find(victim);
      drop = it == live_bytes_.end() || it->second == 0;
      if (drop && it != live_bytes_.end()) live_bytes_.erase(it);
    }
  }
  if (last) {
    // The summary, logged without the lock: bytes moved over the whole segment (this chunk's
    // included), the segment's file bytes freed (0 if it could not be dropped).
    const uint64_t moved_total = compaction_.moved_bytes + moved;
    const uint64_t data_bytes = compaction_.data_bytes;
    const size_t items = compaction_.keys.size();
    absl::Status dropped;
    if (drop) {
      dropped = segments_->DropSegments({victim});
      BackgroundLock lock(this);
      if (!dropped.ok()) {
        writes_.SetError(dropped);
      } else {
        ++tier_counters_.segments_compacted;
        tier_counters_.compaction_bytes_freed += data_bytes;
      }
    }
    compaction_ = Compaction{};
    if (!dropped.ok()) {
      Log(LogSeverity::kWarning, "compaction",
          absl::StrCat("table '", options_.name, "': compacted segment ", victim,
                       " but could not drop ", SegmentDataName(victim), ": ", dropped.ToString()));
    } else {
      Log(LogSeverity::kInfo, "compaction",
          absl::StrCat("table '", options_.name, "': compacted segment ", victim, " (",
                       SegmentDataName(victim), "): ", items, " items, ", moved_total,
                       " bytes moved, ", drop ? data_bytes : 0, " bytes freed",
                       drop ? "" : " (still holds live items; kept)"));
    }
  } else {
    compaction_.moved_bytes += moved;
  }
  const uint64_t rate = options_.compaction_bytes_per_second;
  if (rate != 0) {
    compaction_not_before_ = now + absl::Seconds(2.0 * static_cast<double>(chunk) / rate);
  }
  return true;
}

}  // namespace strata::internal
