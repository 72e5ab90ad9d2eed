// Selectors: the strategies that decide which item a table hands out (its sampler) and which it
// evicts when full (its remover). Any selector can serve in either role; the combinations that
// make sense are listed with each one. This header holds only their options; the strategies live
// in src/select/, one file each.
#ifndef STRATA_SELECTOR_H_
#define STRATA_SELECTOR_H_

#include <cstdint>
#include <string>
#include <utility>

namespace strata {

enum class SelectorKind : uint8_t {
  kUniform,        // every live item equally likely. Sampler or remover (random eviction).
  kPrioritized,    // P(i) = (p_i + eps)^alpha / sum_j (p_j + eps)^alpha, sum-tree. Sampler.
  kFifo,           // oldest first. Remover (the default), or sampler for queues.
  kLifo,           // newest first. Sampler for stacks.
  kMinHeap,        // lowest priority first (ties: oldest). Remover of least useful items.
  kMaxHeap,        // highest priority first (ties: oldest). Sampler of the top items.
  kGroupBalanced,  // per-group quotas over the groups seen so far; see VictimOrder.
};

// How GroupBalanced picks inside the group it chose (the largest, when evicting).
enum class VictimOrder : uint8_t {
  kOldest,       // per-group FIFO, as Miro's class-balanced episodic memory does.
  kRandom,       // uniformly at random within the group.
  kLowestScore,  // the item with the lowest value in `score_column` (ties: oldest).
};

struct SelectorOptions {
  SelectorKind kind = SelectorKind::kUniform;

  // kPrioritized. Leaves hold (priority + epsilon)^alpha. Importance weights are
  // (N * P(i))^-beta divided by the largest such weight over all live items, so they lie in (0, 1].
  double alpha = 0.6;     // 0 makes sampling uniform.
  double beta = 0.4;      // 0 makes every weight 1.
  double epsilon = 1e-6;  // keeps zero-priority items reachable; must be > 0.
  // Split each batch of n into n strata of equal probability mass and draw one item from each
  // (lower variance, and the tree is read in order, which is faster at large batches).
  bool stratified = false;

  // kGroupBalanced.
  VictimOrder victim_order = VictimOrder::kOldest;
  std::string score_column;  // required for kLowestScore: a score column of the schema.
};

// Convenience constructors.
inline SelectorOptions Uniform() { return {.kind = SelectorKind::kUniform}; }
inline SelectorOptions Prioritized(double alpha = 0.6, double beta = 0.4, double epsilon = 1e-6,
                                   bool stratified = false) {
  return {.kind = SelectorKind::kPrioritized,
          .alpha = alpha,
          .beta = beta,
          .epsilon = epsilon,
          .stratified = stratified};
}
inline SelectorOptions Fifo() { return {.kind = SelectorKind::kFifo}; }
inline SelectorOptions Lifo() { return {.kind = SelectorKind::kLifo}; }
inline SelectorOptions MinHeap() { return {.kind = SelectorKind::kMinHeap}; }
inline SelectorOptions MaxHeap() { return {.kind = SelectorKind::kMaxHeap}; }
inline SelectorOptions GroupBalanced(VictimOrder order = VictimOrder::kOldest,
                                     std::string score_column = "") {
  SelectorOptions o;
  o.kind = SelectorKind::kGroupBalanced;
  o.victim_order = order;
  o.score_column = std::move(score_column);
  return o;
}

// Whether an arriving item is kept at all (decided before any eviction).
enum class InsertionPolicy : uint8_t {
  kAlways,  // every item is inserted; the remover makes room.
  // Vitter's algorithm R: once the table is full, the k-th arrival is kept with probability
  // max_items / k; the remover picks the item it replaces (use Uniform() for a true reservoir).
  // Dropped items get key 0 (kNoKey) in the returned keys.
  kReservoir,
};

}  // namespace strata

#endif  // STRATA_SELECTOR_H_
