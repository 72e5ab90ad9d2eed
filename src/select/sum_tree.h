// A cache-line-wide sum tree with a companion min tree, over one array of non-negative leaves:
// the index behind the prioritized selector (proportional draws in O(log_8 n) cache lines, the
// total mass, and the smallest positive leaf for importance weights).
//
// Layout. Every level is one array of doubles, 64-byte aligned and padded to a multiple of 8, so
// that the 8 children of a node fill exactly one cache line; level k+1 holds one value per group
// of 8 values of level k; the top level is a single group of 8. Only whole levels are padded,
// never the tree to a power of 8. Each level above the leaves stores two arrays: sums and
// minima. The min tree has no leaf array of its own: a leaf's min value is the leaf itself when
// positive and +inf when it is 0 (an empty slot), computed on the fly. All of it comes to about
// 8 + 2 * 8/7 ≈ 10.3 bytes per leaf.
//
//   level 2 (top)  sums [s0 .. s7]                     total = s0 + ... + s7
//                  mins [m0 .. m7]
//   level 1        sums [s0 .. s7][s8 .. s15] ...      s_j = sum of leaves 8j .. 8j+7
//                  mins [m0 .. m7][m8 .. m15] ...      m_j = min of those that are > 0
//   level 0        [leaf 0 .. 7][leaf 8 .. 15] ...     padding leaves are 0
//
// (Interleaving each group's sums and minima in one 128-byte pair of lines was measured slower:
// the cost is the number of lines an update touches, not which arrays they are in.)
//
// Precision. Every internal value is recomputed from its children, always in the same order;
// nothing is propagated as a delta, so the tree never drifts, a value restored to its old bits
// restores every ancestor (and the total) bit for bit, and the descent's prefix sums over a
// node's 8 children end exactly at the parent's value.
//
// Thread-safety: externally synchronized (FindBatch and the accessors are const and may run
// concurrently with each other, never with a mutation).
#ifndef STRATA_SELECT_SUM_TREE_H_
#define STRATA_SELECT_SUM_TREE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/status.h"

namespace strata::internal {

class SumTree {
 public:
  static constexpr size_t kFanout = 8;  // 8 doubles = one 64-byte cache line

  // All leaves 0. `num_leaves` >= 1 and < 2^32.
  explicit SumTree(size_t num_leaves);
  ~SumTree();
  SumTree(const SumTree&) = delete;
  SumTree& operator=(const SumTree&) = delete;

  size_t num_leaves() const { return num_leaves_; }
  double leaf(size_t i) const { return levels_[0].sum[i]; }
  // Sum of all leaves.
  double total() const { return total_; }
  // Smallest positive leaf; +inf when every leaf is 0.
  double min_positive() const { return min_; }

  // Sets leaf i (finite, >= 0) and recomputes its ancestors and the total: one node per level.
  void Set(size_t i, double value);

  // Batched update: SetDeferred writes leaf i (the last write to a leaf wins) and queues its
  // parent; Propagate then recomputes each queued parent once, level by level, and the total.
  // Until Propagate, the internal values are not meaningful: call nothing else in between.
  void SetDeferred(size_t i, double value);
  void Propagate();

  // Sets every leaf to 0.
  void Clear();

  // For each of the n queries u[i] in [0, total()): the leaf whose cumulative range
  // [leaf_0 + ... + leaf_{k-1}, ... + leaf_k) contains u[i], written to leaves[i]. A query at or
  // past the end (rounding, u == total) yields the last leaf with positive mass, so a 0 leaf is
  // never returned. u[] is scratch: it is overwritten. Precondition: total() > 0. Allocates
  // nothing. The queries go down level by level together (in groups of 64, so that a group's
  // state and prefetched nodes stay in L1 at any batch size), prefetching each query's next
  // node, so the cache misses of different queries overlap; sorted queries also read memory in
  // order.
  void FindBatch(double* u, uint32_t* leaves, size_t n) const;
  uint32_t Find(double u) const;

  // Bytes held by the leaves and every internal level (sums and minima).
  size_t memory_bytes() const;

  // Every internal value equals the recomputation from its children, the padding is neutral, and
  // every leaf is finite and >= 0. InternalError naming the first violation.
  absl::Status CheckInvariants() const;

 private:
  struct Level {
    double* sum = nullptr;
    double* min = nullptr;  // nullptr for the leaves (level 0): derived from them on the fly
    size_t size = 0;        // values in this level, a multiple of kFanout
  };

  // `count` doubles set to `fill`, 64-byte aligned (huge-page aligned when large); std::free.
  static double* Allocate(size_t count, double fill);

  // Recomputes value j of level k >= 1 from its children.
  void Recompute(size_t k, size_t j);
  void RecomputeRoot();

  size_t num_leaves_;
  std::vector<Level> levels_;  // levels_[0] = leaves, levels_.back() = the top group
  double total_ = 0;
  double min_ = std::numeric_limits<double>::infinity();
  // Scratch for Propagate: the dirty values of the level being recomputed and of the next one.
  // Members so that a batch allocates nothing once they have grown to the largest batch seen.
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t> next_dirty_;
  bool root_dirty_ = false;  // a deferred write when the leaves are themselves the top level
};

}  // namespace strata::internal

#endif  // STRATA_SELECT_SUM_TREE_H_
