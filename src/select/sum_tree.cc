#include "select/sum_tree.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <new>
#include <string>

#include "absl/strings/str_cat.h"

namespace strata::internal {
namespace {

constexpr size_t kFanout = SumTree::kFanout;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr size_t kCacheLine = 64;
constexpr size_t kHugePage = size_t{2} << 20;
// Queries descended together by FindBatch: enough independent cache misses in flight to hide
// memory latency, few enough that each query's prefetched node is still in L1 when the next
// level comes back to it, and that the working set of the group stays in registers and L1.
constexpr size_t kQueryGroup = 64;

size_t RoundUp(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// Pairwise, ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)): a dependency chain of 3 adds
// rather than 7, which matters on Set's leaf-to-root path where each level waits for the one
// below. PickChild's prefix sums end at exactly this value.
inline double SumOf(const double* c) {
  return ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]));
}

inline double MinOf(const double* c) {
  return std::min(std::min(std::min(c[0], c[1]), std::min(c[2], c[3])),
                  std::min(std::min(c[4], c[5]), std::min(c[6], c[7])));
}

// The min tree's view of a leaf: an empty (0) leaf must never be the minimum.
inline double MinLeaf(double leaf) { return leaf > 0 ? leaf : kInf; }

inline double MinOfLeaves(const double* c) {
  double m[kFanout];
  for (size_t k = 0; k < kFanout; ++k) m[k] = MinLeaf(c[k]);
  return MinOf(m);
}

// The child of a node (its 8 values v) whose cumulative range contains u, with u made relative
// to that child: the number of prefix sums P_0 .. P_7 that are <= u. Counting compares instead
// of branching keeps a random descent free of mispredictions.
//
// The prefixes are associated so that (1) P_7 is bit-identical to SumOf, the parent's value;
// (2) each P_k is an earlier P plus a sum of non-negative values, so they never decrease and the
// count is a position; (3) P_k == P_{k-1} whenever v_k == 0, so a 0 child is never picked:
//   P_0..3 = v0, s01, s01 + v2, s01 + s23             (s01 = v0 + v1, s23 = v2 + v3, ...)
//   P_4..7 = P_3 + v4, P_3 + s45, P_3 + (s45 + v6), P_3 + (s45 + s67)
// When all 8 prefixes are <= u (u reached the node's end through rounding), take the last child
// with mass and make u its end, so the levels below keep taking their last child with mass too.
inline size_t PickChild(const double* v, double& u) {
  const double s01 = v[0] + v[1], s23 = v[2] + v[3], s45 = v[4] + v[5], s67 = v[6] + v[7];
  const double p3 = s01 + s23;
  const double prefix[kFanout + 1] = {
      0, v[0], s01, s01 + v[2], p3, p3 + v[4], p3 + s45, p3 + (s45 + v[6]), p3 + (s45 + s67)};
  size_t child = 0;
  for (size_t k = 1; k <= kFanout; ++k) child += prefix[k] <= u;
  if (child == kFanout) [[unlikely]] {
    child = kFanout - 1;
    while (child > 0 && !(v[child] > 0)) --child;
    u = v[child];
    return child;
  }
  u -= prefix[child];
  return child;
}

}  // namespace

SumTree::SumTree(size_t num_leaves) : num_leaves_(num_leaves) {
  assert(num_leaves >= 1 && num_leaves < (size_t{1} << 32));
  // No padding of the whole tree to a power of 8: each level is only rounded up to whole groups.
  size_t count = RoundUp(std::max<size_t>(num_leaves, 1), kFanout);
  levels_.push_back({Allocate(count, 0.0), nullptr, count});
  while (count > kFanout) {
    count = RoundUp(count / kFanout, kFanout);
    levels_.push_back({Allocate(count, 0.0), Allocate(count, kInf), count});
  }
  dirty_.reserve(1024);
  next_dirty_.reserve(1024);
}

SumTree::~SumTree() {
  for (Level& level : levels_) {
    std::free(level.sum);
    std::free(level.min);
  }
}

double* SumTree::Allocate(size_t count, double fill) {
  const size_t bytes = count * sizeof(double);
  // Large levels go on transparent huge pages: a descent touches one line per level, scattered
  // over the whole array, and 4 KiB pages would add a TLB miss (a page walk) to most of them.
  const size_t align = bytes >= kHugePage ? kHugePage : kCacheLine;
  void* p = std::aligned_alloc(align, RoundUp(bytes, align));
  if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (align == kHugePage) madvise(p, RoundUp(bytes, align), MADV_HUGEPAGE);
#endif
  double* values = static_cast<double*>(p);
  std::fill(values, values + count, fill);
  return values;
}

size_t SumTree::memory_bytes() const {
  size_t bytes = 0;
  for (const Level& level : levels_) {
    bytes += level.size * sizeof(double) * (level.min != nullptr ? 2 : 1);
  }
  return bytes;
}

inline void SumTree::Recompute(size_t k, size_t j) {
  const Level& below = levels_[k - 1];
  Level& level = levels_[k];
  level.sum[j] = SumOf(below.sum + j * kFanout);
  level.min[j] = k == 1 ? MinOfLeaves(below.sum + j * kFanout) : MinOf(below.min + j * kFanout);
}

void SumTree::RecomputeRoot() {
  const Level& top = levels_.back();
  total_ = SumOf(top.sum);
  min_ = levels_.size() == 1 ? MinOfLeaves(top.sum) : MinOf(top.min);
}

void SumTree::Set(size_t i, double value) {
  assert(i < num_leaves_ && std::isfinite(value) && value >= 0);
  assert(dirty_.empty() && !root_dirty_);
  levels_[0].sum[i] = value;
  size_t j = i;
  for (size_t k = 1; k < levels_.size(); ++k) {
    j /= kFanout;
    Recompute(k, j);
  }
  RecomputeRoot();
}

void SumTree::SetDeferred(size_t i, double value) {
  assert(i < num_leaves_ && std::isfinite(value) && value >= 0);
  levels_[0].sum[i] = value;
  if (levels_.size() == 1) {
    root_dirty_ = true;
    return;
  }
  // The parent's own slot marks it as queued (NaN: no real value is NaN), which dedupes parents
  // without a marker array and brings in the cache line that Propagate will write anyway.
  double& parent = levels_[1].sum[i / kFanout];
  if (!std::isnan(parent)) {
    parent = std::numeric_limits<double>::quiet_NaN();
    dirty_.push_back(static_cast<uint32_t>(i / kFanout));
  }
}

void SumTree::Propagate() {
  // Large batches touch more lines than the caches hold, so the lines each queued value needs
  // (its children, its min slot, its parent's marker) are prefetched a few values ahead.
  constexpr size_t kPrefetchAhead = 8;
  if (dirty_.empty() && !root_dirty_) return;
  for (size_t k = 1; k < levels_.size(); ++k) {
    const Level& below = levels_[k - 1];
    const Level& level = levels_[k];
    const Level* above = k + 1 < levels_.size() ? &levels_[k + 1] : nullptr;
    next_dirty_.clear();
    const size_t n = dirty_.size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) {
        const size_t ahead = dirty_[i + kPrefetchAhead];
        __builtin_prefetch(below.sum + ahead * kFanout);
        if (below.min != nullptr) __builtin_prefetch(below.min + ahead * kFanout);
        __builtin_prefetch(level.min + ahead, /*rw=*/1);
        if (above != nullptr) __builtin_prefetch(above->sum + ahead / kFanout, /*rw=*/1);
      }
      const uint32_t j = dirty_[i];
      Recompute(k, j);
      if (above != nullptr) {
        double& parent = above->sum[j / kFanout];
        if (!std::isnan(parent)) {
          parent = std::numeric_limits<double>::quiet_NaN();
          next_dirty_.push_back(j / kFanout);
        }
      }
    }
    dirty_.swap(next_dirty_);
  }
  root_dirty_ = false;
  RecomputeRoot();
}

void SumTree::Clear() {
  assert(dirty_.empty() && !root_dirty_);
  for (Level& level : levels_) {
    std::fill(level.sum, level.sum + level.size, 0.0);
    if (level.min != nullptr) std::fill(level.min, level.min + level.size, kInf);
  }
  total_ = 0;
  min_ = kInf;
}

uint32_t SumTree::Find(double u) const {
  size_t index = 0;  // group within the current level
  for (size_t k = levels_.size(); k-- > 0;) {
    index = index * kFanout + PickChild(levels_[k].sum + index * kFanout, u);
  }
  return static_cast<uint32_t>(index);
}

void SumTree::FindBatch(double* u, uint32_t* leaves, size_t n) const {
  assert(total_ > 0);
  // leaves[i] holds query i's current group index while descending: it reaches the leaf index
  // after level 0. All indices fit in uint32_t because the leaf count does.
  for (size_t start = 0; start < n; start += kQueryGroup) {
    const size_t end = std::min(n, start + kQueryGroup);
    std::fill(leaves + start, leaves + end, 0);
    for (size_t k = levels_.size(); k-- > 0;) {
      const double* values = levels_[k].sum;
      const double* below = k > 0 ? levels_[k - 1].sum : values;
      for (size_t i = start; i < end; ++i) {
        const size_t index = size_t{leaves[i]} * kFanout;
        const size_t child = index + PickChild(values + index, u[i]);
        leaves[i] = static_cast<uint32_t>(child);
        // By the time this group comes back to query i one level down, its node is in L1.
        __builtin_prefetch(below + child * kFanout);
      }
    }
  }
}

absl::Status SumTree::CheckInvariants() const {
  if (!dirty_.empty() || root_dirty_) {
    return absl::InternalError("sum tree: deferred writes not propagated");
  }
  const Level& leaves = levels_[0];
  for (size_t i = 0; i < leaves.size; ++i) {
    const double v = leaves.sum[i];
    if (!std::isfinite(v) || v < 0) {
      return absl::InternalError(absl::StrCat("sum tree: leaf ", i, " is ", v));
    }
    if (i >= num_leaves_ && v != 0) {
      return absl::InternalError(
          absl::StrCat("sum tree: padding leaf ", i, " is ", v, " (capacity ", num_leaves_, ")"));
    }
  }
  for (size_t k = 1; k < levels_.size(); ++k) {
    const Level& below = levels_[k - 1];
    const Level& level = levels_[k];
    const size_t groups = below.size / kFanout;
    for (size_t j = 0; j < level.size; ++j) {
      const bool real = j < groups;
      const double sum = real ? SumOf(below.sum + j * kFanout) : 0.0;
      const double min = !real    ? kInf
                         : k == 1 ? MinOfLeaves(below.sum + j * kFanout)
                                  : MinOf(below.min + j * kFanout);
      if (level.sum[j] != sum || level.min[j] != min) {
        return absl::InternalError(absl::StrCat("sum tree: level ", k, " value ", j, " holds sum ",
                                                level.sum[j], " min ", level.min[j],
                                                " but its children give sum ", sum, " min ", min));
      }
    }
  }
  const Level& top = levels_.back();
  const double total = SumOf(top.sum);
  const double min = levels_.size() == 1 ? MinOfLeaves(top.sum) : MinOf(top.min);
  if (total_ != total || min_ != min) {
    return absl::InternalError(absl::StrCat("sum tree: total ", total_, " min ", min_,
                                            " but the top level gives ", total, " and ", min));
  }
  return absl::OkStatus();
}

}  // namespace strata::internal
