// TableImpl: creation, insert, removal, close, info and invariants. The batch binder (the one
// validation of an ItemBatch) is in table_bind.cc, deletes and updates by key in
// table_update.cc, sampling, Get and Scan in table_sample.cc.
#include "core/table_impl.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "select/reservoir.h"
#include "strata/option_names.h"
#include "strata/status.h"

namespace strata::internal {
namespace {

constexpr uint64_t kMaxItems = uint64_t{0xFFFFFFFF} - 2;  // kNoSlot and the spare slot

absl::Time DeadlineFor(absl::Duration timeout) {
  return timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
}

}  // namespace

TableImpl::TableImpl(TableOptions options)
    : options_(std::move(options)),
      capacity_(options_.max_items),
      max_dram_budget_(std::max(options_.dram_budget_bytes, options_.max_dram_budget_bytes)),
      max_items_(options_.max_items),
      dram_budget_(options_.dram_budget_bytes),
      swap_ratio_(options_.swap_ratio),
      swap_interval_(options_.swap_interval),
      rng_(options_.seed),
      tiered_(!options_.storage_dir.empty()),
      record_align_(options_.direct_io ? kDirectIoAlignment : 1),
      resident_sampling_(tiered_ && options_.tier_sampling == TierSampling::kResident) {}

TableImpl::~TableImpl() {
  Close();
  StopMaintenance();
  StopWriter();
}

absl::StatusOr<std::unique_ptr<TableImpl>> TableImpl::Create(TableOptions options) {
  if (options.schema.num_fields() == 0) {
    return absl::InvalidArgumentError("options.schema has no fields; build it with Schema::Create");
  }
  if (options.max_items < 1 || options.max_items > kMaxItems) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.max_items must be in [1, ", kMaxItems, "], got ", options.max_items));
  }
  if (options.insertion == InsertionPolicy::kReservoir && !options.remover.has_value()) {
    return absl::InvalidArgumentError(
        "options.insertion = kReservoir needs a remover to choose the item an arrival replaces "
        "(Uniform() for Vitter's algorithm R)");
  }
  RETURN_IF_ERROR(RateLimiter::Validate(options.rate_limiter));
  if (!options.storage_dir.empty()) {
    if (options.dram_budget_bytes == 0) {
      return absl::InvalidArgumentError(
          "options.dram_budget_bytes must be > 0 for a table with storage_dir");
    }
    if (!(options.compaction_live_ratio >= 0 && options.compaction_live_ratio <= 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.compaction_live_ratio must be in [0, 1], got ", options.compaction_live_ratio));
    }
    if (!(options.swap_ratio >= 0 && options.swap_ratio <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.swap_ratio must be in [0, 1], got ", options.swap_ratio));
    }
    if (options.swap_interval == 0) {
      return absl::InvalidArgumentError("options.swap_interval must be >= 1 (batches)");
    }
    if (options.swap_policy == SwapPolicy::kScore &&
        options.schema.ScoreIndex(options.swap_score_column) < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.swap_policy = kScore needs swap_score_column to name a score column of the "
          "schema; got '",
          options.swap_score_column, "'"));
    }
    if (options.write_queue_items == 0) {
      return absl::InvalidArgumentError("options.write_queue_items must be >= 1");
    }
    if (options.max_dram_budget_bytes != 0 &&
        options.max_dram_budget_bytes < options.dram_budget_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.max_dram_budget_bytes (", options.max_dram_budget_bytes,
                       ") is below dram_budget_bytes (", options.dram_budget_bytes, ")"));
    }
    if ((options.placement == Placement::kPriority || options.placement == Placement::kScore) &&
        options.tier_sampling == TierSampling::kResident) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.placement = ", std::string(NameOf(options.placement)),
                       " needs tier_sampling = exact (resident tables keep what swaps bring in)"));
    }
    if (options.placement == Placement::kScore &&
        options.schema.ScoreIndex(options.placement_score_column) < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.placement = score needs placement_score_column to name a score column of the "
          "schema; got '",
          options.placement_score_column, "'"));
    }
    if (options.dram_budget_bytes < options.schema.fixed_row_bytes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.dram_budget_bytes (", options.dram_budget_bytes, ") holds not even one item of ",
          options.schema.fixed_row_bytes(), " bytes"));
    }
  }

  std::unique_ptr<TableImpl> t(new TableImpl(std::move(options)));
  RETURN_IF_ERROR(t->Build());
  if (t->tiered_) RETURN_IF_ERROR(t->OpenStorage());
  return t;
}

absl::Status TableImpl::Build() {
  TableImpl* t = this;
  const TableOptions& o = t->options_;
  const Schema& schema = o.schema;
  // One spare slot: an arriving item is inserted first and the remover then evicts, so that it
  // sees the arrival (a class-balanced remover must count the incoming item's class).
  const size_t cap = t->capacity_ + 1;
  MutexLock lock(&t->mu_);

  auto sampler = MakeSelector(o.sampler, cap, schema.score_columns());
  if (!sampler.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.sampler: ", sampler.status().message()));
  }
  t->sampler_ = std::move(sampler).value();
  if (o.remover.has_value()) {
    auto remover = MakeSelector(*o.remover, cap, schema.score_columns());
    if (!remover.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.remover: ", remover.status().message()));
    }
    t->remover_ = std::move(remover).value();
  }
  auto score_of = [&](const SelectorOptions& s) {
    return s.kind == SelectorKind::kGroupBalanced && s.victim_order == VictimOrder::kLowestScore
               ? o.schema.ScoreIndex(s.score_column)
               : -1;
  };
  t->sampler_score_ = score_of(o.sampler);
  t->remover_score_ = o.remover.has_value() ? score_of(*o.remover) : -1;

  size_t rows = cap;
  if (t->tiered_) {
    // DRAM frames: as many rows as the budget holds. With bytes fields a row is counted as at
    // least 256 bytes, so that per-frame bookkeeping stays small against the budget.
    const uint64_t per_frame =
        std::max<uint64_t>(o.schema.fixed_row_bytes(), o.schema.has_variable_fields() ? 256 : 1);
    t->frames_ = std::max<uint64_t>(1, std::min<uint64_t>(cap, t->max_dram_budget_ / per_frame));
    // Spare rows receive swap-ins and promotions while their reads are in flight, so that
    // switching an item in is O(1) under the lock (about 1/8 of the budget, 8..256 rows).
    if (o.tier_sampling == TierSampling::kResident || o.placement == Placement::kPriority ||
        o.placement == Placement::kGroupBalanced || o.placement == Placement::kScore) {
      t->spare_rows_ = std::clamp<uint64_t>(t->frames_ / 8, 8, 256);
    }
    rows = t->frames_ + t->spare_rows_;
  }
  ASSIGN_OR_RETURN(t->store_, RowStore::Create(o.schema, rows));
  std::vector<size_t> offsets(o.schema.num_fields(), 0);
  for (size_t f : t->store_.fixed_fields()) offsets[f] = t->store_.field_offset(f);
  t->record_layout_ = RecordLayout::For(o.schema, t->store_.stride(), offsets);
  ASSIGN_OR_RETURN(t->index_,
                   SlotIndex::Create(cap, o.schema.score_columns().size(),
                                     o.schema.has_variable_fields(), o.schema.fixed_row_bytes()));
  t->limiter_ =
      std::make_unique<RateLimiter>(o.rate_limiter, &t->mu_, t->index_.live_count(), &t->closed_);
  return absl::OkStatus();
}

absl::Status TableImpl::CheckOpen() const {
  if (closed_) {
    return absl::FailedPreconditionError(absl::StrCat("table '", options_.name, "' is closed"));
  }
  return absl::OkStatus();
}

SelectorItem TableImpl::ItemFor(int score_column, Slot slot) const {
  const SlotIndex::Meta& m = index_.meta(slot);
  return SelectorItem{.slot = slot,
                      .priority = m.priority,
                      .group = m.group,
                      .seq = m.seq,
                      .score = score_column >= 0 ? index_.score(score_column, slot) : 0.0,
                      .scores = index_.scores(slot)};
}

absl::Status TableImpl::Insert(const ItemBatch& batch, std::vector<Key>* keys,
                               absl::Duration timeout) {
  if (keys == nullptr) return absl::InvalidArgumentError("keys must not be null");
  BoundBatch b;
  RETURN_IF_ERROR(Bind(batch, &b));
  const absl::Time deadline = DeadlineFor(timeout);
  if (tiered_) YieldToBackground();
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckOpen());
  if (tiered_ && options_.schema.has_variable_fields()) {
    for (size_t i = 0; i < b.n; ++i) {  // the live budget (Resize) may be below the maximum
      if (ItemBytes(b, i) > dram_budget_) {
        return absl::InvalidArgumentError(
            absl::StrCat("item ", i, " holds ", ItemBytes(b, i),
                         " bytes, more than the table's dram_budget_bytes ", dram_budget_));
      }
    }
  }
  if (remover_ == nullptr) {
    if (index_.size() + b.n > max_items_ ||
        (options_.max_bytes != 0 && index_.bytes() + b.total_bytes > options_.max_bytes)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "table '", options_.name, "' cannot take ", b.n, " more items (", index_.size(), " of ",
          max_items_, " items, ", index_.bytes(), " bytes held) and has no remover"));
    }
  }
  keys->reserve(keys->size() + b.n);
  size_t done = 0;
  auto partial = [&](const absl::Status& s) {
    if (done == 0) return s;
    return absl::Status(s.code(), absl::StrCat(s.message(), " (", done, " of ", b.n,
                                               " items were inserted before)"));
  };
  while (done < b.n) {
    // With storage, an item needs a DRAM frame and room in the write queue first.
    if (tiered_) {
      const absl::Status room = AwaitRoom(ItemBytes(b, done), deadline);
      if (!room.ok()) return partial(room);
    }
    limiter_->mu()->AssertHeld();
    absl::StatusOr<size_t> admitted = limiter_->AcquireInserts(b.n - done, deadline);
    if (!admitted.ok()) return partial(admitted.status());
    for (size_t k = 0; k < *admitted; ++k) {
      if (tiered_ && !(writes_.error().ok() && writes_.size() < options_.write_queue_items &&
                       FrameAvailable(ItemBytes(b, done)))) {
        limiter_->ReleaseInserts(*admitted - k);  // wait for room, then admit the rest again
        break;
      }
      keys->push_back(InsertOne(b, done++));
    }
  }
  if (tiered_ && options_.durability != Durability::kNone) {
    WakeWriter();
    return partial(AwaitDurable(writes_.last_ticket(), deadline));
  }
  if (tiered_) WakeWriter();
  return absl::OkStatus();
}

bool TableImpl::Overfull(uint64_t more, size_t more_items) const {
  const uint64_t max_bytes = options_.max_bytes;
  return index_.size() + more_items > max_items_ ||
         (max_bytes != 0 && index_.bytes() + more > max_bytes);
}

Key TableImpl::InsertOne(const BoundBatch& b, size_t i) {
  ++arrivals_;
  const uint64_t item_bytes = ItemBytes(b, i);
  if (options_.insertion == InsertionPolicy::kReservoir && Overfull(item_bytes, 1) &&
      !ReservoirPolicy::Admit(arrivals_, max_items_, rng_)) {
    ++counters_.dropped;
    return kNoKey;
  }
  if (options_.insertion == InsertionPolicy::kReservoir) {
    // Algorithm R replaces one of the items already held, never the arrival: evict first.
    while (Overfull(item_bytes, 1)) RemoveSlot(remover_->Victim(rng_), Removal::kEvicted);
  }

  double priority = max_priority_;
  if (!b.priorities.empty()) {
    priority = b.priorities[i];
    if (priority > max_priority_) max_priority_ = priority;
  }
  const Slot slot = index_.Add(SlotIndex::NewItem{.priority = priority,
                                                  .group = b.groups.empty() ? 0 : b.groups[i],
                                                  .task = b.tasks.empty() ? 0 : b.tasks[i],
                                                  .seq = next_seq_++,
                                                  .bytes = item_bytes});
  // The payload's DRAM row: the slot itself, or with storage a frame.
  const uint32_t row = tiered_ ? TakeFrame(slot, item_bytes) : slot;
  const Schema& schema = options_.schema;
  for (size_t f = 0; f < schema.num_fields(); ++f) {
    if (schema.field(f).variable) {
      const std::string_view v = ItemBytesField(b, f, i);
      store_.SetBytes(f, row, v.data(), v.size());
    } else {
      const size_t row_bytes = store_.row_bytes(f);
      std::memcpy(store_.field_ptr(f, row), b.fields[f].data + i * row_bytes, row_bytes);
    }
  }
  for (size_t c = 0; c < index_.num_scores(); ++c) {
    if (b.scores[c] != nullptr) index_.SetScore(c, slot, b.scores[c][i]);
  }
  const Key key = index_.KeyOf(slot);
  ++counters_.inserted;
  if (tiered_) {
    loc_[slot] = Location{};  // unwritten until the writer thread stores it
    Transit(slot, Residence::kNone, Residence::kDirty);
    Enqueue(key, /*tombstone=*/false);
  }
  sampler_->Insert(ItemFor(sampler_score_, slot));
  if (remover_ != nullptr) remover_->Insert(ItemFor(remover_score_, slot));
  // Make room after inserting, so the remover sees the arrival. It may pick the arrival itself
  // (e.g. a MinHeap remover when the new item has the lowest priority): its key is then stale.
  while (Overfull(0, 0)) RemoveSlot(remover_->Victim(rng_), Removal::kEvicted);
  return key;
}

void TableImpl::RemoveSlot(Slot slot, Removal why) {
  if (InSampler(slot)) sampler_->Remove(slot);
  if (remover_ != nullptr) remover_->Remove(slot);
  if (tiered_) {
    ReleaseFrame(slot);  // before the generation moves: a stored record gets a tombstone
  } else if (options_.schema.has_variable_fields()) {
    store_.ReleaseBytes(slot);
  }
  index_.Remove(slot);
  switch (why) {
    case Removal::kEvicted:
      ++counters_.evicted;
      break;
    case Removal::kExpired:
      ++counters_.expired;
      break;
    case Removal::kDeleted:
      ++counters_.deleted;
      break;
  }
}

absl::Status TableImpl::SetRateLimiter(const RateLimiterOptions& options) {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckOpen());
  limiter_->mu()->AssertHeld();
  return limiter_->Reconfigure(options);
}

void TableImpl::Close() {
  {
    MutexLock lock(&mu_);
    // Waiters' conditions read closed_; absl re-evaluates them when the lock is released.
    closed_ = true;
  }
  if (tiered_) {
    MutexLock w(&writer_mu_);
    if (checkpointed_at_close_) return;
    checkpointed_at_close_ = true;
  }
  // Close has no way to report an error; Checkpoint (called first) does. Then the directory is
  // free for another table (no writes happen after Close).
  if (tiered_) {
    StopMaintenance();
    Checkpoint().IgnoreError();
    StopWriter();
    if (segments_ != nullptr) segments_->ReleaseLock();
  }
}

size_t TableImpl::size() const {
  MutexLock lock(&mu_);
  return index_.size();
}

TableInfo TableImpl::info() const {
  MutexLock lock(&mu_);
  TableInfo info = counters_;
  info.name = options_.name;
  info.schema = options_.schema.DebugString();
  info.sampler = std::string(sampler_->name());
  info.remover = remover_ != nullptr ? std::string(remover_->name()) : "none";
  info.size = index_.size();
  info.bytes = index_.bytes();
  info.max_items = max_items_;
  info.max_bytes = options_.max_bytes;
  info.closed = closed_;
  limiter_->mu()->AssertHeld();
  info.rate_limiter = limiter_->info();
  if (tiered_) TierInfoLocked(&info.tier);
  return info;
}

absl::Status TableImpl::CheckInvariants() const {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(index_.CheckInvariants());
  std::vector<Slot> live;
  for (Slot s = 0; s < index_.high_water(); ++s) {
    if (index_.live(s)) live.push_back(s);
  }
  std::vector<Slot> in_sampler;
  for (Slot s : live) {
    if (InSampler(s)) in_sampler.push_back(s);
  }
  if (sampler_->size() != in_sampler.size()) {
    return absl::InternalError(
        absl::StrCat("sampler holds ", sampler_->size(), " items, expected ", in_sampler.size()));
  }
  RETURN_IF_ERROR(sampler_->CheckInvariants(in_sampler));
  if (remover_ != nullptr) {
    if (remover_->size() != index_.size()) {
      return absl::InternalError(
          absl::StrCat("remover holds ", remover_->size(), " items, table ", index_.size()));
    }
    RETURN_IF_ERROR(remover_->CheckInvariants(live));
  }
  if (tiered_) RETURN_IF_ERROR(CheckTierInvariants());
  return absl::OkStatus();
}

}  // namespace strata::internal
