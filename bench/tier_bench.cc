// tier_bench: the SSD-tier workloads T1, T2 and T4 of ../shared/design/workloads.md, each judged
// against a raw-disk reference measured in the same run, on the same files and directory.
//
//   tier_bench [--toy] [--dir PATH] [--items N] [--item-bytes B] [--dram-mb M] [--seconds S]
//              [--threads 1,2] [--sync] [t1|t2|t3|t4|tz|all]...
//
//   t1  uniform sampling (exact mode, batch 256) from a table 8x its DRAM budget, 4 KiB and
//       64 KiB items, O_DIRECT. Reference: O_DIRECT random reads of the records of the table's
//       own segment files through io_uring at queue depth 64, in batches of as many reads as one
//       Sample issues for its cold items, from as many threads. Timed in the order table, raw,
//       raw, table. Target: >= 80% of the reference (Samples/s over raw batches/s).
//   t2  30 GB of 64 KiB items (more than this machine's RAM), DRAM budget 1 GiB, prioritized
//       sampling + UpdatePriorities of each sampled batch; the same reference, plus the resident
//       set against budget + 64 B/item + 256 MiB.
//   t3  resident+swap mode (Miro): Sample draws from DRAM only while swap ratio 1.0 of every
//       batch is rotated in from storage; against the same table with swapping off.
//   tz  per-field zstd: the same 64 KiB items (16 cart-pole frames of 64x64 u8) in a plain and a
//       compressed table 8x their DRAM budget; on-disk bytes (target <= 1/3) and uniform
//       sampling items/s (target >= 80% of the plain table's), timed plain, zstd, zstd, plain.
//   t4  an insert stream of 64 KiB items with write-behind (durability none and flush, 1 and 32
//       items per Insert), timed from the first insert until Checkpoint() returns. Reference:
//       sequential write() of the same bytes in the writer's group size, then fdatasync,
//       measured next to each case. Target: >= 70% of the reference. Each line also gives the
//       like-for-like ratios (the table's writes end in the page cache, the reference's on the
//       disk): table + syncfs vs write() + fdatasync, and table vs write() alone. --sync adds
//       durability sync, against write() + fdatasync per Insert-sized group.
//
// Every measurement prints one line: the table's figures, the reference's, the ratio and PASS or
// MISS against the target. --toy shrinks everything to a few MB (CI proves the workloads run; its
// figures mean nothing). Data lives in --dir (default: a fresh directory under build/tier_bench,
// deleted at the end); each workload deletes its files when it is done.
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "cartpole_frames.h"
#include "command_line.h"
#include "harness.h"
#include "io/async_reader.h"
#include "strata/env.h"
#include "strata/table.h"
#include "tier/format.h"

#ifndef STRATA_TIER_BENCH_DIR
#define STRATA_TIER_BENCH_DIR "build/tier_bench"
#endif

// The command line may spell item_bytes and dram_mb --item-bytes and --dram-mb (ParseFlags).
ABSL_FLAG(bool, toy, false, "shrink everything to a few MB, for CI: its figures mean nothing");
ABSL_FLAG(bool, sync, false, "t4: also measure durability sync");
ABSL_FLAG(std::string, dir, "", "data directory; empty: a fresh one under build/tier_bench");
ABSL_FLAG(std::optional<uint64_t>, items, std::nullopt, "items per table; unset: per workload");
ABSL_FLAG(std::optional<uint64_t>, item_bytes, std::nullopt,
          "--item-bytes: bytes per item; unset: per workload, t1 and t3 4 KiB and 64 KiB");
ABSL_FLAG(std::optional<uint64_t>, dram_mb, std::nullopt,
          "--dram-mb: DRAM budget in MiB; unset: per workload");
ABSL_FLAG(std::optional<double>, seconds, std::nullopt,
          "seconds per measurement; unset: 10, with --toy 0.25");
ABSL_FLAG(std::vector<std::string>, threads, std::vector<std::string>({"1", "2"}),
          "sampling thread counts 1-64, comma-separated: one measurement each");

namespace strata::bench {
namespace {

namespace fs = std::filesystem;
using internal::ReadOp;

// --- Configuration ---------------------------------------------------------------------------

struct Flags {
  bool toy = false;
  bool sync = false;               // t4: also durability sync
  std::string dir;                 // empty: a fresh directory under STRATA_TIER_BENCH_DIR
  uint64_t items = 0;              // 0: the workload's default
  uint64_t item_bytes = 0;         // 0: the workload's default
  uint64_t dram_mb = 0;            // 0: the workload's default
  double seconds = 0;              // 0: the default (10 s, toy 0.25 s)
  std::vector<int> threads{1, 2};  // sampling threads, one measurement each
};
Flags g_flags;
std::string g_base;           // directory all workloads write under
bool g_created_base = false;  // delete g_base at exit

constexpr size_t kBatch = 256;
constexpr uint64_t kKiB = 1024, kMiB = kKiB << 10, kGiB = kMiB << 10;
// The table's writer groups (src/core/table_tier.cc, kMaxGroupEntries / kMaxGroupBytes): up to
// 1,024 records, filled until the group holds at least 8 MiB.
constexpr uint64_t kWriterGroupEntries = 1024;
constexpr uint64_t kWriterGroupBytes = 8 * kMiB;

double Seconds() { return g_flags.seconds > 0 ? g_flags.seconds : (g_flags.toy ? 0.25 : 10.0); }
uint64_t RoundUp4K(uint64_t x) { return (x + 4095) / 4096 * 4096; }

void Cleanup() {
  if (g_created_base && !g_base.empty()) {
    std::error_code ec;
    fs::remove_all(g_base, ec);
  }
}

[[noreturn]] void Die(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "tier_bench: %s\n", message.c_str());
  std::exit(1);  // Cleanup runs (atexit)
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

std::string Size(uint64_t bytes) {
  char b[32];
  const double x = static_cast<double>(bytes);
  if (bytes >= kGiB) {
    std::snprintf(b, sizeof b, bytes % kGiB == 0 ? "%.0fGiB" : "%.2fGiB", x / kGiB);
  } else if (bytes >= kMiB) {
    std::snprintf(b, sizeof b, bytes % kMiB == 0 ? "%.0fMiB" : "%.2fMiB", x / kMiB);
  } else if (bytes >= kKiB) {
    std::snprintf(b, sizeof b, bytes % kKiB == 0 ? "%.0fKiB" : "%.2fKiB", x / kKiB);
  } else {
    std::snprintf(b, sizeof b, "%.0fB", x);
  }
  return b;
}

// A fresh, empty directory for one workload, under g_base.
std::string WorkDir(const std::string& name) {
  const std::string d = g_base + "/" + name;
  std::error_code ec;
  fs::remove_all(d, ec);
  fs::create_directories(d, ec);
  if (ec) Die("cannot create " + d + ": " + ec.message());
  return d;
}

void RemoveDir(const std::string& d) {
  std::error_code ec;
  fs::remove_all(d, ec);
}

// Writes dirty page-cache data back, so that a measurement does not pay for the previous one's
// writeback (and O_DIRECT reads do not wait for dirty pages of the files they read).
void SyncAll() { ::sync(); }

uint64_t FreeDiskBytes(const std::string& path) {
  struct statvfs v {};
  if (::statvfs(path.c_str(), &v) != 0) return 0;
  return static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
}

// VmRSS and VmHWM of this process (bytes), from /proc/self/status.
struct Rss {
  uint64_t rss = 0, hwm = 0;
};
Rss ReadRss() {
  Rss r;
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    uint64_t kb = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %" SCNu64 " kB", &kb) == 1) r.rss = kb * 1024;
    if (std::sscanf(line.c_str(), "VmHWM: %" SCNu64 " kB", &kb) == 1) r.hwm = kb * 1024;
  }
  return r;
}

// The 1-minute load average: the machines are shared, and a busy CPU slows the table's side
// (checksums, copies) more than the raw reference, so every workload prints it.
std::string Load1() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  f >> one;
  return one;
}
// The item sizes T1 and T3 measure: 4 KiB and 64 KiB, or --item_bytes.
std::vector<uint64_t> ItemSizes() {
  if (g_flags.item_bytes != 0) return {g_flags.item_bytes};
  return {4 * kKiB, 64 * kKiB};
}

std::string LoadAverage() {
  return "load average " + Load1() + " on " + std::to_string(std::thread::hardware_concurrency()) +
         " cores";
}

// splitmix64: a per-thread generator for the reference's offsets and the new priorities.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
};

// Page-aligned memory for O_DIRECT reads and writes.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t n) : size(std::max<size_t>(RoundUp4K(n), 4096)) {
    data = static_cast<char*>(std::aligned_alloc(4096, size));
    if (data == nullptr) Die("out of memory");
    std::memset(data, 0x5a, size);
  }
  ~AlignedBuffer() { std::free(data); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  char* data;
  size_t size;
};

// --- Running calls from several threads ------------------------------------------------------

struct Run {
  uint64_t calls = 0;
  double wall = 0;              // seconds from the start until the last thread finished
  std::vector<double> latency;  // seconds per call, all threads
  double CallsPerSecond() const { return wall > 0 ? static_cast<double>(calls) / wall : 0; }
  double Percentile(double p) const {
    if (latency.empty()) return 0;
    std::vector<double> s = latency;
    const size_t i = std::min(s.size() - 1, static_cast<size_t>(p * (s.size() - 1) + 0.5));
    std::nth_element(s.begin(), s.begin() + static_cast<ptrdiff_t>(i), s.end());
    return s[i];
  }
};

// Calls fn(thread_index) repeatedly from `threads` threads for `seconds`.
template <typename Fn>
Run RunFor(int threads, double seconds, Fn&& fn) {
  std::vector<std::vector<double>> lat(threads);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  double start = 0;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      const double end = start + seconds;
      for (double now = NowSeconds(); now < end;) {
        fn(t);
        const double after = NowSeconds();
        lat[t].push_back(after - now);
        now = after;
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  start = NowSeconds();
  go.store(true, std::memory_order_release);
  for (std::thread& th : pool) th.join();
  Run r;
  r.wall = NowSeconds() - start;
  for (auto& v : lat) {
    r.calls += v.size();
    r.latency.insert(r.latency.end(), v.begin(), v.end());
  }
  return r;
}

// --- Tables ----------------------------------------------------------------------------------

Schema ObsSchema(uint64_t item_bytes) {
  auto s = Schema::Builder().Fixed("obs", DType::kU8, {static_cast<int64_t>(item_bytes)}).Build();
  Check(s.status(), "schema");
  return *s;
}

std::unique_ptr<Table> MakeTable(TableOptions o) {
  auto t = Table::Create(std::move(o));
  Check(t.status(), "Table::Create");
  return std::move(t).value();
}

// Source items for inserts: `count` items of `item_bytes`, each with its own first bytes.
std::vector<uint8_t> SourceItems(size_t count, uint64_t item_bytes) {
  std::vector<uint8_t> v(count * item_bytes);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i * 131 + (i >> 12));
  return v;
}

// Inserts n items, `per_call` at a time.
void Load(Table& t, uint64_t n, uint64_t item_bytes, size_t per_call) {
  const std::vector<uint8_t> src = SourceItems(per_call, item_bytes);
  std::vector<Key> keys;
  ItemBatch b;
  for (uint64_t done = 0; done < n;) {
    const size_t m = static_cast<size_t>(std::min<uint64_t>(per_call, n - done));
    b.Clear();
    b.Add("obs", DType::kU8, {static_cast<int64_t>(m), static_cast<int64_t>(item_bytes)},
          src.data());
    keys.clear();
    Check(t.Insert(b, &keys), "Insert");
    done += m;
  }
}

// Loads the table and writes everything out; prints the load rate (for information).
void LoadAndFlush(Table& t, uint64_t n, uint64_t item_bytes, const char* tag) {
  const double t0 = NowSeconds();
  Load(t, n, item_bytes, 64);
  Check(t.Checkpoint(), "Checkpoint");
  const double dt = NowSeconds() - t0;
  SyncAll();
  const TableInfo info = t.info();
  std::printf("%s loaded %" PRIu64
              " items (%s on disk) in %.1f s (%.0f MB/s to the page cache); "
              "%" PRIu64 " resident in DRAM (%.1f%%), reader %s\n",
              tag, n, Size(info.tier.disk_bytes).c_str(), dt,
              static_cast<double>(n * item_bytes) / dt / 1e6, info.tier.dram_items,
              100.0 * static_cast<double>(info.tier.dram_items) / static_cast<double>(n),
              info.tier.reader.c_str());
}

// --- The raw read reference ------------------------------------------------------------------

// The records of a table's segment files, as the index files name them, opened with O_DIRECT.
struct SegmentFiles {
  std::vector<std::unique_ptr<RandomAccessFile>> files;
  struct Record {
    uint32_t file;
    uint64_t offset;
  };
  std::vector<Record> records;
  uint64_t data_bytes = 0;
};

SegmentFiles OpenSegmentFiles(const std::string& dir) {
  SegmentFiles sf;
  Env* env = Env::Posix();
  auto names = env->GetChildren(dir);
  Check(names.status(), "listing the storage directory");
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names) {
    if (name.rfind("seg-", 0) != 0 || name.size() < 5 ||
        name.compare(name.size() - 5, 5, ".data") != 0) {
      continue;
    }
    const std::string data_path = dir + "/" + name;
    const std::string index_path = data_path.substr(0, data_path.size() - 5) + ".index";
    auto file = env->NewDirectRandomAccessFile(data_path);
    Check(file.status(), "opening a segment file");
    if (!(*file)->direct_io()) Die(data_path + " cannot be read with O_DIRECT on this file system");
    sf.data_bytes += (*file)->size();
    // Record offsets from the index file: one 64-byte entry per record or tombstone.
    std::ifstream in(index_path, std::ios::binary);
    char entry[internal::kIndexEntryBytes];
    const uint32_t id = static_cast<uint32_t>(sf.files.size());
    while (in.read(entry, sizeof entry)) {
      internal::IndexEntry e;
      uint16_t version = 0;
      if (internal::DecodeIndexEntry(entry, &e, &version) != internal::DecodeResult::kOk) break;
      if (e.flags & internal::IndexEntry::kTombstone) continue;
      sf.records.push_back({id, e.data_offset});
    }
    sf.files.push_back(std::move(*file));
  }
  if (sf.records.empty()) Die("no records found in the segment files of " + dir);
  return sf;
}

// Random O_DIRECT reads of `block` bytes at the records' offsets, `per_batch` per ReadAll, through
// `reader` (io_uring, queue depth 64) shared by `threads` threads, as the table shares its one.
Run RawReads(internal::AsyncReader& reader, const SegmentFiles& sf, uint64_t block,
             size_t per_batch, int threads, double seconds, uint64_t seed) {
  std::vector<std::unique_ptr<AlignedBuffer>> buffers;
  std::vector<std::vector<ReadOp>> ops(threads, std::vector<ReadOp>(per_batch));
  std::vector<Rng> rngs;
  for (int t = 0; t < threads; ++t) {
    buffers.push_back(std::make_unique<AlignedBuffer>(per_batch * block));
    rngs.push_back(Rng{seed * 0x1234567ULL + static_cast<uint64_t>(t)});
  }
  return RunFor(threads, seconds, [&](int t) {
    std::vector<ReadOp>& batch = ops[t];
    for (size_t i = 0; i < per_batch; ++i) {
      const SegmentFiles::Record& rec = sf.records[rngs[t].Below(sf.records.size())];
      batch[i].file = sf.files[rec.file].get();
      batch[i].offset = rec.offset;
      batch[i].length = block;
      batch[i].dst = buffers[t]->data + i * block;
      batch[i].status = absl::OkStatus();
    }
    reader.ReadAll(absl::MakeSpan(batch));
    for (const ReadOp& op : batch) Check(op.status, "raw read");
  });
}

// --- Reporting -------------------------------------------------------------------------------

const char* Verdict(double ratio, double target) { return ratio >= target ? "PASS" : "MISS"; }

// One sampling measurement against its raw reference: the main line, then a detail line.
// `hits` / `misses`: DRAM hits and storage reads of the table's Samples in `table`.
void PrintSampling(const std::string& name, const Run& table, uint64_t hits, uint64_t misses,
                   const TierInfo& tier, double item_bytes, const Run& raw,
                   const internal::ReaderStats& raw_stats, size_t per_batch, uint64_t block,
                   double target) {
  const double calls = table.CallsPerSecond();
  const double items = calls * kBatch;
  const double raw_batches = raw.CallsPerSecond();
  const double raw_bytes = raw_batches * static_cast<double>(per_batch * block);
  const double cold_per_call =
      table.calls == 0 ? 0 : static_cast<double>(misses) / static_cast<double>(table.calls);
  const double cold_bytes = calls * cold_per_call * static_cast<double>(block);
  const double ratio = raw_batches > 0 ? calls / raw_batches : 0;
  std::printf(
      "%-24s table %7.0f items/s %6.1f Sample/s %5.0f MB/s | raw %6.1f batches/s of %zu reads "
      "%5.0f MB/s | ratio %4.0f%% (target >= %.0f%%) %s\n",
      name.c_str(), items, calls, items * item_bytes / 1e6, raw_batches, per_batch, raw_bytes / 1e6,
      100 * ratio, 100 * target, Verdict(ratio, target));
  std::printf(
      "%-24s   table: hit rate %.1f%%, %.1f cold reads/Sample (%.0f MB/s read), Sample p50 %.1f "
      "p99 %.1f ms, reads p50 %.0f p99 %.0f us, in flight max %" PRIu64
      " (reader totals since open) | raw: batch p50 %.1f p99 %.1f ms, reads p50 %.0f p99 %.0f us, "
      "in flight max %" PRIu64 " | load %s\n",
      "",
      100.0 * static_cast<double>(hits) / static_cast<double>(std::max<uint64_t>(1, hits + misses)),
      cold_per_call, cold_bytes / 1e6, table.Percentile(0.5) * 1e3, table.Percentile(0.99) * 1e3,
      tier.read_p50_us, tier.read_p99_us, tier.max_reads_in_flight, raw.Percentile(0.5) * 1e3,
      raw.Percentile(0.99) * 1e3, raw_stats.latency_p50_us, raw_stats.latency_p99_us,
      raw_stats.max_in_flight, Load1().c_str());
  std::fflush(stdout);
}

void Append(Run* into, const Run& more) {
  into->calls += more.calls;
  into->wall += more.wall;
  into->latency.insert(into->latency.end(), more.latency.begin(), more.latency.end());
}

// For each thread count in g_flags.threads: samples from `table` and measures the raw reference
// with as many reads per batch as the table's Samples read from storage on average, in the order
// table, raw, raw, table (half of --seconds each), so that a drift of the shared disk's speed
// weighs on both sides alike. `per_call` runs after each Sample (T2: the priority update).
template <typename AfterSample>
void SampleVsRaw(const std::string& tag, Table& table, const std::string& dir, uint64_t item_bytes,
                 double target, AfterSample&& per_call) {
  const SegmentFiles sf = OpenSegmentFiles(dir);
  const uint64_t block = RoundUp4K(item_bytes);
  std::printf(
      "%s raw reference: %zu records in %zu segment files (%s), O_DIRECT reads of %s, "
      "io_uring queue depth 64; order table, raw, raw, table\n",
      tag.c_str(), sf.records.size(), sf.files.size(), Size(sf.data_bytes).c_str(),
      Size(block).c_str());
  const double half = Seconds() / 2;
  for (int threads : g_flags.threads) {
    std::vector<SampleBatch> out(threads);
    uint64_t hits = 0, misses = 0;
    auto sample = [&] {
      const TierInfo before = table.info().tier;
      const Run run = RunFor(threads, half, [&](int t) {
        Check(table.Sample({.batch_size = kBatch}, &out[t]), "Sample");
        per_call(t, out[t]);
      });
      const TierInfo after = table.info().tier;
      hits += after.dram_hits - before.dram_hits;
      misses += after.dram_misses - before.dram_misses;
      return run;
    };
    Run table_run = sample();
    const size_t per_batch = std::max<size_t>(
        1, static_cast<size_t>(
               std::llround(static_cast<double>(misses) /
                            static_cast<double>(std::max<uint64_t>(1, table_run.calls)))));
    auto reader = internal::NewUringReader(64);
    Check(reader.status(), "NewUringReader");
    Run raw = RawReads(**reader, sf, block, per_batch, threads, half, 1);
    Append(&raw, RawReads(**reader, sf, block, per_batch, threads, half, 2));
    Append(&table_run, sample());
    PrintSampling(tag + " x" + std::to_string(threads) + " thread" + (threads > 1 ? "s" : ""),
                  table_run, hits, misses, table.info().tier, static_cast<double>(item_bytes), raw,
                  (*reader)->stats(), per_batch, block, target);
  }
}

// --- T1 --------------------------------------------------------------------------------------

void T1() {
  std::printf(
      "\n== T1: uniform sampling, exact mode, batch 256, table 8x its DRAM budget, "
      "O_DIRECT; target >= 80%% of raw random reads of the same files\n");
  std::printf("(%s)\n", LoadAverage().c_str());
  for (uint64_t item_bytes : ItemSizes()) {
    // Default table bytes: 1 GiB of 4 KiB items, 2 GiB of 64 KiB items (toy: 2 / 4 MiB).
    const uint64_t table_bytes = item_bytes <= 4 * kKiB ? (g_flags.toy ? 2 * kMiB : kGiB)
                                                        : (g_flags.toy ? 4 * kMiB : 2 * kGiB);
    const uint64_t n =
        g_flags.items != 0 ? g_flags.items : std::max<uint64_t>(1, table_bytes / item_bytes);
    const uint64_t budget = g_flags.dram_mb != 0
                                ? g_flags.dram_mb * kMiB
                                : std::max<uint64_t>(item_bytes, n * item_bytes / 8);
    const std::string tag = "T1 " + Size(item_bytes);
    const std::string dir = WorkDir("t1-" + Size(item_bytes));
    std::printf("%s: %" PRIu64 " items (%s), DRAM budget %s\n", tag.c_str(), n,
                Size(n * item_bytes).c_str(), Size(budget).c_str());
    {
      TableOptions o{.name = "t1", .schema = ObsSchema(item_bytes), .max_items = n};
      o.storage_dir = dir;
      o.dram_budget_bytes = budget;
      o.durability = Durability::kNone;
      o.direct_io = true;
      auto table = MakeTable(o);
      LoadAndFlush(*table, n, item_bytes, tag.c_str());
      SampleVsRaw(tag, *table, dir, item_bytes, 0.80, [](int, const SampleBatch&) {});
    }
    RemoveDir(dir);
  }
}

// --- TZ: compression ---------------------------------------------------------------------------

// T1-style sampling from two tables of the same structured 64 KiB items (16 cart-pole frames of
// 64x64), one storing them zstd-compressed: on-disk bytes and items/s side by side.
void TZ() {
  constexpr int kFrames = 16;
  constexpr uint64_t kItemBytes =
      kFrames * bench::CartPoleFrames::kSide * bench::CartPoleFrames::kSide;
  std::printf(
      "\n== TZ: per-field zstd on 64 KiB items (16 cart-pole frames of 64x64 u8), table 8x its "
      "DRAM budget, uniform sampling batch 256, O_DIRECT; targets: on-disk bytes <= 1/3 of the "
      "uncompressed table's, items/s >= 80%% of it\n");
  std::printf("(%s)\n", LoadAverage().c_str());
  const uint64_t n =
      g_flags.items != 0 ? g_flags.items : (g_flags.toy ? 64 : 2 * kGiB / kItemBytes);
  const uint64_t budget = g_flags.dram_mb != 0 ? g_flags.dram_mb * kMiB : n * kItemBytes / 8;
  const std::vector<int64_t> shape = {kFrames, bench::CartPoleFrames::kSide,
                                      bench::CartPoleFrames::kSide};
  struct Side {
    const char* name;
    Compression compression;
    std::string dir;
    std::unique_ptr<Table> table;
  };
  Side sides[2] = {{"plain", Compression::kNone, WorkDir("tz-plain"), nullptr},
                   {"zstd", Compression::kZstd, WorkDir("tz-zstd"), nullptr}};
  for (Side& side : sides) {
    auto schema = Schema::Builder().Fixed("frames", DType::kU8, shape, side.compression).Build();
    Check(schema.status(), "schema");
    TableOptions o{.name = side.name, .schema = *schema, .max_items = n};
    o.storage_dir = side.dir;
    o.dram_budget_bytes = budget;
    o.durability = Durability::kNone;
    o.direct_io = true;
    side.table = MakeTable(o);
  }
  // The same items into both tables, 64 at a time.
  bench::CartPoleFrames frames(42);
  std::vector<uint8_t> batch(64 * kItemBytes);
  std::vector<Key> keys;
  double load_seconds[2] = {0, 0};
  for (uint64_t done = 0; done < n;) {
    const int m = static_cast<int>(std::min<uint64_t>(64, n - done));
    for (int i = 0; i < m; ++i) frames.Render(kFrames, batch.data() + i * kItemBytes);
    ItemBatch b;
    b.Add("frames", DType::kU8, {m, shape[0], shape[1], shape[2]}, batch.data());
    for (int k = 0; k < 2; ++k) {
      const double t0 = NowSeconds();
      keys.clear();
      Check(sides[k].table->Insert(b, &keys), "Insert");
      load_seconds[k] += NowSeconds() - t0;
    }
    done += m;
  }
  uint64_t disk[2];
  for (int k = 0; k < 2; ++k) {
    const double t0 = NowSeconds();
    Check(sides[k].table->Checkpoint(), "Checkpoint");
    load_seconds[k] += NowSeconds() - t0;
    disk[k] = sides[k].table->info().tier.disk_bytes;
  }
  SyncAll();
  const double disk_ratio = static_cast<double>(disk[1]) / static_cast<double>(disk[0]);
  std::printf("TZ %" PRIu64 " items (%s), DRAM budget %s; loaded in %.1f s plain, %.1f s zstd\n", n,
              Size(n * kItemBytes).c_str(), Size(budget).c_str(), load_seconds[0], load_seconds[1]);
  std::printf(
      "TZ on disk: plain %s, zstd %s (records %.0f B on average before 4 KiB padding) | "
      "ratio %.3f (target <= 0.333) %s\n",
      Size(disk[0]).c_str(), Size(disk[1]).c_str(),
      static_cast<double>(sides[1].table->info().tier.stored_bytes) / static_cast<double>(n),
      disk_ratio, disk_ratio <= 1.0 / 3 ? "PASS" : "MISS");
  const double half = Seconds() / 2;
  for (int threads : g_flags.threads) {
    // Order plain, zstd, zstd, plain: drift of the machine weighs on both alike.
    double calls[2] = {0, 0}, wall[2] = {0, 0};
    for (int k : {0, 1, 1, 0}) {
      std::vector<SampleBatch> out(threads);
      const Run run = RunFor(threads, half, [&](int t) {
        Check(sides[k].table->Sample({.batch_size = kBatch}, &out[t]), "Sample");
      });
      calls[k] += static_cast<double>(run.calls);
      wall[k] += run.wall;
    }
    const double items[2] = {calls[0] * kBatch / wall[0], calls[1] * kBatch / wall[1]};
    const double ratio = items[1] / items[0];
    std::printf(
        "TZ x%d thread%s  plain %7.0f items/s %5.0f MB/s | zstd %7.0f items/s %5.0f MB/s "
        "| ratio %4.0f%% (target >= 80%%) %s | load %s\n",
        threads, threads > 1 ? "s" : " ", items[0], items[0] * kItemBytes / 1e6, items[1],
        items[1] * kItemBytes / 1e6, 100 * ratio, Verdict(ratio, 0.8), Load1().c_str());
    std::fflush(stdout);
  }
  for (Side& side : sides) {
    side.table.reset();
    RemoveDir(side.dir);
  }
}

// --- T2 --------------------------------------------------------------------------------------

void T2() {
  std::printf(
      "\n== T2: 30 GB of 64 KiB items, DRAM budget 1 GiB, prioritized (0.6, 0.4) sampling "
      "batch 256 + UpdatePriorities, O_DIRECT; target: RSS <= budget + 64 B/item + "
      "256 MiB, >= 80%% of raw random reads of the same files\n");
  const uint64_t item_bytes = g_flags.item_bytes != 0 ? g_flags.item_bytes : 64 * kKiB;
  const uint64_t n = g_flags.items != 0
                         ? g_flags.items
                         : (g_flags.toy ? 128 : uint64_t{30'000'000'000} / item_bytes);
  const uint64_t budget =
      g_flags.dram_mb != 0 ? g_flags.dram_mb * kMiB : (g_flags.toy ? n * item_bytes / 8 : kGiB);
  std::printf("(%s)\n", LoadAverage().c_str());
  const uint64_t data_bytes = n * RoundUp4K(item_bytes);
  // 35 GB for the default 30 GB.
  const uint64_t needed = data_bytes + (g_flags.toy ? 64 * kMiB : 5'000'000'000);
  const uint64_t free_bytes = FreeDiskBytes(g_base);
  const std::string tag = "T2 " + Size(item_bytes);
  std::printf("%s: %" PRIu64 " items (%.1f GB), DRAM budget %s; %.1f GB free on %s\n", tag.c_str(),
              n, static_cast<double>(data_bytes) / 1e9, Size(budget).c_str(),
              static_cast<double>(free_bytes) / 1e9, g_base.c_str());
  if (free_bytes < needed) {
    std::printf(
        "T2 refused: it needs %.1f GB free (the data + headroom) and %s has %.1f GB; "
        "use --items to shrink it or --dir for another disk\n",
        static_cast<double>(needed) / 1e9, g_base.c_str(), static_cast<double>(free_bytes) / 1e9);
    return;
  }
  const std::string dir = WorkDir("t2");
  {
    TableOptions o{.name = "t2", .schema = ObsSchema(item_bytes), .max_items = n};
    o.sampler = Prioritized(0.6, 0.4);
    o.storage_dir = dir;
    o.dram_budget_bytes = budget;
    o.durability = Durability::kNone;
    o.direct_io = true;
    auto table = MakeTable(o);
    LoadAndFlush(*table, n, item_bytes, tag.c_str());
    const Rss loaded = ReadRss();
    const int max_threads = *std::max_element(g_flags.threads.begin(), g_flags.threads.end());
    std::vector<Rng> rngs;
    std::vector<std::vector<double>> priorities(max_threads, std::vector<double>(kBatch));
    for (int t = 0; t < max_threads; ++t)
      rngs.push_back(Rng{0xabcdefULL + static_cast<uint64_t>(t)});
    SampleVsRaw(tag + " prio", *table, dir, item_bytes, 0.80, [&](int t, const SampleBatch& out) {
      std::vector<double>& p = priorities[t];
      for (double& x : p) x = 0.1 + rngs[t].Uniform();  // [0.1, 1.1), as in strata_bench W1
      Check(table->UpdatePriorities(out.keys(), p).status(), "UpdatePriorities");
    });
    const Rss sampled = ReadRss();
    const uint64_t bound = budget + 64 * n + 256 * kMiB;
    const uint64_t worst = std::max({loaded.rss, loaded.hwm, sampled.rss, sampled.hwm});
    std::printf(
        "%-26s RSS after load %.0f MiB (peak %.0f), after sampling %.0f MiB (peak %.0f) | "
        "bound budget + 64 B/item + 256 MiB = %.0f MiB | peak/bound %.0f%% %s\n",
        (tag + " memory").c_str(), loaded.rss / 1048576.0, loaded.hwm / 1048576.0,
        sampled.rss / 1048576.0, sampled.hwm / 1048576.0, bound / 1048576.0,
        100.0 * static_cast<double>(worst) / static_cast<double>(bound),
        worst <= bound ? "PASS" : "MISS");
  }
  RemoveDir(dir);
}

// Brings the machine to the same state before each timed write run: dirty data written back,
// and a pause long enough for a VM with free page reporting (virtio-balloon; reporting delay
// ~2 s) to hand freed memory back to its host. Writing into memory the host has taken back runs
// ~10x slower than into memory freed a moment ago, so without the pause whichever run follows
// the deletion of the previous one's files would be flattered.
void Settle() {
  SyncAll();
  if (!g_flags.toy) std::this_thread::sleep_for(std::chrono::seconds(3));
}

// --- T3 --------------------------------------------------------------------------------------

// Resident+swap mode (Miro): Sample draws only from DRAM while the maintenance thread swaps
// swap_ratio of every sampled batch with stored items. Reference: the same table, swapping off.
// Both sides alternate (off, on, on, off) so that drift weighs on both alike.
void T3() {
  std::printf(
      "\n== T3: resident+swap mode, batch 256, swap ratio 1.0 every batch vs swapping off; "
      "target: sampling throughput within 10%% of swapping off\n");
  std::printf("(%s)\n", LoadAverage().c_str());
  for (uint64_t item_bytes : ItemSizes()) {
    const uint64_t table_bytes = g_flags.toy ? 4 * kMiB : kGiB;
    const uint64_t n =
        g_flags.items != 0 ? g_flags.items : std::max<uint64_t>(1, table_bytes / item_bytes);
    // DRAM holds 1/8 of the table (at least 8 items, so that toy runs still swap).
    const uint64_t budget = g_flags.dram_mb != 0
                                ? g_flags.dram_mb * kMiB
                                : std::max<uint64_t>(8 * item_bytes, n * item_bytes / 8);
    const std::string tag = "T3 " + Size(item_bytes);
    const std::string dir = WorkDir("t3-" + Size(item_bytes));
    std::printf("%s: %" PRIu64 " items (%s), DRAM budget %s, 10 groups\n", tag.c_str(), n,
                Size(n * item_bytes).c_str(), Size(budget).c_str());
    for (int threads : g_flags.threads) {
      double on_calls = 0, on_wall = 0, off_calls = 0, off_wall = 0;
      uint64_t swaps = 0, skipped = 0, swap_bytes = 0, misses = 0;
      for (const double ratio : {0.0, 1.0, 1.0, 0.0}) {
        TableOptions o{.name = "t3", .schema = ObsSchema(item_bytes), .max_items = n};
        o.storage_dir = dir;
        o.dram_budget_bytes = budget;
        o.durability = Durability::kFlush;
        o.direct_io = true;
        o.tier_sampling = TierSampling::kResident;
        o.swap_ratio = ratio;
        auto table = MakeTable(o);
        if (table->size() == 0) {
          // First round: load (10 groups), then reopen in the rounds after (warm-up reads).
          const std::vector<uint8_t> src = SourceItems(64, item_bytes);
          std::vector<int32_t> groups(64);
          std::vector<Key> keys;
          for (uint64_t done = 0; done < n;) {
            const size_t m = static_cast<size_t>(std::min<uint64_t>(64, n - done));
            for (size_t i = 0; i < m; ++i) groups[i] = static_cast<int32_t>((done + i) % 10);
            ItemBatch b;
            b.Add("obs", DType::kU8, {static_cast<int64_t>(m), static_cast<int64_t>(item_bytes)},
                  src.data());
            b.set_groups(absl::MakeConstSpan(groups.data(), m));
            keys.clear();
            Check(table->Insert(b, &keys), "Insert");
            done += m;
          }
          Check(table->Checkpoint(), "Checkpoint");
        }
        // Wait until DRAM is full (after a reopen the maintenance thread loads it).
        const uint64_t frames = budget / item_bytes;
        for (int i = 0; i < 3000 && table->info().tier.dram_items < std::min(frames, n); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        std::vector<SampleBatch> out(threads);
        const TierInfo before = table->info().tier;
        const Run run = RunFor(threads, Seconds() / 2, [&](int t) {
          Check(table->Sample({.batch_size = kBatch}, &out[t]), "Sample");
        });
        const TierInfo after = table->info().tier;
        misses += after.dram_misses - before.dram_misses;
        if (ratio > 0) {
          on_calls += static_cast<double>(run.calls);
          on_wall += run.wall;
          swaps += after.swaps - before.swaps;
          skipped += after.swaps_skipped - before.swaps_skipped;
          swap_bytes += after.swap_bytes - before.swap_bytes;
        } else {
          off_calls += static_cast<double>(run.calls);
          off_wall += run.wall;
        }
        table->Close();
      }
      const double on = on_calls * kBatch / on_wall;
      const double off = off_calls * kBatch / off_wall;
      const double ratio = off > 0 ? on / off : 0;
      std::printf(
          "%-24s swap on %9.0f items/s | off %9.0f items/s | ratio %4.0f%% (target >= 90%%) %s\n",
          (tag + " x" + std::to_string(threads) + " thread" + (threads > 1 ? "s" : "")).c_str(), on,
          off, 100 * ratio, Verdict(ratio, 0.90));
      std::printf(
          "%-24s   swaps done %.0f/s (%.0f MB/s read), skipped %.1f%% of requested, "
          "storage reads by Sample %" PRIu64 " | load %s\n",
          "", static_cast<double>(swaps) / on_wall, static_cast<double>(swap_bytes) / on_wall / 1e6,
          100.0 * static_cast<double>(skipped) /
              static_cast<double>(std::max<uint64_t>(1, swaps + skipped)),
          misses, Load1().c_str());
      std::fflush(stdout);
    }
    RemoveDir(dir);
  }
}

// --- T4 --------------------------------------------------------------------------------------

// Sequential write() of `total` bytes in groups of `group` bytes to a new file in `dir`;
// fdatasync after every group (per_group), once at the end (at_end), or never. Seconds.
double RawWrite(const std::string& dir, uint64_t total, uint64_t group, bool at_end,
                bool per_group) {
  const std::string path = dir + "/raw-write.data";
  AlignedBuffer buf(group);
  const std::vector<uint8_t> pattern = SourceItems(1, 4096);
  for (size_t i = 0; i < buf.size; i += 4096) std::memcpy(buf.data + i, pattern.data(), 4096);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("open " + path + ": " + std::strerror(errno));
  Settle();
  const double t0 = NowSeconds();
  for (uint64_t done = 0; done < total;) {
    const size_t m = static_cast<size_t>(std::min(group, total - done));
    for (size_t off = 0; off < m;) {
      const ssize_t w = ::write(fd, buf.data + off, m - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) Die("write " + path + ": " + std::strerror(errno));
      off += static_cast<size_t>(w);
    }
    done += m;
    if (per_group && ::fdatasync(fd) != 0) Die("fdatasync " + path + ": " + std::strerror(errno));
  }
  if (at_end && ::fdatasync(fd) != 0) Die("fdatasync " + path + ": " + std::strerror(errno));
  const double dt = NowSeconds() - t0;
  ::close(fd);
  ::unlink(path.c_str());
  SyncAll();
  return dt;
}

struct InsertStream {
  double seconds = 0;       // from the first insert until Checkpoint() returned
  double disk_seconds = 0;  // ... until a syncfs() after it returned: everything on the device
  TierInfo tier;
};

// Inserts n items, per_call at a time, into a fresh table in dir/table.
InsertStream TableInserts(const std::string& dir, uint64_t n, uint64_t item_bytes, uint64_t budget,
                          Durability durability, size_t per_call) {
  InsertStream r;
  const std::string table_dir = dir + "/table";
  {
    TableOptions o{.name = "t4", .schema = ObsSchema(item_bytes), .max_items = n};
    o.storage_dir = table_dir;
    o.dram_budget_bytes = budget;
    o.durability = durability;
    o.direct_io = true;
    auto table = MakeTable(o);
    Settle();
    const double t0 = NowSeconds();
    Load(*table, n, item_bytes, per_call);
    Check(table->Checkpoint(), "Checkpoint");
    r.seconds = NowSeconds() - t0;
    const int fd = ::open(table_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::syncfs(fd) != 0) Die("syncfs " + table_dir + ": " + std::strerror(errno));
    ::close(fd);
    r.disk_seconds = NowSeconds() - t0;
    r.tier = table->info().tier;
  }
  RemoveDir(table_dir);
  SyncAll();
  return r;
}

void T4() {
  std::printf(
      "\n== T4: insert stream with write-behind, timed from the first insert until "
      "Checkpoint() returns; target >= 70%% of raw sequential write() + fdatasync\n");
  const uint64_t item_bytes = g_flags.item_bytes != 0 ? g_flags.item_bytes : 64 * kKiB;
  const uint64_t n = g_flags.items != 0
                         ? g_flags.items
                         : std::max<uint64_t>(1, (g_flags.toy ? 8 * kMiB : 4 * kGiB) / item_bytes);
  const uint64_t budget =
      g_flags.dram_mb != 0 ? g_flags.dram_mb * kMiB : (g_flags.toy ? 2 * kMiB : kGiB);
  std::printf("(%s)\n", LoadAverage().c_str());
  const uint64_t record = RoundUp4K(item_bytes);  // direct_io pads records to 4 KiB
  // The writer's group: records are added until it holds >= 8 MiB or 1,024 records.
  const uint64_t group_items =
      std::min(kWriterGroupEntries, (kWriterGroupBytes + record - 1) / record);
  const uint64_t group = group_items * record;
  const std::string dir = WorkDir("t4");
  const std::string tag = "T4 " + Size(item_bytes);
  std::printf(
      "%s: %" PRIu64 " items (%s), DRAM budget %s, writer group %s (%" PRIu64
      " records).\n"
      "   Page cache: with durability none/flush, Checkpoint() returns when the table's writes "
      "are in the page cache, not on the disk, while the reference ends with fdatasync. So each "
      "line also gives the like-for-like ratios: 'disk' = the table until a syncfs() after "
      "Checkpoint vs write()+fdatasync, 'cache' = the table until Checkpoint vs write() alone. "
      "The reference is measured next to each case (the disk's speed drifts), and every timed run "
      "starts after sync + a 3 s pause (see Settle).\n",
      tag.c_str(), n, Size(n * record).c_str(), Size(budget).c_str(), Size(group).c_str(),
      group_items);
  SyncAll();
  struct Case {
    Durability durability;
    const char* name;
  };
  for (const Case& c : {Case{Durability::kNone, "none"}, Case{Durability::kFlush, "flush"}}) {
    for (size_t per_call : {size_t{1}, size_t{32}}) {
      const double total = static_cast<double>(n * record);
      const double raw_mbs = total / RawWrite(dir, n * record, group, true, false) / 1e6;
      const InsertStream s = TableInserts(dir, n, item_bytes, budget, c.durability, per_call);
      const double cache_mbs = total / RawWrite(dir, n * record, group, false, false) / 1e6;
      const double mbs = static_cast<double>(n * item_bytes) / s.seconds / 1e6;
      const double disk_mbs = static_cast<double>(n * item_bytes) / s.disk_seconds / 1e6;
      const double ratio = mbs / raw_mbs;
      const uint64_t avg_append =
          s.tier.writes_issued ? s.tier.bytes_written / s.tier.writes_issued : 0;
      std::printf("%-24s table %6.0f items/s %5.0f MB/s (%.1f s; %" PRIu64
                  " appends of %.2f MiB) "
                  "| raw write()+fdatasync %5.0f MB/s | ratio %4.0f%% (target >= 70%%) %s | disk: "
                  "%.0f vs %.0f MB/s = %.0f%%, cache: %.0f vs %.0f MB/s = %.0f%% | load %s\n",
                  (tag + " " + c.name + " b=" + std::to_string(per_call)).c_str(),
                  static_cast<double>(n) / s.seconds, mbs, s.seconds, s.tier.writes_issued,
                  static_cast<double>(avg_append) / kMiB, raw_mbs, 100 * ratio,
                  Verdict(ratio, 0.70), disk_mbs, raw_mbs, 100 * disk_mbs / raw_mbs, mbs, cache_mbs,
                  100 * mbs / cache_mbs, Load1().c_str());
      std::fflush(stdout);
    }
  }
  if (g_flags.sync) {
    // One inserter in sync mode waits for each of its Inserts to be synced, so the table's groups
    // are its Insert calls: the reference syncs after every group of that size. Each group costs
    // the table two fdatasyncs (data, then index).
    for (size_t per_call : {size_t{1}, size_t{32}}) {
      const uint64_t items = per_call == 1 ? std::max<uint64_t>(1, n / 8) : n;  // 1: slow
      const uint64_t raw_group = std::min<uint64_t>(per_call, group_items) * record;
      const double raw_mbs = static_cast<double>(items * record) /
                             RawWrite(dir, items * record, raw_group, false, true) / 1e6;
      const InsertStream s =
          TableInserts(dir, items, item_bytes, budget, Durability::kSync, per_call);
      const double mbs = static_cast<double>(items * item_bytes) / s.seconds / 1e6;
      const double ratio = mbs / raw_mbs;
      std::printf("%-24s table %6.0f items/s %5.0f MB/s (%" PRIu64 " items, %.1f s, %" PRIu64
                  " syncs) | raw write()+fdatasync per %s %5.0f MB/s | ratio %4.0f%% (target >= "
                  "70%%) %s | load %s\n",
                  (tag + " sync b=" + std::to_string(per_call)).c_str(),
                  static_cast<double>(items) / s.seconds, mbs, items, s.seconds, s.tier.syncs,
                  Size(raw_group).c_str(), raw_mbs, 100 * ratio, Verdict(ratio, 0.70),
                  Load1().c_str());
      std::fflush(stdout);
    }
  }
  RemoveDir(dir);
}

// --- Command line ----------------------------------------------------------------------------

constexpr char kUsage[] =
    "the SSD-tier workloads of ../shared/design/workloads.md, each against a raw-disk reference.\n"
    "usage: tier_bench [--toy] [--dir PATH] [--items N] [--item-bytes B] [--dram-mb M]\n"
    "                  [--seconds S] [--threads 1,2] [--sync] [t1|t2|t3|t4|tz|all]...\n"
    "(no workload: all; --item-bytes and --dram-mb are the flags item_bytes and dram_mb)";

[[noreturn]] void BadUsage(const std::string& message) {
  std::fprintf(stderr, "tier_bench: %s; see --help\n", message.c_str());
  std::exit(2);
}

// Parses the flags into g_flags and returns the positional arguments after argv[0].
std::vector<std::string> ParseFlags(int argc, char** argv) {
  // --item-bytes and --dram-mb (the documented spellings) name the flags item_bytes and dram_mb.
  std::vector<std::string> spelled(argv, argv + argc);
  for (std::string& a : spelled) {
    if (a == "--") break;
    const std::string name = a.substr(0, a.find('='));
    if (name == "--item-bytes" || name == "-item-bytes" || name == "--dram-mb" ||
        name == "-dram-mb") {
      a[name.rfind('-')] = '_';
    }
  }
  std::vector<char*> spelled_argv;
  for (std::string& a : spelled) spelled_argv.push_back(a.data());
  const std::vector<std::string> args =
      ParseCommandLine(argc, spelled_argv.data(), kUsage, "tier_bench.cc");

  g_flags.toy = absl::GetFlag(FLAGS_toy);
  g_flags.sync = absl::GetFlag(FLAGS_sync);
  g_flags.dir = absl::GetFlag(FLAGS_dir);
  auto positive = [](const std::optional<uint64_t>& v, const char* flag) -> uint64_t {
    if (v && *v == 0) BadUsage(std::string("--") + flag + " must be at least 1");
    return v.value_or(0);
  };
  g_flags.items = positive(absl::GetFlag(FLAGS_items), "items");
  g_flags.item_bytes = positive(absl::GetFlag(FLAGS_item_bytes), "item-bytes");
  g_flags.dram_mb = positive(absl::GetFlag(FLAGS_dram_mb), "dram-mb");
  if (const std::optional<double> s = absl::GetFlag(FLAGS_seconds)) {
    if (!(*s > 0) || !std::isfinite(*s)) BadUsage("--seconds must be a positive number of seconds");
    g_flags.seconds = *s;
  }
  g_flags.threads.clear();
  for (const std::string& t : absl::GetFlag(FLAGS_threads)) {
    int n = 0;
    if (!absl::SimpleAtoi(t, &n) || n < 1 || n > 64) {
      BadUsage("--threads takes thread counts 1-64, comma-separated, not '" + t + "'");
    }
    g_flags.threads.push_back(n);
  }
  if (g_flags.threads.empty()) BadUsage("--threads needs at least one thread count");
  return args;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) {
  using namespace strata::bench;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when the output goes to a file
  std::vector<std::string> which;
  for (const std::string& a : ParseFlags(argc, argv)) {
    if (a == "t1" || a == "t2" || a == "t3" || a == "t4" || a == "tz" || a == "all") {
      which.push_back(a);
    } else {
      BadUsage("unknown workload '" + a + "' (expected t1, t2, t3, t4, tz or all)");
    }
  }
  if (which.empty()) which.push_back("all");
  auto want = [&](const char* w) {
    for (const std::string& s : which)
      if (s == w || s == "all") return true;
    return false;
  };

  std::error_code ec;
  if (g_flags.dir.empty()) {
    g_base = std::string(STRATA_TIER_BENCH_DIR) + "/run-" + std::to_string(::getpid());
    fs::remove_all(g_base, ec);
    g_created_base = true;
  } else {
    g_base = g_flags.dir;
    g_created_base = !fs::exists(g_base);
  }
  fs::create_directories(g_base, ec);
  if (ec) Die("cannot create " + g_base + ": " + ec.message());
  std::atexit(Cleanup);
  std::printf("tier_bench: data under %s%s\n", g_base.c_str(),
              g_flags.toy ? " (toy run: figures are not meaningful)" : "");

  if (want("t1")) T1();
  if (want("t2")) T2();
  if (want("t3")) T3();
  if (want("t4")) T4();
  if (want("tz")) TZ();
  const Rss rss = ReadRss();
  std::printf("\npeak RSS: %.1f MiB (%s)\n", static_cast<double>(rss.hwm) / 1048576.0,
              LoadAverage().c_str());
  return 0;
}
