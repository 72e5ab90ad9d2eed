// EnergyMeter over a fake powercap tree (RAPL: package domains summed, sub-domains and psys
// ignored, wraparound, unreadable counters) and over the CPU-time model.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "strata/energy.h"

namespace strata {
namespace {

namespace fs = std::filesystem;

// A powercap directory of this process under the test temp dir.
class FakePowercap {
 public:
  explicit FakePowercap(const std::string& name)
      : root_(absl::StrCat(::testing::TempDir(), "/", name, "_", ::getpid())) {
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~FakePowercap() { fs::remove_all(root_); }

  // A domain directory `name` with these counters (and a "name" file when `label` is given).
  void Domain(const std::string& name, uint64_t energy_uj, uint64_t max_uj,
              const std::string& label = "") {
    fs::create_directories(root_ / name);
    Set(name, energy_uj);
    Write(root_ / name / "max_energy_range_uj", std::to_string(max_uj));
    if (!label.empty()) Write(root_ / name / "name", label);
  }
  void Set(const std::string& name, uint64_t energy_uj) {
    Write(root_ / name / "energy_uj", std::to_string(energy_uj));
  }
  const fs::path& root() const { return root_; }

 private:
  static void Write(const fs::path& path, const std::string& line) {
    std::ofstream out(path, std::ios::trunc);
    out << line << "\n";
    ASSERT_TRUE(out.good()) << path;
  }
  fs::path root_;
};

EnergyOptions Options(const FakePowercap& pc) {
  EnergyOptions o;
  o.powercap_root = pc.root().string();
  return o;
}

TEST(EnergyMeterTest, SumsPackageDomainsOnly) {
  FakePowercap pc("powercap_sum");
  pc.Domain("intel-rapl:0", 1'000'000, 262'143'328'850, "package-0");
  pc.Domain("intel-rapl:1", 5'000'000, 262'143'328'850, "package-1");
  // Must be ignored: a sub-domain (linked at the top level too), the MMIO view of package 0,
  // the control type, and the platform domain that contains the packages.
  pc.Domain("intel-rapl:0:0", 0, 262'143'328'850, "core");
  pc.Domain("intel-rapl-mmio:0", 0, 262'143'328'850, "package-0");
  pc.Domain("intel-rapl", 0, 262'143'328'850);
  pc.Domain("intel-rapl:2", 0, 262'143'328'850, "psys");

  EnergyMeter meter(Options(pc));
  EXPECT_EQ(meter.source(), "rapl");
  EnergyReading r = meter.Read();
  EXPECT_EQ(r.source, "rapl");
  EXPECT_DOUBLE_EQ(r.joules, 0.0);

  pc.Set("intel-rapl:0", 3'000'000);      // +2 J
  pc.Set("intel-rapl:1", 5'500'000);      // +0.5 J
  pc.Set("intel-rapl:0:0", 900'000'000);  // ignored
  pc.Set("intel-rapl-mmio:0", 900'000'000);
  pc.Set("intel-rapl:2", 900'000'000);
  meter.AddIoBytes(4096);
  r = meter.Read();
  EXPECT_DOUBLE_EQ(r.joules, 2.5);
  EXPECT_EQ(r.io_bytes, 4096u);  // reported, but RAPL does not charge it
  EXPECT_GE(r.seconds, 0.0);

  // Start() restarts the interval from the counters' current values.
  meter.Start();
  EXPECT_DOUBLE_EQ(meter.Read().joules, 0.0);
  EXPECT_EQ(meter.Read().io_bytes, 0u);
  pc.Set("intel-rapl:1", 6'500'000);
  EXPECT_DOUBLE_EQ(meter.Read().joules, 1.0);
}

TEST(EnergyMeterTest, AmdStyleNamesCount) {
  FakePowercap pc("powercap_amd");
  pc.Domain("amd-rapl:0", 10, 1'000'000);  // no "name" file: counted
  EnergyMeter meter(Options(pc));
  ASSERT_EQ(meter.source(), "rapl");
  pc.Set("amd-rapl:0", 250'010);
  EXPECT_DOUBLE_EQ(meter.Read().joules, 0.25);
}

TEST(EnergyMeterTest, HandlesOneWrapPerReadAndAccumulatesAcrossReads) {
  FakePowercap pc("powercap_wrap");
  constexpr uint64_t kMax = 10'000'000;  // 10 J range
  pc.Domain("intel-rapl:0", 9'000'000, kMax, "package-0");
  EnergyMeter meter(Options(pc));
  ASSERT_EQ(meter.source(), "rapl");
  pc.Set("intel-rapl:0", 2'000'000);  // wrapped: 1 J to the top, then 2 J
  EXPECT_NEAR(meter.Read().joules, 3.0, 1e-9);
  pc.Set("intel-rapl:0", 8'000'000);  // +6 J
  EXPECT_NEAR(meter.Read().joules, 9.0, 1e-9);
  pc.Set("intel-rapl:0", 1'000'000);  // wrapped again: +2 J +1 J; 12 J in all, beyond one range
  EXPECT_NEAR(meter.Read().joules, 12.0, 1e-9);
}

TEST(EnergyMeterTest, UnreadableDomainFallsBackToTheModel) {
  FakePowercap pc("powercap_denied");
  pc.Domain("intel-rapl:0", 1000, 262'143'328'850, "package-0");
  pc.Domain("intel-rapl:1", 1000, 262'143'328'850, "package-1");
  // energy_uj is root-only on current kernels. Root reads it anyway, so make it unreadable by
  // replacing it with a directory, which no one can read as a file.
  fs::remove(pc.root() / "intel-rapl:1" / "energy_uj");
  fs::create_directories(pc.root() / "intel-rapl:1" / "energy_uj");
  EnergyMeter meter(Options(pc));
  EXPECT_EQ(meter.source(), "model");
  EXPECT_EQ(meter.Read().source, "model");
}

TEST(EnergyMeterTest, NoPowercapMeansModel) {
  EnergyOptions o;
  o.powercap_root = absl::StrCat(::testing::TempDir(), "/no_such_powercap_", ::getpid());
  EXPECT_EQ(EnergyMeter(o).source(), "model");
  FakePowercap empty("powercap_empty");
  EXPECT_EQ(EnergyMeter(Options(empty)).source(), "model");
}

TEST(EnergyMeterTest, ForceModelIgnoresRapl) {
  FakePowercap pc("powercap_forced");
  pc.Domain("intel-rapl:0", 0, 262'143'328'850, "package-0");
  EnergyOptions o = Options(pc);
  o.force_model = true;
  EnergyMeter meter(o);
  EXPECT_EQ(meter.source(), "model");
  pc.Set("intel-rapl:0", 1'000'000'000);  // 1 kJ that the model must not see
  EXPECT_LT(meter.Read().joules, 100.0);
}

// Burns CPU on this thread for about `seconds` of CPU time.
double BurnCpu(double seconds) {
  timespec ts{};
  auto cpu = [&ts] {
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  const double start = cpu();
  volatile double sink = 0;
  while (cpu() - start < seconds) {
    for (int i = 0; i < 10000; ++i) sink = sink + std::sqrt(static_cast<double>(i));
  }
  return sink;
}

TEST(EnergyMeterTest, ModelChargesCpuTimeAndIoBytes) {
  EnergyOptions o;
  o.force_model = true;
  o.model.watts_per_busy_core = 12.0;
  o.model.nanojoules_per_io_byte = 2.5;
  EnergyMeter meter(o);
  BurnCpu(0.2);
  // Two threads report I/O at once.
  std::thread a([&] {
    for (int i = 0; i < 1000; ++i) meter.AddIoBytes(1 << 20);
  });
  std::thread b([&] {
    for (int i = 0; i < 1000; ++i) meter.AddIoBytes(1 << 20);
  });
  a.join();
  b.join();
  const EnergyReading r = meter.Read();
  EXPECT_EQ(r.source, "model");
  EXPECT_EQ(r.io_bytes, uint64_t{2000} << 20);
  // At least the 0.2 s burnt on this thread; the process's other threads are idle.
  EXPECT_GE(r.cpu_seconds, 0.2);
  EXPECT_LT(r.cpu_seconds, 0.6);
  EXPECT_GE(r.seconds, r.cpu_seconds * 0.5);               // wall time passed too
  const double io_joules = (2000.0 * (1 << 20)) * 2.5e-9;  // ~5.2 J
  EXPECT_NEAR(r.joules, r.cpu_seconds * 12.0 + io_joules, 1e-9);
  EXPECT_NEAR(r.joules - io_joules, 0.2 * 12.0, 0.4 * 12.0);  // ≈ 2.4 J of CPU

  // Start() restarts both terms.
  meter.Start();
  const EnergyReading z = meter.Read();
  EXPECT_EQ(z.io_bytes, 0u);
  EXPECT_LT(z.cpu_seconds, 0.05);
  EXPECT_LT(z.joules, 0.05 * 12.0);
}

}  // namespace
}  // namespace strata
