// TableImpl: the SSD tier's DRAM side — frames, demotion, live resizing — and cold reads,
// tier info and invariants (docs/design.md, "SSD tier"). Opening and recovery are in
// table_open.cc, the writer thread in table_writer.cc.
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/batch_filler.h"
#include "core/batch_writer.h"
#include "core/table_impl.h"
#include "strata/status.h"

namespace strata::internal {

// --- Records and frames ----------------------------------------------------------------------

void TableImpl::AppendRecord(Slot slot, AlignedBytes* out) const {
  const uint32_t frame = dram_.frame_of(slot);
  absl::InlinedVector<std::string_view, 4> bytes;
  for (size_t f : store_.variable_fields()) bytes.push_back(store_.GetBytes(f, frame));
  EncodeRecord(record_layout_, store_.row_ptr(frame), bytes, out);
}

bool TableImpl::FrameAvailable(uint64_t bytes) const {
  // Dirty items (not yet written) cannot give up their frames; clean ones can be demoted.
  return (dram_.free_frames() > 0 || placement_->droppable() > 0) &&
         dram_.dirty_bytes() + bytes <= dram_budget_;
}

absl::Status TableImpl::AwaitRoom(uint64_t bytes, absl::Time deadline) {
  auto ready = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return closed_ || !writes_.error().ok() ||
           (writes_.size() < options_.write_queue_items && FrameAvailable(bytes));
  };
  if (!ready()) {
    WakeWriter();
    if (!mu_.AwaitInterruptibly(ready, deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("table '", options_.name, "': timed out waiting for the storage writer (",
                       writes_.size(), " writes queued; DRAM frames full of unwritten items)"));
    }
  }
  if (closed_) {
    return absl::CancelledError(absl::StrCat("table '", options_.name, "' was closed"));
  }
  if (!writes_.error().ok()) {
    return absl::Status(writes_.error().code(),
                        absl::StrCat("table '", options_.name,
                                     "': storage writes are failing, inserts are refused until one "
                                     "succeeds: ",
                                     writes_.error().message()));
  }
  return absl::OkStatus();
}

uint32_t TableImpl::TakeFrame(Slot slot, uint64_t bytes) {
  while (!dram_.FitsFree(bytes, dram_budget_)) Demote(placement_->NextDemotion(rng_));
  return dram_.Assign(slot, bytes);
}

void TableImpl::Transit(Slot slot, Residence from, Residence to) {
  const PlacementItem item = ItemFor(placement_->score_column(), slot);
  if (from != Residence::kNone) placement_->Leave(item, from);
  if (from == Residence::kCold) in_cold_[slot] = 0;
  if (to != Residence::kNone) placement_->Enter(item, to);
  if (to == Residence::kCold) in_cold_[slot] = 1;
}

void TableImpl::Demote(Slot slot) {
  if (resident_sampling_) sampler_->Remove(slot);
  ReleaseFrameOf(slot, /*clean=*/true);
  Transit(slot, Residence::kClean, Residence::kCold);
  ++tier_counters_.demotions;
}

void TableImpl::ReleaseFrameOf(Slot slot, bool clean) {
  const uint32_t frame = dram_.Release(slot, ItemBytesOf(slot), clean);
  if (!store_.variable_fields().empty()) store_.ReleaseBytes(frame);
}

void TableImpl::ReleaseFrame(Slot slot) {
  const Location loc = loc_[slot];
  const bool stored = loc.segment != kUnwritten;
  Transit(slot, ResidenceOf(slot), Residence::kNone);
  if (stored) {
    const uint32_t len = RecordLength(slot);
    live_bytes_[loc.segment] -= FileSpan(len);
    --stored_items_;
    stored_bytes_ -= len;
    Enqueue(KeyOf(slot), /*tombstone=*/true);
  }
  if (dram_.resident(slot)) ReleaseFrameOf(slot, /*clean=*/stored);
  loc_[slot] = Location{};
}

absl::Status TableImpl::Resize(uint64_t max_items, uint64_t dram_budget) {
  const std::string& name = options_.name;
  if (max_items < 1 || max_items > capacity_) {
    return absl::InvalidArgumentError(absl::StrCat("table '", name, "': max_items must be in [1, ",
                                                   capacity_,
                                                   "] (the capacity it was created "
                                                   "with), got ",
                                                   max_items));
  }
  if (dram_budget != 0) {
    if (!tiered_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "table '", name, "': dram_budget_bytes applies to tables with storage_dir only"));
    }
    const uint64_t min_budget = std::max<uint64_t>(1, options_.schema.fixed_row_bytes());
    if (dram_budget < min_budget || dram_budget > max_dram_budget_) {
      return absl::InvalidArgumentError(
          absl::StrCat("table '", name, "': dram_budget_bytes must be in [", min_budget, ", ",
                       max_dram_budget_, "] (max_dram_budget_bytes), got ", dram_budget));
    }
  }
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckOpen());
  if (index_.size() > max_items && remover_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("table '", name, "' holds ", index_.size(),
                                                   " items, more than max_items ", max_items,
                                                   ", and has no remover to evict them"));
  }
  max_items_ = max_items;
  while (index_.size() > max_items_) RemoveSlot(remover_->Victim(rng_), Removal::kEvicted);
  if (dram_budget == 0) return absl::OkStatus();
  dram_budget_ = dram_budget;
  // Drop clean copies in placement order; unwritten ones keep their frames until written.
  for (;;) {
    while (dram_.resident_bytes() > dram_budget_ && placement_->droppable() > 0) {
      Demote(placement_->NextDemotion(rng_));
    }
    if (dram_.resident_bytes() <= dram_budget_) break;
    WakeWriter();
    mu_.AwaitWithDeadline(
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return closed_ || !writes_.error().ok() || placement_->droppable() > 0;
        },
        absl::InfiniteFuture());
    if (closed_) return absl::CancelledError(absl::StrCat("table '", name, "' was closed"));
    if (!writes_.error().ok()) {
      return absl::Status(writes_.error().code(),
                          absl::StrCat("table '", name,
                                       "': the new DRAM budget is set, but unwritten items still "
                                       "hold more than it while storage writes fail: ",
                                       writes_.error().message()));
    }
  }
  WakeMaintenance();  // a larger budget is refilled from storage in the background
  return absl::OkStatus();
}

// --- Reads -----------------------------------------------------------------------------------

void TableImpl::FillTiered(const Slot* slots, size_t n, ReadPlan* plan, uint8_t* const* dst,
                           SampleBatch* out) {
  const std::vector<Key>& keys = BatchWriter::keys(out);
  const size_t nf = options_.schema.num_fields();
  plan->dst.assign(dst, dst + nf);
  plan->staged = !store_.variable_fields().empty();
  plan->direct = !plan->staged && !record_layout_.compressed && store_.fixed_fields().size() == 1 &&
                 store_.stride() == store_.row_bytes(store_.fixed_fields()[0]);
  constexpr size_t kAlign = kDirectIoAlignment;
  auto round_up = [](size_t x) { return (x + kAlign - 1) / kAlign * kAlign; };
  plan->n = n;
  const std::vector<size_t>& variable = store_.variable_fields();
  if (plan->staged) {
    plan->resident.assign(n, 0);
    plan->staging_offsets.assign(n, 0);
    plan->record_lengths.assign(n, 0);
    plan->resident_bytes.assign(n * variable.size(), {0, 0});
  }
  std::shared_ptr<const Segment> pin;
  uint64_t hits = 0;
  for (size_t i = 0; i < n; ++i) {
    const Slot s = slots[i];
    const uint32_t frame = dram_.frame_of(s);
    if (frame != kNoFrame) {
      // A DRAM hit: copied as it is, never through the record format.
      ++hits;
      store_.CopyRowOut(frame, i, dst);
      if (plan->staged) {
        plan->resident[i] = 1;
        for (size_t v = 0; v < variable.size(); ++v) {
          const std::string_view value = store_.GetBytes(variable[v], frame);
          const size_t at = plan->staging.size();
          plan->staging.resize(at + value.size());
          if (!value.empty()) std::memcpy(plan->staging.data() + at, value.data(), value.size());
          plan->resident_bytes[i * variable.size() + v] = {at, value.size()};
        }
      }
      continue;
    }
    const Location loc = loc_[s];
    if (pin == nullptr || pin->id != loc.segment) pin = segments_->GetSegment(loc.segment);
    const uint32_t len = RecordLength(s);
    // O_DIRECT reads whole aligned blocks into aligned memory. The output array of a one-field
    // schema is page-aligned (Buffer), so a record of whole pages can still land in it.
    const bool direct_io = pin != nullptr && pin->data->direct_io();
    const uint32_t read_len = ReadLength(pin.get(), len);
    const bool into_output = plan->direct && (!direct_io || len % kAlign == 0);
    size_t staging_offset = 0;
    if (!into_output) {
      staging_offset = direct_io ? round_up(plan->staging.size()) : plan->staging.size();
      plan->staging.resize(staging_offset + read_len);
      if (plan->staged) {
        plan->staging_offsets[i] = staging_offset;
        plan->record_lengths[i] = len;
      }
    }
    plan->cold.push_back(ReadPlan::Cold{i, keys[i], loc, len, staging_offset, into_output, pin});
  }
  tier_counters_.dram_hits += hits;
  tier_counters_.dram_misses += n - hits;
}

absl::Status TableImpl::CompleteReads(ReadPlan* plan, SampleBatch* out) {
  const RowStore& rows = layout();  // the row layout only: immutable, no lock needed
  std::vector<ColdRead> reads(plan->cold.size());
  for (size_t k = 0; k < plan->cold.size(); ++k) {
    const ReadPlan::Cold& c = plan->cold[k];
    reads[k] =
        ColdRead{.segment = c.segment,
                 .offset = c.loc.offset,
                 .length = c.length,
                 .checksum = c.loc.checksum,
                 .dst = c.into_output ? reinterpret_cast<char*>(plan->dst[rows.fixed_fields()[0]]) +
                                            c.index * static_cast<size_t>(c.length)
                                      : plan->staging.data() + c.staging_offset};
  }
  ReadRecords(reader_.get(), absl::MakeSpan(reads));
  // Records that fail their checksum, or that the file ends before (truncated), are lost: each
  // is reported once and removed. Other read errors may pass: the items stay.
  std::vector<std::string> lost;
  std::vector<Key> lost_keys;
  absl::Status io_error;
  // Compressed schemas: each stored record is decompressed into this row image, then scattered.
  std::vector<uint8_t> row(record_layout_.compressed ? record_layout_.stride : 0);
  for (size_t k = 0; k < reads.size(); ++k) {
    const ReadPlan::Cold& c = plan->cold[k];
    const ColdRead& r = reads[k];
    if (r.result == ColdRead::Result::kFailed) {
      if (io_error.ok()) {
        io_error = absl::Status(r.status.code(),
                                absl::StrCat("reading key ", c.key, " from ", r.Describe()));
      }
      continue;
    }
    const bool decoded =
        r.result == ColdRead::Result::kOk &&
        (!record_layout_.compressed ||
         DecodeStored(record_layout_, std::string_view(r.dst, c.length), row.data()));
    if (!decoded) {
      lost_keys.push_back(c.key);
      lost.push_back(absl::StrCat("key ", c.key, " (", r.Describe(),
                                  r.result == ColdRead::Result::kOk ? " but does not decode" : "",
                                  ")"));
      continue;
    }
    if (record_layout_.compressed) {
      rows.ScatterRow(row.data(), c.index, plan->dst.data());
    } else if (!c.into_output && !plan->staged) {
      rows.ScatterRow(reinterpret_cast<const uint8_t*>(r.dst), c.index, plan->dst.data());
    }
  }
  if (!lost.empty()) {
    MutexLock lock(&mu_);
    for (Key key : lost_keys) {
      const Slot s = index_.Resolve(key);
      if (s != kNoSlot) {
        RemoveSlot(s, Removal::kDeleted);
        ++tier_counters_.corrupt_items;
      }
    }
    return absl::DataLossError(absl::StrCat("table '", options_.name, "': ", lost.size(),
                                            " stored items are lost and were removed from the "
                                            "table: ",
                                            absl::StrJoin(lost, "; ")));
  }
  RETURN_IF_ERROR(io_error);
  if (!plan->staged) return absl::OkStatus();
  // The bytes fields: resident items' values as copied, cold items' decoded from their records
  // (fixed fields from the row image, bytes fields after it). A record's lengths were checked by
  // its checksum at write time; DecodeRecord checks them again.
  const size_t n = plan->n;
  const size_t nvar = rows.variable_fields().size();
  std::vector<std::string_view> values(n * nvar);
  for (size_t i = 0; i < n; ++i) {
    if (plan->resident[i]) {
      for (size_t v = 0; v < nvar; ++v) {
        const auto [at, length] = plan->resident_bytes[i * nvar + v];
        values[i * nvar + v] = std::string_view(plan->staging.data() + at, length);
      }
      continue;
    }
    const std::string_view record(plan->staging.data() + plan->staging_offsets[i],
                                  plan->record_lengths[i]);
    const char* row = nullptr;
    if (!DecodeRecord(record_layout_, record, &row, absl::MakeSpan(&values[i * nvar], nvar))) {
      return absl::InternalError(absl::StrCat("table '", options_.name, "': the record of key ",
                                              BatchWriter::keys(out)[i],
                                              " passed its checksum but does not decode"));
    }
    rows.ScatterRow(reinterpret_cast<const uint8_t*>(row), i, plan->dst.data());
  }
  BatchFiller::WriteBytes(rows, n, values, out);
  return absl::OkStatus();
}

// --- Info and invariants -----------------------------------------------------------------------

void TableImpl::TierInfoLocked(TierInfo* t) const {
  *t = tier_counters_;
  t->enabled = true;
  t->dram_items = dram_.resident_items();
  t->dram_bytes = dram_.resident_bytes();
  t->stored_items = stored_items_;
  t->stored_bytes = stored_bytes_;
  t->pending_writes = writes_.size();
  t->segments = live_bytes_.size();
  const uint64_t lookups = t->dram_hits + t->dram_misses;
  t->dram_hit_rate = lookups == 0 ? 0 : static_cast<double>(t->dram_hits) / lookups;
  t->storage_error = writes_.error().ok() ? "" : std::string(writes_.error().message());
  if (segments_ != nullptr) {
    t->disk_bytes = segments_->disk_bytes();
    t->writes_issued = segments_->appends();
    t->bytes_written = segments_->bytes_written();
    t->syncs = segments_->syncs();
  }
  if (reader_ != nullptr) {
    const ReaderStats rs = reader_->stats();
    t->reader = rs.backend;
    t->reads_issued = rs.submitted;
    t->reads_completed = rs.completed;
    t->read_bytes = rs.bytes;
    t->reads_in_flight = rs.in_flight;
    t->max_reads_in_flight = rs.max_in_flight;
    t->read_p50_us = rs.latency_p50_us;
    t->read_p99_us = rs.latency_p99_us;
    t->read_latency_total_us = rs.latency_total_us;
  }
  t->swap_ratio = swap_ratio_;
  t->swap_interval = swap_interval_;
  t->dram_budget_bytes = dram_budget_;
  t->groups.clear();
  placement_->Describe(t);
}

absl::Status TableImpl::CheckTierInvariants() const {
  uint64_t resident = 0;
  uint64_t resident_bytes = 0;
  uint64_t clean_bytes = 0;
  uint64_t stored = 0;
  std::vector<Slot> clean_resident;
  absl::flat_hash_map<uint32_t, uint64_t> live_bytes;
  for (Slot s = 0; s < index_.high_water(); ++s) {
    const bool live = index_.live(s);
    const uint32_t frame = dram_.frame_of(s);
    if (!live) {
      if (frame != kNoFrame || loc_[s].segment != kUnwritten) {
        return absl::InternalError(absl::StrCat("free slot ", s, " holds a frame or a record"));
      }
      continue;
    }
    const uint64_t bytes = ItemBytesOf(s);
    const bool written = loc_[s].segment != kUnwritten;
    if (!written && frame == kNoFrame) {
      return absl::InternalError(absl::StrCat("slot ", s, " is neither in DRAM nor stored"));
    }
    if (written) {
      ++stored;
      live_bytes[loc_[s].segment] += FileSpan(RecordLength(s));
    }
    if (frame != kNoFrame) {
      if (frame >= dram_.rows() || dram_.slot_of(frame) != s) {
        return absl::InternalError(absl::StrCat("slot ", s, " and frame ", frame, " disagree"));
      }
      ++resident;
      resident_bytes += bytes;
      if (written) {
        clean_bytes += bytes;
        clean_resident.push_back(s);
      }
    }
  }
  if (resident != dram_.resident_items() || resident_bytes != dram_.resident_bytes() ||
      clean_bytes != dram_.clean_bytes()) {
    return absl::InternalError(absl::StrCat("residency counts ", dram_.resident_items(),
                                            " items / ", dram_.resident_bytes(), " bytes (",
                                            dram_.clean_bytes(), " clean); found ", resident, " / ",
                                            resident_bytes, " (", clean_bytes, ")"));
  }
  if (dram_.resident_bytes() > dram_budget_) {
    return absl::InternalError(absl::StrCat("DRAM holds ", dram_.resident_bytes(),
                                            " bytes, over the budget of ", dram_budget_));
  }
  RETURN_IF_ERROR(dram_.CheckInvariants());
  if (stored != stored_items_) {
    return absl::InternalError(absl::StrCat(stored, " stored items, counted ", stored_items_));
  }
  for (const auto& [seg, bytes] : live_bytes) {
    auto it = live_bytes_.find(seg);
    if (it == live_bytes_.end() || it->second != bytes) {
      return absl::InternalError(absl::StrCat("segment ", seg, " holds ", bytes,
                                              " live bytes, counted ",
                                              it == live_bytes_.end() ? 0 : it->second));
    }
  }
  absl::flat_hash_map<int32_t, uint64_t> items_per_group;
  for (Slot s = 0; s < index_.high_water(); ++s) {
    if (index_.live(s)) ++items_per_group[index_.meta(s).group];
  }
  return placement_->CheckInvariants(clean_resident, items_per_group);
}

}  // namespace strata::internal
