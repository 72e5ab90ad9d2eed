// Micro benchmarks of the selectors (W3 of the design's workloads.md: prioritized, priorities
// linspace(0.1, 1), alpha 0.7, beta 0.5). Each case reports the time of one call (µs) and, for
// the prioritized tree, its bytes per item.
//
// For a same-run reference, BM_BinaryTree* times the classic layout the peers use (TorchRL's
// C++ segment tree, cpprb): a power-of-two binary tree in one array, descended one query at a
// time and updated one leaf path at a time.
//
//   ./bench/selectors_bench --benchmark_filter=Prioritized
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "select/fifo.h"
#include "select/group_balanced.h"
#include "select/heap.h"
#include "select/prioritized.h"
#include "select/selector.h"
#include "select/uniform.h"
#include "strata/selector.h"
#include "util/random.h"

namespace strata::internal {
namespace {

constexpr double kAlpha = 0.7;
constexpr double kBeta = 0.5;

double LinspacePriority(size_t i, size_t n) {
  return n == 1 ? 1.0 : 0.1 + 0.9 * static_cast<double>(i) / static_cast<double>(n - 1);
}

// Filling 10M slots takes a while; build each configuration once per process.
PrioritizedSelector& FullSelector(size_t capacity, bool stratified) {
  static auto* cache = new std::map<std::pair<size_t, bool>, std::unique_ptr<PrioritizedSelector>>;
  std::unique_ptr<PrioritizedSelector>& selector = (*cache)[{capacity, stratified}];
  if (selector == nullptr) {
    selector = std::make_unique<PrioritizedSelector>(
        Prioritized(kAlpha, kBeta, /*epsilon=*/1e-6, stratified), capacity);
    std::vector<SelectorItem> items(capacity);
    for (size_t i = 0; i < capacity; ++i) {
      items[i] = {.slot = static_cast<Slot>(i), .priority = LinspacePriority(i, capacity)};
    }
    for (const SelectorItem& item : items) selector->Insert(item);
  }
  return *selector;
}

// Sample(batch) + Weights: what a learner step asks for.
void BM_PrioritizedSample(benchmark::State& state, bool stratified) {
  const size_t capacity = state.range(0), batch = state.range(1);
  PrioritizedSelector& selector = FullSelector(capacity, stratified);
  Rng rng(1);
  std::vector<Slot> slots(batch);
  std::vector<double> probabilities(batch), weights(batch);
  for (auto _ : state) {
    selector.Sample(rng, batch, /*replacement=*/true, slots.data(), probabilities.data());
    selector.Weights(probabilities, Selector::kConfiguredBeta, weights.data());
    benchmark::DoNotOptimize(weights.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["bytes_per_item"] =
      static_cast<double>(selector.memory_bytes()) / static_cast<double>(capacity);
}

// Pre-sampled batches of (slot, new priority), cycled through so the timed loop is UpdateBatch.
std::vector<std::vector<SelectorItem>> SampledBatches(PrioritizedSelector& selector, size_t batch,
                                                      size_t count) {
  Rng rng(2);
  std::vector<Slot> slots(batch);
  std::vector<double> probabilities(batch);
  std::vector<std::vector<SelectorItem>> batches(count);
  for (std::vector<SelectorItem>& items : batches) {
    selector.Sample(rng, batch, /*replacement=*/true, slots.data(), probabilities.data());
    for (size_t i = 0; i < batch; ++i) {
      items.push_back({.slot = slots[i], .priority = 0.1 + 0.9 * rng.Uniform01()});
    }
  }
  return batches;
}

void BM_PrioritizedUpdate(benchmark::State& state) {
  const size_t capacity = state.range(0), batch = state.range(1);
  PrioritizedSelector& selector = FullSelector(capacity, /*stratified=*/false);
  const auto batches = SampledBatches(selector, batch, batch <= 4096 ? 64 : 4);
  size_t next = 0;
  for (auto _ : state) {
    selector.UpdateBatch(batches[next]);
    next = (next + 1) % batches.size();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

// The whole W3 step: sample, weights, update the sampled priorities.
void BM_PrioritizedStep(benchmark::State& state, bool stratified) {
  const size_t capacity = state.range(0), batch = state.range(1);
  PrioritizedSelector& selector = FullSelector(capacity, stratified);
  Rng rng(3);
  std::vector<Slot> slots(batch);
  std::vector<double> probabilities(batch), weights(batch);
  std::vector<SelectorItem> items(batch);
  for (auto _ : state) {
    selector.Sample(rng, batch, /*replacement=*/true, slots.data(), probabilities.data());
    selector.Weights(probabilities, Selector::kConfiguredBeta, weights.data());
    for (size_t i = 0; i < batch; ++i) {
      items[i] = {.slot = slots[i], .priority = 0.1 + 0.9 * weights[i]};
    }
    selector.UpdateBatch(items);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_PrioritizedSampleNoReplacement(benchmark::State& state) {
  const size_t capacity = state.range(0), batch = state.range(1);
  PrioritizedSelector& selector = FullSelector(capacity, /*stratified=*/false);
  Rng rng(4);
  std::vector<Slot> slots(batch);
  std::vector<double> probabilities(batch);
  for (auto _ : state) {
    selector.Sample(rng, batch, /*replacement=*/false, slots.data(), probabilities.data());
    benchmark::DoNotOptimize(slots.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

// One leaf-to-root path per call, as a table's single inserts do (W2: 100,000 items). Each
// iteration fills the whole table in slot order, then clears it (the clear is timed too).
void BM_PrioritizedInsert(benchmark::State& state) {
  const size_t capacity = state.range(0);
  PrioritizedSelector selector(Prioritized(kAlpha, kBeta), capacity);
  for (auto _ : state) {
    for (size_t i = 0; i < capacity; ++i) {
      selector.Insert({.slot = static_cast<Slot>(i), .priority = LinspacePriority(i, capacity)});
    }
    selector.Clear();
  }
  state.SetItemsProcessed(state.iterations() * capacity);
}

// Single updates at random slots of a full table: a path each, with cache misses.
void BM_PrioritizedUpdateOne(benchmark::State& state) {
  const size_t capacity = state.range(0);
  PrioritizedSelector& selector = FullSelector(capacity, /*stratified=*/false);
  const auto batches = SampledBatches(selector, 4096, 1);
  size_t next = 0;
  for (auto _ : state) {
    selector.Update(batches[0][next]);
    next = (next + 1) % batches[0].size();
  }
  state.SetItemsProcessed(state.iterations());
}

// The peers' layout, for the same-run ratio: leaves at [size, 2 size) of a power-of-two array.
class BinaryTree {
 public:
  explicit BinaryTree(size_t capacity) {
    while (size_ < capacity) size_ *= 2;
    nodes_.assign(2 * size_, 0.0);
  }
  void Set(size_t i, double value) {
    size_t node = i + size_;
    nodes_[node] = value;
    for (node /= 2; node >= 1; node /= 2) nodes_[node] = nodes_[2 * node] + nodes_[2 * node + 1];
  }
  size_t Find(double u) const {
    size_t node = 1;
    while (node < size_) {
      const double left = nodes_[2 * node];
      if (u < left) {
        node = 2 * node;
      } else {
        u -= left;
        node = 2 * node + 1;
      }
    }
    return node - size_;
  }
  double total() const { return nodes_[1]; }
  double leaf(size_t i) const { return nodes_[i + size_]; }

 private:
  size_t size_ = 1;
  std::vector<double> nodes_;
};

BinaryTree& FullBinaryTree(size_t capacity) {
  static auto* cache = new std::map<size_t, std::unique_ptr<BinaryTree>>;
  std::unique_ptr<BinaryTree>& tree = (*cache)[capacity];
  if (tree == nullptr) {
    tree = std::make_unique<BinaryTree>(capacity);
    for (size_t i = 0; i < capacity; ++i) {
      tree->Set(i, std::pow(LinspacePriority(i, capacity) + 1e-6, kAlpha));
    }
  }
  return *tree;
}

void BM_BinaryTreeSample(benchmark::State& state) {
  const size_t capacity = state.range(0), batch = state.range(1);
  BinaryTree& tree = FullBinaryTree(capacity);
  Rng rng(1);
  std::vector<size_t> slots(batch);
  std::vector<double> probabilities(batch);
  for (auto _ : state) {
    const double total = tree.total();
    for (size_t i = 0; i < batch; ++i) {
      slots[i] = tree.Find(rng.Uniform01() * total);
      probabilities[i] = tree.leaf(slots[i]) / total;
    }
    benchmark::DoNotOptimize(probabilities.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

// Same work as BM_PrioritizedUpdate: fresh batches of sampled slots, pow per item.
void BM_BinaryTreeUpdate(benchmark::State& state) {
  const size_t capacity = state.range(0), batch = state.range(1);
  BinaryTree& tree = FullBinaryTree(capacity);
  Rng rng(2);
  std::vector<std::vector<std::pair<size_t, double>>> batches(batch <= 4096 ? 64 : 4);
  for (auto& items : batches) {
    for (size_t i = 0; i < batch; ++i) {
      items.emplace_back(tree.Find(rng.Uniform01() * tree.total()), 0.1 + 0.9 * rng.Uniform01());
    }
  }
  size_t next = 0;
  for (auto _ : state) {
    for (const auto& [slot, priority] : batches[next]) {
      tree.Set(slot, std::pow(priority + 1e-6, kAlpha));
    }
    next = (next + 1) % batches.size();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void Sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"capacity", "batch"});
  b->Args({10'000, 256});  // W1's table: the tree fits in L2, so this is the compute cost
  b->Args({1'000'000, 256});
  b->Args({1'000'000, 65'536});
  b->Args({10'000'000, 256});
  b->Args({10'000'000, 65'536});
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(BM_PrioritizedSample, plain, false)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_PrioritizedSample, stratified, true)->Apply(Sizes);
BENCHMARK(BM_PrioritizedUpdate)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_PrioritizedStep, plain, false)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_PrioritizedStep, stratified, true)->Apply(Sizes);
BENCHMARK(BM_PrioritizedSampleNoReplacement)
    ->ArgNames({"capacity", "batch"})
    ->Args({1'000'000, 256})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PrioritizedInsert)->ArgName("capacity")->Arg(100'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PrioritizedUpdateOne)->ArgName("capacity")->Arg(1'000'000)->Arg(10'000'000);
BENCHMARK(BM_BinaryTreeSample)->Apply(Sizes);
BENCHMARK(BM_BinaryTreeUpdate)->Apply(Sizes);

// The other strategies, full at 1M items: a batch of 256 from the sampler's side, and the
// remover's steady state (evict the victim, insert an arrival) per item.
std::unique_ptr<Selector> MakeBasic(int kind, size_t capacity) {
  switch (kind) {
    case 0:
      return std::make_unique<UniformSelector>(capacity);
    case 1:
      return std::make_unique<FifoSelector>(capacity, /*newest_first=*/false);
    case 2:
      return std::make_unique<HeapSelector>(capacity, /*max_first=*/false);
    default:
      return std::make_unique<GroupBalancedSelector>(GroupBalanced(VictimOrder::kOldest), capacity);
  }
}

std::unique_ptr<Selector> FullBasic(int kind, size_t capacity, uint64_t* seq) {
  auto selector = MakeBasic(kind, capacity);
  for (size_t i = 0; i < capacity; ++i) {
    selector->Insert({.slot = static_cast<Slot>(i),
                      .priority = LinspacePriority(i, capacity),
                      .group = static_cast<int32_t>(i % 10),
                      .seq = (*seq)++});
  }
  return selector;
}

void BM_BasicSample(benchmark::State& state, int kind) {
  const size_t capacity = state.range(0), batch = state.range(1);
  uint64_t seq = 0;
  auto selector = FullBasic(kind, capacity, &seq);
  Rng rng(1);
  std::vector<Slot> slots(batch);
  std::vector<double> probabilities(batch);
  for (auto _ : state) {
    selector->Sample(rng, batch, /*replacement=*/true, slots.data(), probabilities.data());
    benchmark::DoNotOptimize(slots.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_BasicEvictInsert(benchmark::State& state, int kind) {
  const size_t capacity = state.range(0);
  uint64_t seq = 0;
  auto selector = FullBasic(kind, capacity, &seq);
  Rng rng(1);
  for (auto _ : state) {
    const Slot victim = selector->Victim(rng);
    selector->Remove(victim);
    selector->Insert({.slot = victim,
                      .priority = LinspacePriority(seq % capacity, capacity),
                      .group = static_cast<int32_t>(seq % 10),
                      .seq = seq});
    ++seq;
  }
  state.SetItemsProcessed(state.iterations());
}

void BasicSizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"capacity", "batch"})->Args({1'000'000, 256})->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(BM_BasicSample, uniform, 0)->Apply(BasicSizes);
BENCHMARK_CAPTURE(BM_BasicSample, fifo, 1)->Apply(BasicSizes);
BENCHMARK_CAPTURE(BM_BasicSample, minheap, 2)->Apply(BasicSizes);
BENCHMARK_CAPTURE(BM_BasicSample, group_balanced, 3)->Apply(BasicSizes);
BENCHMARK_CAPTURE(BM_BasicEvictInsert, uniform, 0)->ArgName("capacity")->Arg(1'000'000);
BENCHMARK_CAPTURE(BM_BasicEvictInsert, fifo, 1)->ArgName("capacity")->Arg(1'000'000);
BENCHMARK_CAPTURE(BM_BasicEvictInsert, minheap, 2)->ArgName("capacity")->Arg(1'000'000);
BENCHMARK_CAPTURE(BM_BasicEvictInsert, group_balanced, 3)->ArgName("capacity")->Arg(1'000'000);

}  // namespace
}  // namespace strata::internal

BENCHMARK_MAIN();
