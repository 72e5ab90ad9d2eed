#include "select/sum_tree.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "util/random.h"

namespace strata::internal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Capacities around the shape's edges: a single leaf, a partial group, exactly one group, 8^k
// (a full tree) and 8^k + 1 (one more level holding a single value), and odd sizes.
const size_t kCapacities[] = {1, 2, 7, 8, 9, 13, 63, 64, 65, 512, 513, 1000, 4096, 4097, 33333};

// The leaf a query u selects, by a linear scan: the first leaf whose cumulative sum exceeds u.
size_t BruteFind(const std::vector<double>& leaves, double u) {
  double sum = 0;
  for (size_t i = 0; i < leaves.size(); ++i) {
    sum += leaves[i];
    if (u < sum) return i;
  }
  return leaves.size();
}

TEST(SumTreeTest, StartsEmpty) {
  for (const size_t capacity : kCapacities) {
    SumTree tree(capacity);
    EXPECT_EQ(tree.num_leaves(), capacity);
    EXPECT_EQ(tree.total(), 0);
    EXPECT_EQ(tree.min_positive(), kInf);
    EXPECT_TRUE(tree.CheckInvariants().ok()) << capacity;
  }
}

TEST(SumTreeTest, FindsIntegerRangesExactly) {
  // Small integer leaves keep every sum exact, so each range [prefix, prefix + leaf) can be
  // probed at both ends: the start maps to the leaf, the end to the next leaf with mass.
  for (const size_t capacity : kCapacities) {
    SumTree tree(capacity);
    std::vector<double> leaves(capacity);
    for (size_t i = 0; i < capacity; ++i) {
      leaves[i] = (i % 3 == 1) ? 0.0 : static_cast<double>(1 + i % 5);
      tree.Set(i, leaves[i]);
    }
    ASSERT_TRUE(tree.CheckInvariants().ok()) << capacity;
    double prefix = 0;
    for (size_t i = 0; i < capacity; ++i) {
      if (leaves[i] == 0) continue;
      EXPECT_EQ(tree.Find(prefix), i) << "capacity " << capacity << " start of leaf " << i;
      EXPECT_EQ(tree.Find(prefix + leaves[i] - 0.5), i) << "capacity " << capacity;
      prefix += leaves[i];
    }
    EXPECT_EQ(tree.total(), prefix);
  }
}

TEST(SumTreeTest, QueryAtOrPastTheTotalTakesTheLastLeafWithMass) {
  for (const size_t capacity : kCapacities) {
    SumTree tree(capacity);
    // Mass only in the first half, so the end of the range is followed by empty leaves, empty
    // groups and padding at every level.
    const size_t last = (capacity - 1) / 2;
    for (size_t i = 0; i <= last; ++i) tree.Set(i, 0.1 * static_cast<double>(i + 1));
    const double total = tree.total();
    for (const double u : {total, std::nextafter(total, kInf), 2 * total, kInf}) {
      EXPECT_EQ(tree.Find(u), last) << "capacity " << capacity << " u " << u;
    }
    EXPECT_EQ(tree.Find(std::nextafter(total, 0.0)), last);
  }
}

TEST(SumTreeTest, NeverReturnsAnEmptyLeaf) {
  // Inexact sums (0.1 steps, values spanning 1e-300 .. 1e300) and queries packed against every
  // boundary: whatever the rounding, a 0 leaf must never come back.
  Rng rng(5);
  for (const size_t capacity : kCapacities) {
    SumTree tree(capacity);
    std::vector<double> leaves(capacity);
    for (size_t i = 0; i < capacity; ++i) {
      if (rng.UniformInt(3) == 0) continue;
      leaves[i] = rng.UniformInt(10) == 0 ? std::pow(10.0, rng.UniformInt(600) - 300.0)
                                          : 0.1 * static_cast<double>(1 + rng.UniformInt(9));
      tree.Set(i, leaves[i]);
    }
    if (tree.total() == 0) continue;
    std::vector<double> queries;
    double prefix = 0;
    for (size_t i = 0; i < capacity; ++i) {
      prefix += leaves[i];
      queries.push_back(prefix);
      queries.push_back(std::nextafter(prefix, 0.0));
      queries.push_back(std::nextafter(prefix, kInf));
    }
    for (int i = 0; i < 1000; ++i) queries.push_back(rng.Uniform01() * tree.total());
    for (const double u : queries) {
      const uint32_t leaf = tree.Find(u);
      ASSERT_LT(leaf, capacity);
      ASSERT_GT(tree.leaf(leaf), 0) << "capacity " << capacity << " u " << u;
    }
  }
}

TEST(SumTreeTest, FindMatchesALinearScan) {
  // Integers again (exact sums), random queries: the tree and the scan must agree everywhere.
  Rng rng(6);
  for (const size_t capacity : kCapacities) {
    SumTree tree(capacity);
    std::vector<double> leaves(capacity);
    for (size_t i = 0; i < capacity; ++i) {
      leaves[i] = static_cast<double>(rng.UniformInt(4));
      tree.Set(i, leaves[i]);
    }
    if (tree.total() == 0) continue;
    for (int q = 0; q < 2000; ++q) {
      const double u = std::floor(rng.Uniform01() * tree.total() * 4) / 4;  // exact
      ASSERT_EQ(tree.Find(u), BruteFind(leaves, u)) << "capacity " << capacity << " u " << u;
    }
  }
}

TEST(SumTreeTest, FindBatchMatchesFind) {
  Rng rng(7);
  for (const size_t capacity : kCapacities) {
    SumTree tree(capacity);
    for (size_t i = 0; i < capacity; ++i) {
      if (rng.UniformInt(4) != 0) tree.Set(i, rng.Uniform01() + 0.01);
    }
    if (tree.total() == 0) continue;
    // 300 queries: several groups of the batched descent, the last one partial; then sorted.
    for (const bool sorted : {false, true}) {
      const size_t n = 300;
      std::vector<double> u(n), scratch(n);
      for (size_t i = 0; i < n; ++i) {
        u[i] = sorted ? (static_cast<double>(i) + rng.Uniform01()) * tree.total() / n
                      : rng.Uniform01() * tree.total();
      }
      u.back() = tree.total();  // the very top
      scratch = u;
      std::vector<uint32_t> leaves(n);
      tree.FindBatch(scratch.data(), leaves.data(), n);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(leaves[i], tree.Find(u[i])) << "capacity " << capacity << " query " << i;
      }
    }
  }
}

TEST(SumTreeTest, MinPositiveIgnoresEmptyLeaves) {
  for (const size_t capacity : kCapacities) {
    SumTree tree(capacity);
    for (size_t i = 0; i < capacity; ++i) tree.Set(i, 10.0 + static_cast<double>(i));
    EXPECT_EQ(tree.min_positive(), 10.0);
    tree.Set(0, 0.0);
    EXPECT_EQ(tree.min_positive(), capacity > 1 ? 11.0 : kInf);
    tree.Set(capacity - 1, 0.5);
    EXPECT_EQ(tree.min_positive(), 0.5);
    EXPECT_TRUE(tree.CheckInvariants().ok());
  }
}

TEST(SumTreeTest, BatchedSetEqualsSequentialSet) {
  Rng rng(8);
  for (const size_t capacity : kCapacities) {
    SumTree batched(capacity), sequential(capacity);
    for (int round = 0; round < 20; ++round) {
      // Duplicates on purpose (slots drawn from a small range): the last write wins.
      const size_t n = 1 + rng.UniformInt(2 * capacity);
      for (size_t i = 0; i < n; ++i) {
        const size_t slot = rng.UniformInt(capacity);
        const double value = rng.UniformInt(5) == 0 ? 0.0 : rng.Uniform01();
        batched.SetDeferred(slot, value);
        sequential.Set(slot, value);
      }
      batched.Propagate();
      ASSERT_TRUE(batched.CheckInvariants().ok()) << batched.CheckInvariants();
      for (size_t i = 0; i < capacity; ++i) ASSERT_EQ(batched.leaf(i), sequential.leaf(i));
      // Bit-identical, not merely close: both recompute every node from its children.
      ASSERT_EQ(batched.total(), sequential.total());
      ASSERT_EQ(batched.min_positive(), sequential.min_positive());
    }
  }
}

TEST(SumTreeTest, TotalDependsOnlyOnTheLeavesNotOnHistory) {
  // No drift: after many updates the total is bit-identical to that of a tree built directly
  // from the final leaves (which a delta-propagating tree cannot promise).
  Rng rng(9);
  const size_t capacity = 5000;
  SumTree churned(capacity);
  std::vector<double> leaves(capacity);
  for (int op = 0; op < 200000; ++op) {
    const size_t slot = rng.UniformInt(capacity);
    leaves[slot] = std::ldexp(rng.Uniform01(), static_cast<int>(rng.UniformInt(60)) - 30);
    churned.Set(slot, leaves[slot]);
  }
  SumTree fresh(capacity);
  for (size_t i = capacity; i-- > 0;) fresh.Set(i, leaves[i]);
  EXPECT_EQ(churned.total(), fresh.total());
  EXPECT_TRUE(churned.CheckInvariants().ok());
}

TEST(SumTreeTest, UnpropagatedWritesFailTheInvariantCheck) {
  SumTree tree(100);
  tree.Set(3, 1.0);
  tree.SetDeferred(50, 2.0);
  EXPECT_FALSE(tree.CheckInvariants().ok());
  tree.Propagate();
  EXPECT_TRUE(tree.CheckInvariants().ok());
  EXPECT_EQ(tree.total(), 3.0);
}

TEST(SumTreeTest, ClearEmptiesEverything) {
  SumTree tree(1000);
  for (size_t i = 0; i < 1000; ++i) tree.Set(i, 1.0);
  tree.Clear();
  EXPECT_EQ(tree.total(), 0);
  EXPECT_EQ(tree.min_positive(), kInf);
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(tree.leaf(i), 0);
  EXPECT_TRUE(tree.CheckInvariants().ok());
  tree.Set(999, 2.0);
  EXPECT_EQ(tree.Find(0.0), 999u);
}

TEST(SumTreeTest, MemoryIsAboutTenBytesPerLeaf) {
  // Leaves (8 B) plus two internal levels' worth (sums and minima, ~8/7 B each); no rounding of
  // the leaf count up to a power of 8, which would cost up to 8x at 8^k + 1.
  for (const size_t capacity : {size_t{1'000'000}, size_t{262'145}, size_t{10'000'000}}) {
    SumTree tree(capacity);
    const double per_leaf = static_cast<double>(tree.memory_bytes()) / capacity;
    EXPECT_GT(per_leaf, 10.0) << capacity;
    EXPECT_LT(per_leaf, 10.5) << capacity;
  }
}

}  // namespace
}  // namespace strata::internal
