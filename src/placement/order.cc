// Recent and random placement: a fixed demotion order over the clean DRAM copies — the oldest
// first (a FIFO) or one at random — and no background work. The other residences do not matter
// to them.
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "placement/placement_policy.h"
#include "select/fifo.h"
#include "select/uniform.h"

namespace strata::internal {
namespace {

class OrderPlacement final : public PlacementPolicy {
 public:
  OrderPlacement(std::unique_ptr<Selector> order, std::string_view name)
      : order_(std::move(order)), name_(name) {}

  std::string_view name() const override { return name_; }
  void Enter(const PlacementItem& item, Residence where) override {
    if (where == Residence::kClean) order_->Insert(item);
  }
  void Leave(const PlacementItem& item, Residence where) override {
    if (where == Residence::kClean) order_->Remove(item.slot);
  }
  size_t droppable() const override { return order_->size(); }
  Slot NextDemotion(Rng& rng) override { return order_->Victim(rng); }
  absl::Status CheckInvariants(absl::Span<const Slot> clean,
                               const absl::flat_hash_map<int32_t, uint64_t>&) const override {
    if (order_->size() != clean.size()) {
      return absl::InternalError(absl::StrCat(std::string(name_), " placement holds ",
                                              order_->size(), " clean copies, the table ",
                                              clean.size()));
    }
    return order_->CheckInvariants(clean);
  }

 private:
  const std::unique_ptr<Selector> order_;
  const std::string_view name_;
};

}  // namespace

std::unique_ptr<PlacementPolicy> NewOrderPlacement(Placement placement, size_t capacity) {
  if (placement == Placement::kRandom) {
    return std::make_unique<OrderPlacement>(std::make_unique<UniformSelector>(capacity), "random");
  }
  return std::make_unique<OrderPlacement>(
      std::make_unique<FifoSelector>(capacity, /*newest_first=*/false), "recent");
}

}  // namespace strata::internal
