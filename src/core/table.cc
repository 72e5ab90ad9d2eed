// strata::Table forwards to internal::TableImpl (pimpl keeps the public header free of locks,
// selectors and storage).
#include "strata/table.h"

#include <utility>

#include "core/table_impl.h"
#include "strata/status.h"

namespace strata {

absl::StatusOr<std::unique_ptr<Table>> Table::Create(TableOptions options) {
  ASSIGN_OR_RETURN(auto impl, internal::TableImpl::Create(std::move(options)));
  return std::unique_ptr<Table>(new Table(std::move(impl)));
}

absl::StatusOr<RepairReport> Table::Repair(const TableOptions& options) {
  return internal::TableImpl::Repair(options);
}

Table::Table(std::unique_ptr<internal::TableImpl> impl) : impl_(std::move(impl)) {}
Table::~Table() = default;

absl::Status Table::Insert(const ItemBatch& batch, std::vector<Key>* keys, absl::Duration timeout) {
  return impl_->Insert(batch, keys, timeout);
}
absl::Status Table::Sample(const SampleOptions& options, SampleBatch* out) {
  return impl_->Sample(options, out);
}
absl::StatusOr<size_t> Table::Get(absl::Span<const Key> keys, SampleBatch* out,
                                  std::vector<size_t>* missing) {
  return impl_->Get(keys, out, missing);
}
absl::StatusOr<size_t> Table::Scan(ScanCursor* cursor, size_t max_items, SampleBatch* out) {
  return impl_->Scan(cursor, max_items, out);
}
absl::StatusOr<size_t> Table::Delete(absl::Span<const Key> keys, std::vector<size_t>* missing) {
  return impl_->Delete(keys, missing);
}
absl::StatusOr<size_t> Table::UpdatePriorities(absl::Span<const Key> keys,
                                               absl::Span<const double> priorities,
                                               std::vector<size_t>* missing) {
  return impl_->UpdatePriorities(keys, priorities, missing);
}
absl::StatusOr<size_t> Table::UpdateScores(std::string_view column, absl::Span<const Key> keys,
                                           absl::Span<const float> values,
                                           std::vector<size_t>* missing) {
  const ScoreUpdate update{column, values};
  return impl_->UpdateScores(absl::MakeConstSpan(&update, 1), keys, missing);
}

absl::StatusOr<size_t> Table::UpdateScores(absl::Span<const ScoreUpdate> columns,
                                           absl::Span<const Key> keys,
                                           std::vector<size_t>* missing) {
  return impl_->UpdateScores(columns, keys, missing);
}
absl::Status Table::SetRateLimiter(const RateLimiterOptions& options) {
  return impl_->SetRateLimiter(options);
}
absl::Status Table::Resize(uint64_t max_items, uint64_t dram_budget_bytes) {
  return impl_->Resize(max_items, dram_budget_bytes);
}
absl::Status Table::SetSwap(double ratio, uint32_t interval) {
  return impl_->SetSwap(ratio, interval);
}
absl::StatusOr<size_t> Table::DeleteTask(int32_t task) { return impl_->DeleteTask(task); }
absl::Status Table::Checkpoint() { return impl_->Checkpoint(); }
void Table::Close() { impl_->Close(); }
size_t Table::size() const { return impl_->size(); }
TableInfo Table::info() const { return impl_->info(); }
const TableOptions& Table::options() const { return impl_->options(); }
absl::Status Table::CheckInvariants() const { return impl_->CheckInvariants(); }

}  // namespace strata
