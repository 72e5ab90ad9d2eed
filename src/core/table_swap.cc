// TableImpl: residency changes made in the background — resident+swap mode (Miro/CarM),
// promotion by priority, and warm-up of DRAM after an open. All of them go through SwapIn:
// read the incoming records without the lock, then switch frames under it.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/table_impl.h"
#include "strata/status.h"
#include "tier/format.h"

namespace strata::internal {
namespace {

constexpr size_t kMaxPendingSwaps = 4;    // swap requests queued; more are skipped (counted)
constexpr size_t kMaxPairsPerStep = 256;  // promotions / warm-up reads per step

}  // namespace

void TableImpl::MaybeQueueSwap(const Slot* slots, size_t n) {
  const double ratio = swap_ratio_;
  if (ratio <= 0 || ++batches_since_swap_ < swap_interval_) return;
  batches_since_swap_ = 0;
  // k = ratio * n, rounded at random so that the expected number is exact.
  const double want = ratio * static_cast<double>(n);
  size_t k = static_cast<size_t>(want);
  if (rng_.Uniform01() < want - static_cast<double>(k)) ++k;
  if (k == 0) return;
  k = std::min(k, n);
  tier_counters_.swaps_requested += k;
  if (swap_requests_.size() >= kMaxPendingSwaps) {
    tier_counters_.swaps_skipped += k;  // training never waits for the swapper
    return;
  }
  // The victims: k of the batch's items, as the placement policy's swapper chooses them.
  std::vector<PlacementItem> batch(n);
  for (size_t i = 0; i < n; ++i) batch[i] = ItemFor(placement_->score_column(), slots[i]);
  std::vector<Slot> chosen;
  placement_->ChooseSwapVictims(batch, k, rng_, &chosen);
  std::vector<Key> victims;
  victims.reserve(chosen.size());
  for (Slot s : chosen) victims.push_back(KeyOf(s));
  swap_requests_.push_back(std::move(victims));
  WakeMaintenance();
}

absl::Status TableImpl::SetSwap(double ratio, uint32_t interval) {
  if (!resident_sampling_) {
    return absl::InvalidArgumentError(
        absl::StrCat("table '", options_.name,
                     "': swap settings apply to tables with storage_dir and tier_sampling = "
                     "kResident"));
  }
  if (!(ratio >= 0 && ratio <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("swap ratio must be in [0, 1], got ", ratio));
  }
  if (interval == 0) return absl::InvalidArgumentError("swap interval must be >= 1 (batches)");
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckOpen());
  swap_ratio_ = ratio;
  swap_interval_ = interval;
  return absl::OkStatus();
}

void TableImpl::WakeMaintenance() { maintenance_wakeup_.Notify(); }

void TableImpl::StopMaintenance() {
  maintenance_wakeup_.Stop();
  if (maintenance_.joinable()) maintenance_.join();
}

void TableImpl::MaintenanceLoop() {
  // Start with a step (an opened table warms its DRAM up); sleep only when idle.
  for (bool busy = true;;) {
    if (!maintenance_wakeup_.Wait(std::chrono::milliseconds(busy ? 0 : 20))) return;
    busy = MaintenanceStep();
  }
}

bool TableImpl::MaintenanceStep() {
  std::vector<SwapPair> pairs;
  bool is_swap = false;
  {
    BackgroundLock lock(this);
    if (closed_) return false;
    std::vector<PlacementMove> moves;
    if (!swap_requests_.empty()) {
      // Resident mode: each victim of the batch still clean in DRAM gets a replacement.
      is_swap = true;
      std::vector<Key> victims = std::move(swap_requests_.front());
      swap_requests_.pop_front();
      std::vector<PlacementItem> items;
      for (Key vk : victims) {
        const Slot v = index_.Resolve(vk);
        if (v != kNoSlot && ResidenceOf(v) == Residence::kClean) {
          items.push_back(ItemFor(placement_->score_column(), v));
        }
      }
      placement_->PlanSwaps(items, rng_, &moves);
    } else {
      // Stored items that fit into free frames under the budget (after an open, deletions, or
      // a larger budget); promotions and rebalancing otherwise.
      MaintenanceRoom room{.free_items = dram_.free_frames(),
                           .max_moves = kMaxPairsPerStep,
                           .inserts_pending = !writes_.empty()};
      const uint64_t row = options_.schema.fixed_row_bytes();
      if (row > 0) {
        room.free_items = std::min<uint64_t>(
            room.free_items, (dram_budget_ - std::min(dram_budget_, dram_.resident_bytes())) / row);
      }
      placement_->PlanMaintenance(room, rng_, &moves);
    }
    for (const PlacementMove& m : moves) {
      in_cold_[m.in] = 0;  // the plan made it Residence::kMoving
      pairs.push_back(SwapPair{m.out, m.out == kNoSlot ? kNoKey : KeyOf(m.out), m.in, KeyOf(m.in)});
    }
  }
  if (pairs.empty()) return false;
  SwapIn(std::move(pairs), is_swap);
  return true;
}

bool TableImpl::FillSpare(uint32_t frame, std::string_view record) {
  if (record_layout_.compressed) return DecodeStored(record_layout_, record, SpareRow(frame));
  absl::InlinedVector<std::string_view, 4> bytes(record_layout_.bytes_fields);
  const char* row = nullptr;
  if (!DecodeRecord(record_layout_, record, &row, absl::MakeSpan(bytes))) return false;
  if (row != reinterpret_cast<const char*>(SpareRow(frame))) {
    std::memcpy(SpareRow(frame), row, record_layout_.stride);
  }
  const std::vector<size_t>& vars = layout().variable_fields();
  for (size_t k = 0; k < bytes.size(); ++k) {
    store_.SetBytes(vars[k], frame, bytes[k].data(), bytes[k].size());
  }
  return true;
}

void TableImpl::SwapIn(std::vector<SwapPair> pairs, bool is_swap) {
  const RowStore& layout = this->layout();
  const bool has_bytes = !layout.variable_fields().empty();
  // 1. Under the lock: a spare row for each pair (pairs beyond the spares go back), locations,
  //    pins.
  struct Read {
    Location loc;
    uint32_t length;
    uint32_t read_length;  // rounded up to whole pages for O_DIRECT
    uint32_t frame;        // the spare row it is read into
    bool staged;           // read into staging first (bytes fields, or unaligned O_DIRECT)
    size_t offset;         // in staging
    std::shared_ptr<const Segment> segment;
  };
  std::vector<Read> reads;
  AlignedBytes& staging = swap_staging_;  // reused: no page faults on fresh memory per step
  staging.clear();
  {
    BackgroundLock lock(this);
    if (pairs.size() > dram_.spares()) {
      for (size_t i = dram_.spares(); i < pairs.size(); ++i) {
        const Slot in = index_.Resolve(pairs[i].in_key);
        if (in != kNoSlot && ResidenceOf(in) == Residence::kMoving) {
          Transit(in, Residence::kMoving, Residence::kCold);
        }
      }
      pairs.resize(dram_.spares());
    }
    reads.resize(pairs.size());
    for (size_t i = 0; i < pairs.size(); ++i) {
      const Slot s = pairs[i].in;
      Read& r = reads[i];
      r.loc = loc_[s];
      r.length = RecordLength(s);
      r.segment = segments_->GetSegment(r.loc.segment);
      dram_.TakeSpare(&r.frame);  // one for each pair, as counted above
      const bool direct = r.segment != nullptr && r.segment->data->direct_io();
      const size_t align = direct ? kDirectIoAlignment : 1;
      r.read_length = ReadLength(r.segment.get(), r.length);
      // A row of whole pages takes an O_DIRECT read in place (rows are page-aligned then).
      r.staged = has_bytes || record_layout_.compressed ||
                 (direct && layout.stride() % kDirectIoAlignment != 0);
      if (r.staged) {
        r.offset = (staging.size() + align - 1) / align * align;
        staging.resize(r.offset + r.read_length);
      }
    }
  }
  // 2. Without the lock: read into the spare rows (or staging), verify, fill the rows.
  std::vector<ColdRead> cold(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Read& r = reads[i];
    cold[i] = ColdRead{
        .segment = r.segment,
        .offset = r.loc.offset,
        .length = r.length,
        .checksum = r.loc.checksum,
        .dst = r.staged ? staging.data() + r.offset : reinterpret_cast<char*>(SpareRow(r.frame))};
  }
  ReadRecords(reader_.get(), absl::MakeSpan(cold));
  std::vector<bool> good(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Read& r = reads[i];
    good[i] = cold[i].result == ColdRead::Result::kOk &&
              FillSpare(r.frame, std::string_view(cold[i].dst, r.length));
  }
  // 3. Under the lock: re-check both items, then switch rows, O(1) per pair: the filled spare
  //    becomes the incoming item's frame and the row it displaces (the victim's, or a free one
  //    for warm-up and promotion into free rows) becomes a spare.
  BackgroundLock lock(this);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const SwapPair& p = pairs[i];
    const Read& r = reads[i];
    const Slot in = index_.Resolve(p.in_key);
    const bool in_valid = in != kNoSlot && !dram_.resident(in) &&
                          loc_[in].segment == r.loc.segment && loc_[in].offset == r.loc.offset;
    Slot victim = kNoSlot;
    if (p.victim != kNoSlot) {
      victim = index_.Resolve(p.victim_key);
      if (victim != kNoSlot && ResidenceOf(victim) != Residence::kClean) {
        victim = kNoSlot;
      }
    }
    bool room = false;
    uint64_t in_bytes = 0;
    if (in_valid) {
      in_bytes = ItemBytesOf(in);
      if (victim != kNoSlot) {
        room = dram_.resident_bytes() - ItemBytesOf(victim) + in_bytes <= dram_budget_;
      } else {
        room = p.victim == kNoSlot && dram_.FitsFree(in_bytes, dram_budget_);
      }
    }
    if (!good[i] || !in_valid || !room) {
      if (has_bytes) store_.ReleaseBytes(r.frame);
      dram_.ReturnSpare(r.frame);
      // Back to the candidates (a bad read shows at Sample; compaction may have moved it).
      if (in != kNoSlot && ResidenceOf(in) == Residence::kMoving) {
        Transit(in, Residence::kMoving, Residence::kCold);
      }
      continue;
    }
    if (victim != kNoSlot) Demote(victim);  // its row is now the last free one
    dram_.InstallSpare(in, r.frame, in_bytes);
    Transit(in, Residence::kMoving, Residence::kClean);
    if (resident_sampling_) sampler_->Insert(ItemFor(sampler_score_, in));
    tier_counters_.swap_bytes += r.length;
    if (is_swap) {
      ++tier_counters_.swaps;
    } else {
      ++tier_counters_.promotions;
    }
  }
}

}  // namespace strata::internal
