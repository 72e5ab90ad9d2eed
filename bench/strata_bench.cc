// strata_bench: the named workloads of ../shared/design/workloads.md, run against the C++ API.
//
//   strata_bench [--toy] [w1|w2|w3|w4|mem|all]...
//
// Each workload prints items/s, per-call p50/p99 and peak RSS, and the memcpy bandwidth of this
// machine measured in the same run, with the ratio the target is stated in. --toy shrinks every
// size so that CI can prove the workloads still run (its figures mean nothing).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "command_line.h"
#include "harness.h"
#include "strata/table.h"
#include "util/mmap_region.h"

ABSL_FLAG(bool, toy, false,
          "shrink every size, for CI: proves the workloads run, its figures mean nothing");

namespace strata::bench {
namespace {

bool g_toy = false;
double g_memcpy = 0;  // bytes/s

int Scale(int full, int toy) { return g_toy ? toy : full; }

void Check(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    std::exit(1);
  }
}

std::unique_ptr<Table> MakeTable(TableOptions o) {
  auto t = Table::Create(std::move(o));
  Check(t.status());
  return std::move(t).value();
}

// Fills `t` with n items whose fields are filled with a byte pattern, in batches.
void Fill(Table& t, const Schema& schema, size_t n, std::vector<double> priorities = {}) {
  constexpr size_t kChunk = 4096;
  std::vector<std::vector<uint8_t>> data(schema.num_fields());
  for (size_t f = 0; f < schema.num_fields(); ++f) {
    data[f].assign(kChunk * schema.field(f).row_bytes(), static_cast<uint8_t>(f + 1));
  }
  std::vector<Key> keys;
  for (size_t done = 0; done < n;) {
    const size_t m = std::min(kChunk, n - done);
    ItemBatch b;
    for (size_t f = 0; f < schema.num_fields(); ++f) {
      std::vector<int64_t> shape = {static_cast<int64_t>(m)};
      shape.insert(shape.end(), schema.field(f).shape.begin(), schema.field(f).shape.end());
      b.Add(schema.field(f).name, schema.field(f).dtype, shape, data[f].data());
    }
    if (!priorities.empty()) b.set_priorities(absl::MakeConstSpan(priorities).subspan(done, m));
    keys.clear();
    Check(t.Insert(b, &keys));
    done += m;
  }
}

void PrintBandwidth(const Result& r, double item_bytes) {
  const double bps = r.ItemsPerSecond() * item_bytes;
  char extra[128];
  std::snprintf(extra, sizeof extra, "%.2f GB/s = %.0f%% of memcpy", bps / 1e9,
                100 * bps / g_memcpy);
  Print(r, extra);
}

// W1: {a: f32[5], b: u8[3,32,32]}, 10,000 items, batch 256; uniform; prioritized + update.
void W1() {
  std::printf(
      "\n== W1: item {a: f32[5], b: u8[3,32,32]} (3,092 B), table 10,000 full, batch 256\n");
  std::printf("   targets: uniform >= 5M items/s; prioritized (incl. update) >= 2.5M items/s\n");
  const Schema schema =
      *Schema::Builder().Fixed("a", DType::kF32, {5}).Fixed("b", DType::kU8, {3, 32, 32}).Build();
  const int n = Scale(10000, 1000), calls = Scale(4000, 20);
  PrintHeader();
  {
    TableOptions o{.name = "w1u", .schema = schema, .max_items = static_cast<uint64_t>(n)};
    auto t = MakeTable(o);
    Fill(*t, schema, n);
    SampleBatch out;
    auto r = Measure("W1 uniform sample b=256", 256, 50, calls,
                     [&] { Check(t->Sample({.batch_size = 256}, &out)); });
    PrintBandwidth(r, 3092);
  }
  {
    TableOptions o{.name = "w1p", .schema = schema, .max_items = static_cast<uint64_t>(n)};
    o.sampler = Prioritized(1.0, 0.9);
    auto t = MakeTable(o);
    Fill(*t, schema, n);
    SampleBatch out;
    std::vector<double> p(256);
    uint64_t x = 7;
    auto sample = Measure("W1 prioritized sample b=256", 256, 50, calls,
                          [&] { Check(t->Sample({.batch_size = 256}, &out)); });
    PrintBandwidth(sample, 3092);
    auto both = Measure("W1 prioritized sample+update b=256", 256, 50, calls, [&] {
      Check(t->Sample({.batch_size = 256}, &out));
      // New priorities in [0.1, 1.1): the spread of |TD error| a learner reports; a wider spread
      // would concentrate sampling on a few cache-hot items and flatter the figure.
      for (double& d : p) {
        d = 0.1 + static_cast<double>((x = x * 6364136223846793005ULL + 1) >> 11) * 0x1.0p-53;
      }
      Check(t->UpdatePriorities(out.keys(), p).status());
    });
    PrintBandwidth(both, 3092);
  }
}

// W2: f32[4]; 10,000 single inserts; sample 32 / 256 / 1,024 from a full 100,000 table.
void W2() {
  std::printf("\n== W2: item f32[4]; single inserts; uniform samples from a full 100,000 table\n");
  std::printf("   targets: >= 10M single inserts/s; batch-32 sample <= 1 us\n");
  const Schema schema = *Schema::Builder().Fixed("x", DType::kF32, {4}).Build();
  const int cap = Scale(100000, 2000);
  TableOptions o{.name = "w2", .schema = schema, .max_items = static_cast<uint64_t>(cap)};
  auto t = MakeTable(o);
  PrintHeader();
  std::vector<float> item = {1, 2, 3, 4};
  std::vector<Key> keys;
  keys.reserve(16);
  ItemBatch b;
  constexpr int kInserts = 10000;
  auto ins = Measure(
      "W2 single insert (10,000 per timed call)", 1, 2, Scale(200, 2),
      [&] {
        for (int i = 0; i < kInserts; ++i) {
          b.Clear();
          item[0] = static_cast<float>(i);
          b.Add("x", DType::kF32, {1, 4}, item.data());
          keys.clear();
          Check(t->Insert(b, &keys));
        }
      },
      kInserts);
  Print(ins);
  Fill(*t, schema, cap);
  SampleBatch out;
  for (int batch : {32, 256, 1024}) {
    const int reps = 100;
    auto r = Measure(
        "W2 uniform sample b=" + std::to_string(batch) + " (x100 per timed call)", batch, 5,
        Scale(500, 2),
        [&] {
          for (int i = 0; i < reps; ++i) {
            Check(t->Sample({.batch_size = static_cast<size_t>(batch)}, &out));
          }
        },
        reps);
    Print(r);
  }
}

// W3: prioritized, 1M and 10M, priorities linspace(0.1, 1), alpha 0.7 beta 0.5.
void W3() {
  std::printf("\n== W3: prioritized alpha=0.7 beta=0.5, priorities linspace(0.1, 1)\n");
  std::printf(
      "   targets: 1M b=256: sample <= 20 us, update <= 50 us; 10M b=65,536: sample+update <= 10 "
      "ms\n");
  const Schema schema = *Schema::Builder().Fixed("x", DType::kF32).Build();
  for (int cap : {Scale(1000000, 10000), Scale(10000000, 20000)}) {
    for (bool stratified : {false, true}) {
      TableOptions o{.name = "w3", .schema = schema, .max_items = static_cast<uint64_t>(cap)};
      o.sampler = Prioritized(0.7, 0.5, 1e-6, stratified);
      auto t = MakeTable(o);
      std::vector<double> pr(cap);
      for (int i = 0; i < cap; ++i) pr[i] = 0.1 + 0.9 * i / (cap - 1.0);
      Fill(*t, schema, cap, pr);
      PrintHeader();
      for (int batch : {256, 65536}) {
        if (batch > cap) continue;
        SampleBatch out;
        const int calls = batch == 256 ? Scale(5000, 20) : Scale(60, 3);
        std::string tag = std::to_string(cap / 1000) + "K b=" + std::to_string(batch) +
                          (stratified ? " stratified" : "");
        auto s = Measure("W3 " + tag + " sample+weights", batch, 5, calls, [&] {
          Check(t->Sample({.batch_size = static_cast<size_t>(batch)}, &out));
        });
        Print(s);
        std::vector<double> p(out.size());
        for (size_t i = 0; i < p.size(); ++i) p[i] = 0.1 + 0.9 * static_cast<double>(i % 97) / 97;
        auto u = Measure("W3 " + tag + " update", batch, 5, calls,
                         [&] { Check(t->UpdatePriorities(out.keys(), p).status()); });
        Print(u);
        std::printf("%-44s %14s %12.2f us (sample p50 + update p50)\n",
                    ("W3 " + tag + " sample+update").c_str(), "", (s.P50() + u.P50()) * 1e6);
      }
    }
  }
}

// The machine's own limit for W4's access pattern, measured in the same run: copy random rows of
// the same size from a huge-page region of the same size into one output array, prefetching
// ahead, with nothing else (no metadata, no selector, no lock).
void RawRowGather(size_t rows, size_t row_bytes, size_t batch) {
  auto region = strata::internal::MmapRegion::Reserve(rows * row_bytes);
  Check(region.status());
  uint8_t* base = region->data();
  std::memset(base, 1, rows * row_bytes);
  std::vector<uint8_t> out(batch * row_bytes);
  std::vector<uint32_t> idx(batch);
  uint64_t x = 99;
  auto r = Measure(
      "W4 reference: raw random row copy b=" + std::to_string(batch), batch, 3, Scale(300, 3), [&] {
        for (auto& i : idx) {
          i = static_cast<uint32_t>(((x = x * 6364136223846793005ULL + 1) >> 33) % rows);
        }
        for (size_t i = 0; i < batch; ++i) {
          if (i + 8 < batch) {
            const uint8_t* p = base + static_cast<size_t>(idx[i + 8]) * row_bytes;
            for (size_t l = 0; l < row_bytes; l += 64) __builtin_prefetch(p + l);
          }
          std::memcpy(out.data() + i * row_bytes, base + static_cast<size_t>(idx[i]) * row_bytes,
                      row_bytes);
        }
      });
  PrintBandwidth(r, static_cast<double>(row_bytes));
}

// W4: {obs: f32[87], action: f32[8], reward: f32, discount: f32}; 1M; batch 256..16,384.
void W4() {
  std::printf("\n== W4: item {obs: f32[87], action: f32[8], reward, discount} (388 B), table 1M\n");
  std::printf("   target: >= 20M items/s at batch 16,384 (>= 50%% of memcpy)\n");
  const Schema schema = *Schema::Builder()
                             .Fixed("obs", DType::kF32, {87})
                             .Fixed("action", DType::kF32, {8})
                             .Fixed("reward", DType::kF32)
                             .Fixed("discount", DType::kF32)
                             .Build();
  const int cap = Scale(1000000, 20000);
  for (bool fifo : {false, true}) {
    TableOptions o{.name = "w4", .schema = schema, .max_items = static_cast<uint64_t>(cap)};
    if (fifo) o.sampler = Fifo();
    auto t = MakeTable(o);
    Fill(*t, schema, cap);
    PrintHeader();
    SampleBatch out;
    for (int batch : {256, 2048, 16384}) {
      const int calls = Scale(batch == 16384 ? 300 : 2000, 3);
      auto r = Measure(
          std::string("W4 ") + (fifo ? "fifo" : "uniform") + " b=" + std::to_string(batch), batch,
          5, calls, [&] { Check(t->Sample({.batch_size = static_cast<size_t>(batch)}, &out)); });
      PrintBandwidth(r, 388);
    }
  }
  PrintHeader();
  RawRowGather(static_cast<size_t>(cap), 392, 16384);
}

// DRAM overhead per item beyond the payload, for the common configurations.
void Mem() {
  std::printf("\n== mem: DRAM bytes per item beyond the payload (target <= 64)\n");
  const Schema schema = *Schema::Builder().Fixed("x", DType::kF32, {4}).Build();
  const int n = Scale(2000000, 20000);
  struct Config {
    const char* name;
    SelectorOptions sampler;
    SelectorOptions remover;
  };
  for (const Config& c : {Config{"uniform + fifo", Uniform(), Fifo()},
                          Config{"prioritized + fifo", Prioritized(), Fifo()},
                          Config{"prioritized + minheap", Prioritized(), MinHeap()}}) {
    const uint64_t before = CurrentRssBytes();
    {
      TableOptions o{.name = "mem", .schema = schema, .max_items = static_cast<uint64_t>(n)};
      o.sampler = c.sampler;
      o.remover = c.remover;
      auto t = MakeTable(o);
      Fill(*t, schema, n);
      const uint64_t after = CurrentRssBytes();
      const double per_item = static_cast<double>(after - before) / n - 16.0;
      std::printf("%-30s %8.1f bytes/item overhead (%d items of 16 B)\n", c.name, per_item, n);
    }
  }
}

std::vector<std::string> ParseFlags(int argc, char** argv) {
  return ParseCommandLine(
      argc, argv,
      "the named workloads of ../shared/design/workloads.md, run against the C++ API.\n"
      "usage: strata_bench [--toy] [w1|w2|w3|w4|mem|all]...   (no workload: all)",
      "strata_bench.cc");
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) {
  using namespace strata::bench;
  const std::vector<std::string> which_args = ParseFlags(argc, argv);
  g_toy = absl::GetFlag(FLAGS_toy);
  std::vector<std::string> which;
  for (const std::string& a : which_args) {
    if (a == "w1" || a == "w2" || a == "w3" || a == "w4" || a == "mem" || a == "all") {
      which.push_back(a);
    } else {
      std::fprintf(stderr,
                   "strata_bench: unknown workload '%s' (expected w1, w2, w3, w4, mem or all); "
                   "see --help\n",
                   a.c_str());
      return 2;
    }
  }
  if (which.empty()) which.push_back("all");
  g_memcpy = MemcpyBandwidth(g_toy ? (16u << 20) : (256u << 20));
  std::printf("memcpy reference: %.2f GB/s%s\n", g_memcpy / 1e9,
              g_toy ? " (toy run: figures are not meaningful)" : "");
  auto want = [&](const char* w) {
    for (auto& s : which)
      if (s == w || s == "all") return true;
    return false;
  };
  // Memory first: it measures resident-set growth, which memory freed (but kept by the
  // allocator) from earlier workloads would hide.
  if (want("mem")) Mem();
  if (want("w1")) W1();
  if (want("w2")) W2();
  if (want("w3")) W3();
  if (want("w4")) W4();
  std::printf("\npeak RSS: %.1f MiB\n", PeakRssBytes() / 1048576.0);
  return 0;
}
