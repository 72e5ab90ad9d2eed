// EnergyMeter (include/strata/energy.h): RAPL package counters from sysfs, or the CPU-time and
// I/O-bytes model.
//
// Powercap layout read here (Linux Documentation/power/powercap/powercap.rst):
//
//   /sys/class/powercap/
//     intel-rapl                 the control type: no counters, skipped (no ":N")
//     intel-rapl:0/              package 0   name = "package-0"   <- summed
//       energy_uj                 cumulative µJ, wraps to 0 after max_energy_range_uj
//       max_energy_range_uj
//       intel-rapl:0:0/          a sub-domain (core, uncore, dram): inside the package, skipped
//     intel-rapl:0:0             the same sub-domain, also linked at the top: skipped (two ':')
//     intel-rapl:1/              package 1, or "psys" on laptops (the whole platform, which
//                                contains the packages: skipped so nothing is counted twice)
//     intel-rapl-mmio:0          the package again through MMIO: skipped (not "-rapl:N")
#include <time.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "strata/energy.h"
#include "util/mutex.h"

namespace strata {
namespace {

// Whether `name` is a top-level RAPL domain: "<prefix>-rapl:<digits>", e.g. intel-rapl:0.
bool IsPackageDomainName(const std::string& name) {
  const size_t colon = name.find(':');
  if (colon == std::string::npos || colon + 1 == name.size()) return false;
  if (!absl::EndsWith(absl::string_view(name).substr(0, colon), "-rapl")) return false;
  return std::all_of(name.begin() + static_cast<ptrdiff_t>(colon) + 1, name.end(),
                     [](unsigned char c) { return std::isdigit(c); });
}

// The first line of a small sysfs file, trimmed; nullopt if it cannot be read (permission
// denied, missing).
std::optional<std::string> ReadLine(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return std::string(absl::StripAsciiWhitespace(line));
}

std::optional<uint64_t> ReadU64(const std::filesystem::path& path) {
  std::optional<std::string> line = ReadLine(path);
  uint64_t v = 0;
  if (!line || !absl::SimpleAtoi(*line, &v)) return std::nullopt;
  return v;
}

double ProcessCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

struct EnergyMeter::State {
  struct Domain {
    std::filesystem::path energy_file;
    uint64_t max_range_uj = 0;
    // Protected by mu.
    uint64_t last_uj = 0;     // the counter at the previous Start or Read
    uint64_t counted_uj = 0;  // energy since Start, wraps unfolded
  };

  // Finds the package domains; sets `*readable` when there is at least one and each could be
  // read.
  static std::vector<Domain> Scan(const std::string& root, bool* readable) {
    *readable = false;
    std::vector<Domain> domains;
    std::error_code ec;
    std::filesystem::directory_iterator it(root, ec);
    if (ec) return domains;
    bool all = true;
    for (const auto& entry : it) {
      const std::string name = entry.path().filename().string();
      if (!IsPackageDomainName(name)) continue;
      if (ReadLine(entry.path() / "name") == "psys") continue;
      Domain d;
      d.energy_file = entry.path() / "energy_uj";
      const std::optional<uint64_t> max = ReadU64(entry.path() / "max_energy_range_uj");
      const std::optional<uint64_t> now = ReadU64(d.energy_file);
      if (!max || !now || *max == 0) {
        all = false;
        continue;
      }
      d.max_range_uj = *max;
      d.last_uj = *now;
      domains.push_back(std::move(d));
    }
    *readable = all && !domains.empty();
    return domains;
  }

  // The energy since the previous call, in µJ, assuming at most one wrap in between.
  static void Advance(Domain* d) {
    const std::optional<uint64_t> now = ReadU64(d->energy_file);
    if (!now) return;  // unreadable now: nothing counted this time
    uint64_t delta;
    if (*now >= d->last_uj) {
      delta = *now - d->last_uj;
    } else {  // wrapped past max_energy_range_uj back to 0
      delta = d->max_range_uj - std::min(d->last_uj, d->max_range_uj) + *now;
    }
    d->counted_uj += delta;
    d->last_uj = *now;
  }

  mutable internal::Mutex mu;
  // Protected by mu.
  std::vector<Domain> domains ABSL_GUARDED_BY(mu);  // empty: the model
  std::chrono::steady_clock::time_point start_time ABSL_GUARDED_BY(mu);
  double start_cpu ABSL_GUARDED_BY(mu) = 0;
};

EnergyMeter::EnergyMeter(EnergyOptions options)
    : options_(std::move(options)),
      state_(std::make_unique<State>()),
      source_([this] {  // the domains are kept only when all of them were readable
        if (options_.force_model) return std::string("model");
        bool readable = false;
        std::vector<State::Domain> domains = State::Scan(options_.powercap_root, &readable);
        if (!readable) return std::string("model");
        internal::MutexLock l(&state_->mu);
        state_->domains = std::move(domains);
        return std::string("rapl");
      }()) {
  Start();
}

EnergyMeter::~EnergyMeter() = default;

void EnergyMeter::Start() {
  internal::MutexLock l(&state_->mu);
  for (State::Domain& d : state_->domains) {
    State::Advance(&d);  // sets last_uj to the counter now
    d.counted_uj = 0;
  }
  state_->start_time = std::chrono::steady_clock::now();
  state_->start_cpu = ProcessCpuSeconds();
  io_bytes_.store(0, std::memory_order_relaxed);
}

EnergyReading EnergyMeter::Read() const {
  EnergyReading r;
  r.source = source_;
  internal::MutexLock l(&state_->mu);
  r.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - state_->start_time).count();
  r.cpu_seconds = std::max(0.0, ProcessCpuSeconds() - state_->start_cpu);
  r.io_bytes = io_bytes_.load(std::memory_order_relaxed);
  if (state_->domains.empty()) {
    const EnergyModel& m = options_.model;
    r.joules = r.cpu_seconds * m.watts_per_busy_core +
               static_cast<double>(r.io_bytes) * m.nanojoules_per_io_byte * 1e-9;
  } else {
    uint64_t uj = 0;
    for (State::Domain& d : state_->domains) {
      State::Advance(&d);
      uj += d.counted_uj;
    }
    r.joules = static_cast<double>(uj) * 1e-6;
  }
  return r;
}

}  // namespace strata
