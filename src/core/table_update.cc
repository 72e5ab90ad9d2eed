// TableImpl: changes by key — Delete, DeleteTask, UpdatePriorities, UpdateScores. A stale key is
// never applied to the item that reused its slot (generation stamps, ForEachLive).
#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/table_impl.h"
#include "strata/status.h"

namespace strata::internal {

absl::StatusOr<size_t> TableImpl::Delete(absl::Span<const Key> keys, std::vector<size_t>* missing) {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckOpen());
  // Each key is resolved when reached, so a key repeated later in `keys` is already stale then
  // and is reported missing rather than removed twice.
  size_t removed = 0;
  ForEachLive(keys, missing, [&](size_t, Slot slot) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    RemoveSlot(slot, Removal::kDeleted);
    ++removed;
  });
  return removed;
}

absl::StatusOr<size_t> TableImpl::DeleteTask(int32_t task) {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckOpen());
  size_t removed = 0;
  for (Slot s = 0; s < index_.high_water(); ++s) {
    if (index_.live(s) && index_.meta(s).task == task) {
      RemoveSlot(s, Removal::kDeleted);
      ++removed;
    }
  }
  if (tiered_ && removed > 0) WakeWriter();  // the tombstones
  return removed;
}

absl::StatusOr<size_t> TableImpl::UpdatePriorities(absl::Span<const Key> keys,
                                                   absl::Span<const double> priorities,
                                                   std::vector<size_t>* missing) {
  if (keys.size() != priorities.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("got ", keys.size(), " keys but ", priorities.size(), " priorities"));
  }
  for (size_t i = 0; i < priorities.size(); ++i) {
    const double p = priorities[i];
    if (!(p >= 0) || std::isinf(p)) {
      return absl::InvalidArgumentError(
          absl::StrCat("priorities[", i, "] is ", p, "; priorities must be finite and >= 0"));
    }
  }
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckOpen());
  // A repeated key yields several items for one slot; UpdateBatch applies the last, which
  // carries the last priority.
  scratch_items_.resize(keys.size());
  size_t applied = 0;
  double max_priority = max_priority_;
  ForEachLive(keys, missing, [&](size_t i, Slot slot) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    index_.SetPriority(slot, priorities[i]);
    max_priority = std::max(max_priority, priorities[i]);
    scratch_items_[applied++] = ItemFor(sampler_score_, slot);
  });
  scratch_items_.resize(applied);
  max_priority_ = max_priority;
  if (tiered_ && placement_->orders_by_priority()) {
    for (const SelectorItem& item : scratch_items_) TellPlacement(item.slot);
    WakeMaintenance();
  }
  if (remover_ != nullptr && remover_->needs_updates()) {
    if (remover_score_ == sampler_score_) {
      remover_->UpdateBatch(scratch_items_);
    } else {
      std::vector<SelectorItem> items = scratch_items_;
      for (SelectorItem& item : items) {
        item.score = remover_score_ >= 0 ? index_.score(remover_score_, item.slot) : 0.0;
      }
      remover_->UpdateBatch(items);
    }
  }
  if (resident_sampling_) {
    // Only items with a DRAM copy are in the sampler.
    scratch_items_.erase(
        std::remove_if(scratch_items_.begin(), scratch_items_.end(),
                       [this](const SelectorItem& item)
                           ABSL_NO_THREAD_SAFETY_ANALYSIS { return !InSampler(item.slot); }),
        scratch_items_.end());
  }
  if (sampler_->needs_updates()) sampler_->UpdateBatch(scratch_items_);
  counters_.priority_updates += applied;
  return applied;
}

absl::StatusOr<size_t> TableImpl::UpdateScores(absl::Span<const Table::ScoreUpdate> columns,
                                               absl::Span<const Key> keys,
                                               std::vector<size_t>* missing) {
  const Schema& schema = options_.schema;
  if (columns.empty()) {
    return absl::InvalidArgumentError("no score columns given: name at least one to update");
  }
  absl::InlinedVector<int, 4> index(columns.size());
  for (size_t k = 0; k < columns.size(); ++k) {
    const std::string name(columns[k].column);
    index[k] = schema.ScoreIndex(name);
    if (index[k] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown score column '", name, "'; the schema has ",
          schema.score_columns().empty() ? "none" : absl::StrJoin(schema.score_columns(), ", ")));
    }
    for (size_t j = 0; j < k; ++j) {
      if (index[j] == index[k]) {
        return absl::InvalidArgumentError(absl::StrCat("score column '", name, "' is given twice"));
      }
    }
    const absl::Span<const float> values = columns[k].values;
    if (values.size() != keys.size()) {
      return absl::InvalidArgumentError(absl::StrCat("got ", keys.size(), " keys but ",
                                                     values.size(), " values for score column '",
                                                     name, "'"));
    }
    for (size_t i = 0; i < values.size(); ++i) {
      if (std::isnan(values[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("score column '", name, "'[", i, "] is NaN"));
      }
    }
  }
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckOpen());
  scratch_slots_.clear();
  ForEachLive(keys, missing, [&](size_t i, Slot slot) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (size_t k = 0; k < columns.size(); ++k)
      index_.SetScore(index[k], slot, columns[k].values[i]);
    scratch_slots_.push_back(slot);
  });
  auto updated = [&](int c) { return std::find(index.begin(), index.end(), c) != index.end(); };
  if (sampler_score_ >= 0 && updated(sampler_score_)) {
    scratch_items_.clear();
    for (Slot s : scratch_slots_) {
      if (InSampler(s)) scratch_items_.push_back(ItemFor(sampler_score_, s));
    }
    sampler_->UpdateBatch(scratch_items_);
  }
  if (remover_ != nullptr && remover_score_ >= 0 && updated(remover_score_)) {
    scratch_items_.clear();
    for (Slot s : scratch_slots_) scratch_items_.push_back(ItemFor(remover_score_, s));
    remover_->UpdateBatch(scratch_items_);
  }
  if (tiered_ && placement_->score_column() >= 0 && updated(placement_->score_column())) {
    for (Slot s : scratch_slots_) TellPlacement(s);
    if (!resident_sampling_) WakeMaintenance();  // promotions (a swapper is woken by batches)
  }
  counters_.score_updates += scratch_slots_.size() * columns.size();
  return scratch_slots_.size();
}

}  // namespace strata::internal
