// MakeSelector: options -> strategy. The only place that knows every strategy.
#include <cmath>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "select/fifo.h"
#include "select/group_balanced.h"
#include "select/heap.h"
#include "select/prioritized.h"
#include "select/selector.h"
#include "select/uniform.h"

namespace strata::internal {
namespace {

absl::Status CheckParameter(const char* name, double value, bool strictly_positive) {
  if (!std::isfinite(value) || value < 0 || (strictly_positive && value == 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " must be finite and ", strictly_positive ? "> 0" : ">= 0", ", got ", value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Selector>> MakeSelector(
    const SelectorOptions& options, size_t capacity, absl::Span<const std::string> score_columns) {
  switch (options.kind) {
    case SelectorKind::kUniform:
      return std::make_unique<UniformSelector>(capacity);
    case SelectorKind::kPrioritized:
      if (auto s = CheckParameter("alpha", options.alpha, false); !s.ok()) return s;
      if (auto s = CheckParameter("beta", options.beta, false); !s.ok()) return s;
      if (auto s = CheckParameter("epsilon", options.epsilon, true); !s.ok()) return s;
      return std::make_unique<PrioritizedSelector>(options, capacity);
    case SelectorKind::kFifo:
      return std::make_unique<FifoSelector>(capacity, /*newest_first=*/false);
    case SelectorKind::kLifo:
      return std::make_unique<FifoSelector>(capacity, /*newest_first=*/true);
    case SelectorKind::kMinHeap:
      return std::make_unique<HeapSelector>(capacity, /*max_first=*/false);
    case SelectorKind::kMaxHeap:
      return std::make_unique<HeapSelector>(capacity, /*max_first=*/true);
    case SelectorKind::kGroupBalanced: {
      if (options.victim_order == VictimOrder::kLowestScore) {
        bool known = false;
        for (const std::string& c : score_columns) known |= (c == options.score_column);
        if (!known) {
          return absl::InvalidArgumentError(
              absl::StrCat("GroupBalanced(kLowestScore) needs score_column to name a score column "
                           "of the schema; got '",
                           options.score_column, "'"));
        }
      }
      return std::make_unique<GroupBalancedSelector>(options, capacity);
    }
  }
  return absl::InvalidArgumentError("unknown selector kind");
}

}  // namespace strata::internal
