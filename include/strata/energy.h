// EnergyMeter: how much energy an interval of work cost, for the continual-learning profiler's
// "accuracy gain per unit cost" (docs/design.md, "Continual-learning runtime").
//
// Two sources, named in every reading:
//
//   "rapl"   Intel/AMD RAPL counters under /sys/class/powercap: the energy_uj of every
//            top-level package domain, summed. Those are the directories named
//            "<vendor>-rapl:<N>" (intel-rapl:0, amd-rapl:1; AMD Zen packages usually appear as
//            intel-rapl:N too). Not counted: the sub-domains intel-rapl:0:0 (cores, uncore,
//            dram), which the package already counts, and "psys", the platform domain that
//            contains the packages. A counter wraps at its max_energy_range_uj; Read handles
//            one wrap per domain between two reads of the meter (Start or Read): read it at
//            least once per wrap period, max_energy_range_uj / package power (262,143 J on most
//            Intel parts: about 43 minutes at 100 W). The SSD's own energy is not in RAPL.
//   "model"  when RAPL is not readable (no powercap directory, as in most VMs and containers,
//            or energy_uj readable by root only: the default since the CVE-2020-8694 fix of
//            November 2020, in Linux 5.10 and backported to the stable kernels):
//            joules = cpu_seconds * watts_per_busy_core + io_bytes * nanojoules_per_io_byte / 1e9,
//            with the constants of EnergyModel below.
//
// The source is chosen once, at construction. Lifecycle: construct (which also starts the
// interval) -> Start() to restart it at any time -> Read() any number of times.
// Thread-safe: every method may be called from any thread.
#ifndef STRATA_ENERGY_H_
#define STRATA_ENERGY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace strata {

// The energy model used when RAPL is not readable. A cost estimate for comparing runs on one
// machine, not a measurement: both constants are typical figures, and the CPU term charges the
// package's idle and uncore power to the busy cores.
struct EnergyModel {
  // Package power per fully busy core. Spec-sheet TDP divided by cores gives 4-7 W for all-core
  // loads of server parts (Xeon Platinum 8380: 270 W / 40 cores = 6.75 W; EPYC 7763:
  // 280 W / 64 cores = 4.4 W), and 7 W for a laptop part (Core i7-1165G7: 28 W / 4 cores);
  // a lightly threaded process runs its few busy cores at turbo clocks and carries the
  // package's fixed uncore power, which puts it higher (roughly 15-25 W for one busy desktop
  // core at turbo clocks).
  // 10 W sits between the two regimes.
  double watts_per_busy_core = 10.0;
  // SSD energy per byte read or written. NVMe drives draw roughly 5-8 W while streaming at
  // 2-3.5 GB/s (e.g. vendor specs of consumer PCIe 3/4 drives: ~6 W active at 3.5 GB/s);
  // 5 W at 2 GB/s = 2.5 nJ/B. Small random reads cost more per byte than streaming, so this
  // is a lower bound for 4 KiB records.
  double nanojoules_per_io_byte = 2.5;
};

struct EnergyOptions {
  // Where the powercap class lives; tests point this at a fake tree.
  std::string powercap_root = "/sys/class/powercap";
  // Use the model even when RAPL is readable (reproducible costs across machines).
  bool force_model = false;
  EnergyModel model;
};

struct EnergyReading {
  // Energy since Start: RAPL package domains summed (wraparound handled), or the model's estimate.
  double joules = 0;
  double seconds = 0;      // wall time since Start
  double cpu_seconds = 0;  // process CPU time (user + system, all threads) since Start
  uint64_t io_bytes = 0;   // bytes reported through AddIoBytes since Start
  std::string source;      // "rapl" or "model"
};

class EnergyMeter {
 public:
  // Looks for RAPL package domains under options.powercap_root and starts the interval. Never
  // fails: without readable domains (or with force_model) the meter uses the model.
  explicit EnergyMeter(EnergyOptions options = {});
  ~EnergyMeter();
  EnergyMeter(const EnergyMeter&) = delete;
  EnergyMeter& operator=(const EnergyMeter&) = delete;

  // "rapl" when at least one package domain was found and the energy_uj and max_energy_range_uj
  // of every one were readable at construction (and force_model is off); else "model".
  const std::string& source() const { return source_; }
  const EnergyOptions& options() const { return options_; }

  // (Re)starts the interval: later readings count from now; io bytes restart from 0.
  void Start();
  // Adds `bytes` of I/O to the interval (charged by the model; reported by both sources).
  void AddIoBytes(uint64_t bytes) { io_bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  // The interval so far. Does not block (reads a few sysfs files with RAPL). With RAPL, a
  // domain whose energy_uj cannot be read any more adds nothing for this reading.
  EnergyReading Read() const;

 private:
  // The interval's origin and, with RAPL, the domains and their accumulated energy, under one
  // mutex (energy_meter.cc).
  struct State;

  const EnergyOptions options_;
  const std::unique_ptr<State> state_;
  const std::string source_;
  // Written by AddIoBytes (any thread) and Start; read by Read. Relaxed: a plain counter.
  std::atomic<uint64_t> io_bytes_{0};
};

}  // namespace strata

#endif  // STRATA_ENERGY_H_
