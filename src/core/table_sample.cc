// TableImpl: the read path (Sample, Get) and the copy of items into a SampleBatch.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/batch_filler.h"
#include "core/batch_writer.h"
#include "core/table_impl.h"
#include "strata/status.h"

namespace strata::internal {
namespace {

// The largest batch any table samples is the larger of its capacity and this.
constexpr size_t kMinSampleLimit = size_t{1} << 20;

}  // namespace

absl::Status TableImpl::Sample(const SampleOptions& options, SampleBatch* out) {
  if (out == nullptr) return absl::InvalidArgumentError("out must not be null");
  const size_t n = options.batch_size;
  if (n == 0) return absl::InvalidArgumentError("batch_size must be >= 1, got 0");
  // Checked before anything is sized by n, waited for or locked.
  const size_t limit = std::max<size_t>(capacity_, kMinSampleLimit);
  if (n > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size must be <= ", limit, " for table '", options_.name,
                     "' (the larger of its max_items and 2^20), got ", n));
  }
  if (!std::isfinite(options.beta)) {
    return absl::InvalidArgumentError(
        absl::StrCat("beta must be finite (negative: the sampler's own), got ", options.beta));
  }
  const absl::Time deadline = options.timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + options.timeout;
  ReadPlan plan;  // cold items, read after the lock is released
  if (tiered_) YieldToBackground();
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckOpen());
    limiter_->mu()->AssertHeld();
    RETURN_IF_ERROR(limiter_->AcquireSamples(n, deadline));
    if (resident_sampling_) {
      // Only items with a DRAM copy can be drawn; right after an open they are still loading.
      const size_t need =
          !options.replacement || sampler_->ordered() ? std::min(n, index_.size()) : 1;
      auto ready = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return closed_ || index_.size() == 0 || sampler_->size() >= need;
      };
      if (!mu_.AwaitInterruptibly(ready, deadline)) {
        limiter_->ReleaseSamples(n);
        return absl::DeadlineExceededError(
            absl::StrCat("table '", options_.name, "': ", sampler_->size(),
                         " items in DRAM to sample from, ", need, " needed"));
      }
      if (closed_) {
        limiter_->ReleaseSamples(n);
        return absl::CancelledError(absl::StrCat("table '", options_.name, "' was closed"));
      }
    }
    if (index_.size() == 0) {
      limiter_->ReleaseSamples(n);
      return absl::FailedPreconditionError(absl::StrCat("table '", options_.name, "' is empty"));
    }
    if ((!options.replacement || sampler_->ordered()) && n > sampler_->size()) {
      limiter_->ReleaseSamples(n);
      return absl::InvalidArgumentError(
          absl::StrCat("cannot sample ", n, " distinct items from table '", options_.name, "' of ",
                       index_.size(),
                       sampler_->ordered() ? " items (its sampler returns distinct items)"
                                           : " items without replacement"));
    }
    std::vector<double>& probabilities = BatchWriter::probabilities(out);
    std::vector<double>& weights = BatchWriter::weights(out);
    probabilities.resize(n);
    weights.resize(n);
    scratch_slots_.resize(n);
    sampler_->Sample(rng_, n, options.replacement, scratch_slots_.data(), probabilities.data());
    sampler_->Weights(probabilities, options.beta < 0 ? Selector::kConfiguredBeta : options.beta,
                      weights.data());
    Fill(scratch_slots_.data(), n, /*count_sample=*/true, out, &plan);
    counters_.sampled += n;
    if (resident_sampling_) MaybeQueueSwap(scratch_slots_.data(), n);
    if (options_.max_times_sampled != 0) {
      for (size_t i = 0; i < n; ++i) {
        const Slot s = scratch_slots_[i];
        // A slot repeated in the batch is removed once; gen_ turns even on removal.
        if (index_.live(s) && index_.meta(s).sampled >= options_.max_times_sampled) {
          RemoveSlot(s, Removal::kExpired);
        }
      }
    }
  }
  if (tiered_) return CompleteReads(&plan, out);
  return absl::OkStatus();
}

absl::StatusOr<size_t> TableImpl::Get(absl::Span<const Key> keys, SampleBatch* out,
                                      std::vector<size_t>* missing) {
  if (out == nullptr) return absl::InvalidArgumentError("out must not be null");
  ReadPlan plan;
  size_t n;
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckOpen());
    scratch_slots_.clear();
    ForEachLive(keys, missing, [this](size_t, Slot slot) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      scratch_slots_.push_back(slot);
    });
    n = scratch_slots_.size();
    Fill(scratch_slots_.data(), n, /*count_sample=*/false, out, &plan);
  }
  BatchWriter::probabilities(out).clear();
  BatchWriter::weights(out).clear();
  if (tiered_) RETURN_IF_ERROR(CompleteReads(&plan, out));
  return n;
}

absl::StatusOr<size_t> TableImpl::Scan(Table::ScanCursor* cursor, size_t max_items,
                                       SampleBatch* out) {
  if (out == nullptr || cursor == nullptr) {
    return absl::InvalidArgumentError("cursor and out must not be null");
  }
  if (max_items == 0 || max_items > kMinSampleLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_items must be in [1, ", kMinSampleLimit, "], got ", max_items));
  }
  ReadPlan plan;
  size_t n;
  const uint64_t start = cursor->next_slot;
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckOpen());
    // One bounded chunk under the lock: at most max_items items, and at most 16x as many slots
    // looked at (a sparse table returns fewer items per call).
    scratch_slots_.clear();
    const uint64_t high_water = index_.high_water();
    uint64_t s = std::min<uint64_t>(start, high_water);
    const uint64_t end = std::min<uint64_t>(high_water, s + 16 * static_cast<uint64_t>(max_items));
    for (; s < end && scratch_slots_.size() < max_items; ++s) {
      if (index_.live(static_cast<Slot>(s))) scratch_slots_.push_back(static_cast<Slot>(s));
    }
    cursor->next_slot = s;
    cursor->done = s >= high_water;
    n = scratch_slots_.size();
    Fill(scratch_slots_.data(), n, /*count_sample=*/false, out, &plan);
    BatchFiller::Scores(index_, absl::MakeConstSpan(scratch_slots_.data(), n), out);
  }
  BatchWriter::probabilities(out).clear();
  BatchWriter::weights(out).clear();
  if (tiered_) {
    const absl::Status s = CompleteReads(&plan, out);
    if (!s.ok()) {
      *cursor = Table::ScanCursor{.next_slot = start, .done = false};
      return s;
    }
  }
  return n;
}

void TableImpl::Fill(const Slot* slots, size_t n, bool count_sample, SampleBatch* out,
                     ReadPlan* plan) {
  const absl::Span<const Slot> items(slots, n);
  BatchFiller::Arrays dst = BatchFiller::Shape(options_.schema, store_, n, out);
  BatchFiller::Metadata(index_, items, count_sample, out, tiered_ ? nullptr : &store_);
  if (tiered_) {
    FillTiered(slots, n, plan, dst.data(), out);
    return;
  }
  store_.Gather(slots, n, dst.data());
  if (!store_.variable_fields().empty()) {
    std::vector<std::string_view> values(n * store_.variable_fields().size());
    BatchFiller::BytesOf(store_, items, absl::MakeSpan(values));
    BatchFiller::WriteBytes(store_, n, values, out);
  }
}

}  // namespace strata::internal
