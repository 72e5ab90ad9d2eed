// checkpoint_bench: how long a checkpoint makes other calls wait (docs/benchmarks.md, "C1").
//
// A table with storage holds N items (default 1M of 8 bytes; a Prioritized sampler and a FIFO
// remover, both with states a checkpoint saves). One thread samples batches of 64 and one inserts
// batches of 16 (each after a short pause, so that it does not fill the write queue), both
// recording every call's latency, first for a few seconds without checkpoints, then while the main
// thread checkpoints K times back to back. Prints per phase: the worst and p99.9 latency of each
// call kind and the sampling rate; per checkpoint its duration. Targets (issue 13): no call
// waits longer than 10 ms because of a checkpoint; sampling during checkpoints >= 80% of without.
//
// Usage: checkpoint_bench [--items N] [--checkpoints K] [--seconds S] [--toy]
#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "command_line.h"
#include "harness.h"
#include "strata/table.h"

ABSL_FLAG(std::optional<uint64_t>, items, std::nullopt, "items in the table; unset: 1M, --toy 20K");
ABSL_FLAG(std::optional<uint32_t>, checkpoints, std::nullopt,
          "checkpoints taken back to back under load; unset: 5, --toy 2");
ABSL_FLAG(std::optional<double>, seconds, std::nullopt,
          "seconds of load without checkpoints; unset: 3, --toy 0.2");
ABSL_FLAG(bool, toy, false, "a small table and short phases, for CI: its figures mean nothing");

namespace strata {
namespace {

using bench::NowSeconds;

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

struct Flags {
  uint64_t items = 1'000'000;
  uint32_t checkpoints = 5;
  double seconds = 3;
  bool toy = false;
};

struct Latencies {
  std::vector<double> seconds;
  double Quantile(double q) const {
    if (seconds.empty()) return 0;
    std::vector<double> s = seconds;
    std::sort(s.begin(), s.end());
    return s[std::min(s.size() - 1, static_cast<size_t>(q * static_cast<double>(s.size() - 1)))];
  }
};

struct Phase {
  Latencies sample, insert;
  double wall = 0;
};

// Runs the sampler and inserter threads until `*stop`; returns their latencies.
Phase RunLoad(Table& table, const std::atomic<bool>* stop) {
  Phase p;
  const double start = NowSeconds();
  std::thread sampler([&] {
    SampleBatch out;
    while (!stop->load()) {
      const double t0 = NowSeconds();
      Check(table.Sample(SampleOptions{.batch_size = 64}, &out), "Sample");
      p.sample.seconds.push_back(NowSeconds() - t0);
    }
  });
  std::thread inserter([&] {
    std::vector<int64_t> obs(16);
    std::vector<Key> keys;
    ItemBatch b;
    uint64_t i = 0;
    while (!stop->load()) {
      for (int64_t& v : obs) v = static_cast<int64_t>(i++);
      b.Clear();
      b.Add("obs", DType::kI64, {16}, obs.data());
      keys.clear();
      const double t0 = NowSeconds();
      Check(table.Insert(b, &keys), "Insert");
      p.insert.seconds.push_back(NowSeconds() - t0);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  sampler.join();
  inserter.join();
  p.wall = NowSeconds() - start;
  return p;
}

void Print(const char* name, const Phase& p) {
  std::printf(
      "%-22s sample: %7.0f calls/s, worst %7.2f ms, p99.9 %6.2f ms | insert: worst %7.2f ms, "
      "p99.9 %6.2f ms\n",
      name, static_cast<double>(p.sample.seconds.size()) / p.wall, p.sample.Quantile(1.0) * 1e3,
      p.sample.Quantile(0.999) * 1e3, p.insert.Quantile(1.0) * 1e3, p.insert.Quantile(0.999) * 1e3);
}

[[noreturn]] void BadUsage(const std::string& message) {
  std::fprintf(stderr, "checkpoint_bench: %s; see --help\n", message.c_str());
  std::exit(2);
}

// Parses the flags; --toy sets the defaults of the others. Debian's absl (20220623) ends --help
// with exit code 1, so the usage flags (--help, --helpfull, ...) are handled here: they print and
// exit 0.
Flags ParseFlags(int argc, char** argv) {
  const std::vector<std::string> args = bench::ParseCommandLine(
      argc, argv,
      "how long a checkpoint makes sampling and inserting wait (C1 in docs/benchmarks.md).\n"
      "usage: checkpoint_bench [--items N] [--checkpoints K] [--seconds S] [--toy]",
      "checkpoint_bench.cc");
  if (!args.empty()) BadUsage("unexpected argument '" + args[0] + "'");
  Flags f;
  if (absl::GetFlag(FLAGS_toy)) {
    f.toy = true;
    f.items = 20'000;
    f.checkpoints = 2;
    f.seconds = 0.2;
  }
  f.items = absl::GetFlag(FLAGS_items).value_or(f.items);
  f.checkpoints = absl::GetFlag(FLAGS_checkpoints).value_or(f.checkpoints);
  f.seconds = absl::GetFlag(FLAGS_seconds).value_or(f.seconds);
  if (f.items == 0) BadUsage("--items must be at least 1");
  if (f.checkpoints == 0) BadUsage("--checkpoints must be at least 1");
  if (!(f.seconds > 0) || !std::isfinite(f.seconds)) {
    BadUsage("--seconds must be a positive number of seconds");
  }
  return f;
}

int Main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("strata-checkpoint-bench-" + std::to_string(getpid())))
                              .string();
  std::filesystem::remove_all(dir);
  auto schema = Schema::Builder().Fixed("obs", DType::kI64, {}).Build();
  Check(schema.status(), "schema");
  TableOptions o{.name = "c1", .schema = *schema, .max_items = f.items};
  o.sampler = Prioritized(0.6, 0.4);
  o.remover = Fifo();
  o.storage_dir = dir;
  o.dram_budget_bytes = f.items * 8;  // everything stays in DRAM: the checkpoint alone is timed
  o.durability = Durability::kFlush;  // kNone tables do not checkpoint
  {
    auto created = Table::Create(o);
    Check(created.status(), "Table::Create");
    Table& table = **created;
    std::vector<int64_t> obs(4096);
    std::vector<double> priorities(obs.size());
    std::vector<Key> keys;
    ItemBatch b;
    for (uint64_t done = 0; done < f.items;) {
      const size_t m = std::min<uint64_t>(obs.size(), f.items - done);
      for (size_t k = 0; k < m; ++k) {
        obs[k] = static_cast<int64_t>(done + k);
        priorities[k] = 0.1 + static_cast<double>((done + k) % 97);
      }
      b.Clear();
      b.Add("obs", DType::kI64, {static_cast<int64_t>(m)}, obs.data());
      b.set_priorities(absl::MakeConstSpan(priorities.data(), m));
      keys.clear();
      Check(table.Insert(b, &keys), "Insert");
      done += m;
    }
    Check(table.Checkpoint(), "Checkpoint");
    std::printf("C1: %" PRIu64
                " items of 8 bytes, Prioritized sampler + FIFO remover; sampler "
                "(batch 64) and inserter (batch 16) threads\n",
                f.items);
    std::atomic<bool> stop{false};
    Phase quiet;
    {
      std::thread load([&] { quiet = RunLoad(table, &stop); });
      std::this_thread::sleep_for(std::chrono::duration<double>(f.seconds));
      stop = true;
      load.join();
    }
    stop = false;
    Phase busy;
    std::vector<double> durations;
    std::vector<double> holds;  // TierInfo::checkpoint_max_lock_us of each
    {
      std::thread load([&] { busy = RunLoad(table, &stop); });
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      for (uint32_t k = 0; k < f.checkpoints; ++k) {
        const double t0 = NowSeconds();
        Check(table.Checkpoint(), "Checkpoint");
        durations.push_back(NowSeconds() - t0);
        holds.push_back(table.info().tier.checkpoint_max_lock_us);
      }
      stop = true;
      load.join();
    }
    Print("without checkpoints", quiet);
    Print("during checkpoints", busy);
    std::printf("checkpoint durations (ms):");
    for (double d : durations) std::printf(" %.1f", d * 1e3);
    std::printf("\nlongest time each held the table lock (ms):");
    for (double h : holds) std::printf(" %.2f", h / 1e3);
    std::printf("\nsampling during checkpoints: %.0f%% of without\n",
                100.0 * (static_cast<double>(busy.sample.seconds.size()) / busy.wall) /
                    (static_cast<double>(quiet.sample.seconds.size()) / quiet.wall));
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace strata

int main(int argc, char** argv) { return strata::Main(argc, argv); }
