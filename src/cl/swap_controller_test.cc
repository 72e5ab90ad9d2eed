// The swap-ratio controller: its policy over synthetic measurements (deterministic), option
// checks, the ticking thread, and one integration run on a resident-mode table whose storage is
// slowed down by the fault-injecting Env.
#include "strata/swap_controller.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cl/swap_ratio_policy.h"
#include "env/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "strata/table.h"
#include "util/random.h"

namespace strata {
namespace {

using internal::SwapRatioPolicy;
using internal::SwapTickInput;
using ::testing::HasSubstr;

SwapControllerOptions Resolved(double target = 1.0, uint32_t base = 1) {
  SwapControllerOptions o;
  o.target_ratio = target;
  o.base_interval = base;
  return o;
}

// A tick in which `skipped` of 100 requested swaps were skipped and `reads` reads took
// `latency_us` each.
SwapTickInput Tick(uint64_t skipped, uint64_t reads = 100, double latency_us = 20) {
  return SwapTickInput{.requested = 100,
                       .swapped = 100 - skipped,
                       .skipped = skipped,
                       .reads = reads,
                       .latency_total_us = static_cast<double>(reads) * latency_us,
                       .seconds = 0.2};
}
const SwapTickInput kCalm = Tick(0);
const SwapTickInput kSkipping = Tick(50);

// Records a decision; checks that its effective rate moved the way its action says.
struct PolicyRun {
  explicit PolicyRun(const SwapControllerOptions& o) : options(o), policy(o) {}
  SwapDecision Step(const SwapTickInput& in) {
    const double before = policy.rate();
    SwapDecision d = policy.Decide(in, absl::Now());
    const double after = policy.rate();
    EXPECT_EQ(d.ratio, policy.ratio());
    EXPECT_EQ(d.interval, policy.interval());
    if (d.action == "lengthen interval" || d.action == "lower ratio") {
      EXPECT_TRUE(d.contended) << d.ToString();
      EXPECT_LT(after, before) << d.ToString();
    } else if (d.action == "recover ratio" || d.action == "shorten interval") {
      EXPECT_FALSE(d.contended) << d.ToString();
      EXPECT_GT(after, before) << d.ToString();
    } else {
      EXPECT_THAT(d.action, HasSubstr("hold")) << d.ToString();
      EXPECT_EQ(after, before) << d.ToString();
    }
    // The settings stay in range, and a low ratio always has the long interval.
    EXPECT_GE(policy.ratio(), options.min_ratio);
    EXPECT_LE(policy.ratio(), options.target_ratio);
    EXPECT_GE(policy.interval(), options.base_interval);
    EXPECT_LE(policy.interval(), options.low_ratio_interval);
    if (policy.ratio() < std::min(options.low_ratio, options.target_ratio)) {
      EXPECT_EQ(policy.interval(), options.low_ratio_interval) << d.ToString();
    }
    decisions.push_back(d);
    return d;
  }
  std::vector<std::string> Actions(size_t from = 0) const {
    std::vector<std::string> a;
    for (size_t i = from; i < decisions.size(); ++i) a.push_back(decisions[i].action);
    return a;
  }
  SwapControllerOptions options;
  SwapRatioPolicy policy;
  std::vector<SwapDecision> decisions;
};

TEST(SwapRatioPolicyTest, HoldsTheTargetWhileCalm) {
  PolicyRun run(Resolved());
  for (int i = 0; i < 10; ++i) {
    const SwapDecision d = run.Step(kCalm);
    EXPECT_FALSE(d.contended);
    EXPECT_EQ(d.action, "hold");
    EXPECT_EQ(d.tick, static_cast<uint64_t>(i + 1));
  }
  EXPECT_EQ(run.policy.ratio(), 1.0);
  EXPECT_EQ(run.policy.interval(), 1u);
}

TEST(SwapRatioPolicyTest, LengthensTheIntervalThenLowersTheRatioDownToTheMinimum) {
  PolicyRun run(Resolved());
  for (int i = 0; i < 12; ++i) run.Step(kSkipping);
  EXPECT_THAT(run.Actions(), ::testing::ElementsAre(
                                 "lengthen interval", "lengthen interval",     // 1 -> 2 -> 4
                                 "lower ratio", "lower ratio", "lower ratio",  // .5 .25 .125
                                 "lower ratio", "lower ratio", "lower ratio",  // .06 .03 .016
                                 "lower ratio",                                // 0.01
                                 "hold (at minimum)", "hold (at minimum)", "hold (at minimum)"));
  const std::vector<SwapDecision>& d = run.decisions;
  EXPECT_EQ(d[0].interval, 2u);
  EXPECT_EQ(d[1].interval, 4u);
  EXPECT_EQ(d[2].ratio, 0.5);
  EXPECT_EQ(d[2].interval, 4u);
  EXPECT_EQ(d[3].ratio, 0.25);
  EXPECT_EQ(d[3].interval, 4u);
  EXPECT_EQ(d[4].ratio, 0.125);  // below low_ratio: the interval is held at 5
  EXPECT_EQ(d[4].interval, 5u);
  EXPECT_EQ(d[8].ratio, 0.01);
  EXPECT_THAT(d[0].reason, HasSubstr("skipped 50 of 100"));
}

TEST(SwapRatioPolicyTest, RecoversAdditivelyAfterCalmTicksThenShortensTheInterval) {
  SwapControllerOptions o = Resolved();
  o.ratio_step = 0.1;
  PolicyRun run(o);
  for (int i = 0; i < 4; ++i) run.Step(kSkipping);  // interval 4, ratio 0.25
  ASSERT_EQ(run.policy.ratio(), 0.25);
  ASSERT_EQ(run.policy.interval(), 4u);
  run.Step(kSkipping);  // 0.125, interval 5
  ASSERT_EQ(run.policy.interval(), 5u);
  const size_t from = run.decisions.size();
  while (!(run.policy.ratio() == 1.0 && run.policy.interval() == 1u)) {
    run.Step(kCalm);
    ASSERT_LT(run.decisions.size(), from + 100u) << "no recovery";
  }
  std::vector<std::string> want;
  // 0.125 -> 0.225 (crosses low_ratio: interval 5 -> 4) -> ... -> 0.925 -> 1.0: 9 steps.
  for (int i = 0; i < 9; ++i) {
    want.push_back("hold (calm 1/2)");
    want.push_back("recover ratio");
  }
  for (int i = 0; i < 3; ++i) {  // 4 -> 3 -> 2 -> 1
    want.push_back("hold (calm 1/2)");
    want.push_back("shorten interval");
  }
  EXPECT_EQ(run.Actions(from), want);
  EXPECT_EQ(run.decisions[from + 1].interval, 4u);  // 0.225 >= low_ratio: back to max_interval
  EXPECT_NEAR(run.decisions[from + 1].ratio, 0.225, 1e-12);
  EXPECT_EQ(run.Step(kCalm).action, "hold");
}

TEST(SwapRatioPolicyTest, HoldsTheLowRatioIntervalWhileRecoveringBelowLowRatio) {
  PolicyRun run(Resolved());
  for (int i = 0; i < 12; ++i) run.Step(kSkipping);  // ratio 0.01, interval 5
  const size_t from = run.decisions.size();
  for (int i = 0; i < 8; ++i) run.Step(kCalm);  // 4 steps of 0.05: 0.06, 0.11, 0.16, 0.21
  for (size_t i = from; i < run.decisions.size(); ++i) {
    const SwapDecision& d = run.decisions[i];
    EXPECT_EQ(d.interval, d.ratio < 0.2 ? 5u : 4u) << d.ToString();
  }
  EXPECT_NEAR(run.policy.ratio(), 0.21, 1e-12);
  EXPECT_EQ(run.policy.interval(), 4u);
}

TEST(SwapRatioPolicyTest, ContentionResetsTheCalmCount) {
  SwapControllerOptions o = Resolved();
  o.calm_ticks = 3;
  PolicyRun run(o);
  run.Step(kSkipping);  // interval 2
  run.Step(kCalm);
  run.Step(kCalm);
  run.Step(kSkipping);  // interval 4; the two calm ticks are forgotten
  run.Step(kCalm);
  run.Step(kCalm);
  EXPECT_EQ(run.policy.interval(), 4u);
  EXPECT_EQ(run.Step(kCalm).action, "shorten interval");
  EXPECT_EQ(run.policy.interval(), 3u);
}

TEST(SwapRatioPolicyTest, SkipFractionIsAStrictThreshold) {
  PolicyRun run(Resolved());
  EXPECT_FALSE(run.Step(Tick(5)).contended);  // 5% of 100: not more than skip_fraction
  EXPECT_TRUE(run.Step(Tick(6)).contended);
  // No request in the tick: nothing to judge by skips.
  EXPECT_FALSE(run.Step(SwapTickInput{.reads = 100, .latency_total_us = 2000}).contended);
}

TEST(SwapRatioPolicyTest, LearnsTheLatencyBaselineAndJudgesByIt) {
  PolicyRun run(Resolved());
  SwapDecision d = run.Step(Tick(0, 100, 40));
  EXPECT_EQ(d.baseline_us, 0);  // nothing to judge against yet
  EXPECT_EQ(run.policy.baseline_us(), 40);
  run.Step(Tick(0, 100, 20));  // the lowest calm mean
  EXPECT_EQ(run.policy.baseline_us(), 20);
  d = run.Step(Tick(0, 100, 59));  // < 3 x 20
  EXPECT_FALSE(d.contended);
  EXPECT_EQ(d.baseline_us, 20);
  EXPECT_DOUBLE_EQ(d.mean_read_latency_us, 59);
  // Too few reads to say anything, however slow.
  EXPECT_FALSE(run.Step(Tick(0, 15, 5000)).contended);
  d = run.Step(Tick(0, 16, 5000));
  EXPECT_TRUE(d.contended);
  EXPECT_EQ(d.action, "lengthen interval");
  EXPECT_THAT(d.reason, HasSubstr("latency 5000.0 us > 3 x baseline 20.0 us"));
  EXPECT_EQ(run.policy.baseline_us(), 20);  // contended ticks teach nothing
}

TEST(SwapRatioPolicyTest, AGivenLatencyTargetIsNeverRelearned) {
  SwapControllerOptions o = Resolved();
  o.latency_target_us = 100;
  PolicyRun run(o);
  EXPECT_TRUE(run.Step(Tick(0, 100, 301)).contended);  // from the first tick
  EXPECT_FALSE(run.Step(Tick(0, 100, 5)).contended);
  EXPECT_EQ(run.policy.baseline_us(), 100);
  EXPECT_FALSE(run.Step(Tick(0, 100, 299)).contended);
}

TEST(SwapRatioPolicyTest, ATargetBelowLowRatioIsNotHeldAtTheLowRatioInterval) {
  SwapControllerOptions o = Resolved(/*target=*/0.1, /*base=*/1);
  PolicyRun run(o);
  run.Step(kSkipping);
  run.Step(kSkipping);
  EXPECT_EQ(run.policy.interval(), 4u);
  run.Step(kSkipping);
  EXPECT_EQ(run.policy.ratio(), 0.05);
  EXPECT_EQ(run.policy.interval(), 5u);
  for (int i = 0; i < 10; ++i) run.Step(kCalm);
  EXPECT_EQ(run.policy.ratio(), 0.1);
  EXPECT_EQ(run.policy.interval(), 1u);
}

TEST(SwapRatioPolicyTest, RandomMeasurementsKeepEveryStepMonotone) {
  internal::Rng rng(7);
  for (uint32_t base : {1u, 2u, 4u}) {
    SwapControllerOptions o = Resolved(0.8, base);
    o.calm_ticks = 1 + base % 2;
    PolicyRun run(o);
    for (int i = 0; i < 2000; ++i) {
      const bool contended = rng.Uniform01() < 0.4;
      run.Step(contended ? Tick(10 + rng.UniformInt(90)) : Tick(rng.UniformInt(5)));
    }
    // Both ends were reached.
    bool at_min = false;
    bool at_target = false;
    for (const SwapDecision& d : run.decisions) {
      at_min |= d.action == "hold (at minimum)";
      at_target |= d.action == "hold";
    }
    EXPECT_TRUE(at_min || at_target);
  }
}

TEST(SwapRatioPolicyTest, ToStringNamesInputsAndAction) {
  PolicyRun run(Resolved());
  const std::string s = run.Step(kSkipping).ToString();
  EXPECT_THAT(s, HasSubstr("tick 1"));
  EXPECT_THAT(s, HasSubstr("requested 100"));
  EXPECT_THAT(s, HasSubstr("skipped 50"));
  EXPECT_THAT(s, HasSubstr("lengthen interval"));
  EXPECT_THAT(s, HasSubstr("interval 2"));
}

TEST(SwapRatioPolicyTest, OptionsAreValidated) {
  EXPECT_TRUE(internal::ValidateSwapControllerOptions(Resolved()).ok());
  auto error = [](auto change) {
    SwapControllerOptions o = Resolved();
    change(o);
    absl::Status s = internal::ValidateSwapControllerOptions(o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    return std::string(s.message());
  };
  EXPECT_THAT(error([](auto& o) { o.target_ratio = 1.5; }), HasSubstr("target_ratio"));
  EXPECT_THAT(error([](auto& o) { o.target_ratio = 0.001; }), HasSubstr("[min_ratio, 1]"));
  EXPECT_THAT(error([](auto& o) { o.min_ratio = 0; }), HasSubstr("min_ratio"));
  EXPECT_THAT(error([](auto& o) { o.low_ratio = std::nan(""); }), HasSubstr("low_ratio"));
  EXPECT_THAT(error([](auto& o) { o.base_interval = 0; }), HasSubstr("base_interval"));
  EXPECT_THAT(error([](auto& o) { o.base_interval = 8; }), HasSubstr("max_interval"));
  EXPECT_THAT(error([](auto& o) { o.low_ratio_interval = 3; }), HasSubstr("low_ratio_interval"));
  EXPECT_THAT(error([](auto& o) { o.ratio_step = 0; }), HasSubstr("ratio_step"));
  EXPECT_THAT(error([](auto& o) { o.calm_ticks = 0; }), HasSubstr("calm_ticks"));
  EXPECT_THAT(error([](auto& o) { o.skip_fraction = 1; }), HasSubstr("skip_fraction"));
  EXPECT_THAT(error([](auto& o) { o.latency_factor = 0.5; }), HasSubstr("latency_factor"));
  EXPECT_THAT(error([](auto& o) { o.latency_target_us = -1; }), HasSubstr("latency_target_us"));
  EXPECT_THAT(error([](auto& o) { o.period = absl::ZeroDuration(); }), HasSubstr("period"));
}

// ---- SwapController on tables ----

constexpr int kDim = 16;

Schema ItemSchema() { return *Schema::Builder().Fixed("obs", DType::kF32, {kDim}).Build(); }

std::string TempPath(const std::string& name) {
  return absl::StrCat(::testing::TempDir(), "/", name, "_", ::getpid());
}

// A resident-mode table in `dir` holding `items` items, `dram_items` of them in DRAM.
TableOptions Resident(Env* env, const std::string& dir, uint64_t dram_items) {
  TableOptions o;
  o.name = "em";
  o.schema = ItemSchema();
  o.max_items = 100'000;
  o.storage_dir = dir;
  o.env = env;
  o.dram_budget_bytes = dram_items * o.schema.fixed_row_bytes();
  o.tier_sampling = TierSampling::kResident;
  o.swap_ratio = 1.0;
  o.swap_interval = 1;
  return o;
}

std::unique_ptr<Table> Filled(TableOptions o, int items) {
  auto t = Table::Create(std::move(o));
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return nullptr;
  std::vector<float> obs(static_cast<size_t>(items) * kDim);
  for (size_t i = 0; i < obs.size(); ++i) obs[i] = static_cast<float>(i);
  ItemBatch b;
  b.Add("obs", DType::kF32, {items, kDim}, obs.data());
  std::vector<Key> keys;
  EXPECT_TRUE((*t)->Insert(b, &keys).ok());
  EXPECT_TRUE((*t)->Checkpoint().ok());  // every item written: all of them can be swapped in
  return std::move(t).value();
}

class SwapControllerTest : public ::testing::Test {
 protected:
  void SetUp() override { mem_ = NewMemEnv(); }
  std::unique_ptr<Env> mem_;
};

TEST_F(SwapControllerTest, CreateChecksTheTableAndResolvesDefaults) {
  EXPECT_EQ(SwapController::Create(nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  TableOptions dram;
  dram.schema = ItemSchema();
  dram.max_items = 10;
  auto plain = Table::Create(dram);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(SwapController::Create(plain->get()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  TableOptions exact = Resident(mem_.get(), "/exact", 10);
  exact.tier_sampling = TierSampling::kExact;
  auto e = Filled(exact, 50);
  EXPECT_EQ(SwapController::Create(e.get()).status().code(), absl::StatusCode::kFailedPrecondition);

  TableOptions o = Resident(mem_.get(), "/resident", 10);
  o.swap_ratio = 0.5;
  o.swap_interval = 2;
  auto t = Filled(o, 50);
  auto c = SwapController::Create(t.get());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->options().target_ratio, 0.5);
  EXPECT_EQ((*c)->options().base_interval, 2u);
  EXPECT_EQ((*c)->ratio(), 0.5);
  EXPECT_EQ((*c)->interval(), 2u);
  SwapControllerOptions bad;
  bad.ratio_step = -1;
  EXPECT_THAT(SwapController::Create(t.get(), bad).status().message(), HasSubstr("ratio_step"));
  // Explicit settings are applied to the table at once.
  SwapControllerOptions explicit_target;
  explicit_target.target_ratio = 0.25;
  explicit_target.base_interval = 3;
  c = SwapController::Create(t.get(), explicit_target);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(t->info().tier.swap_ratio, 0.25);
  EXPECT_EQ(t->info().tier.swap_interval, 3u);
}

TEST_F(SwapControllerTest, TickRecordsMeasurementsAndTheThreadTicks) {
  auto t = Filled(Resident(mem_.get(), "/ticks", 20), 200);
  SwapControllerOptions o;
  o.period = absl::Milliseconds(5);
  auto c = SwapController::Create(t.get(), o);
  ASSERT_TRUE(c.ok()) << c.status();
  SampleBatch out;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(t->Sample(SampleOptions{.batch_size = 4}, &out).ok());
  ASSERT_TRUE((*c)->Tick().ok());
  std::vector<SwapDecision> d = (*c)->decisions();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].tick, 1u);
  EXPECT_EQ(d[0].requested, 40u);  // ratio 1, batches of 4
  // Skips are counted by Sample (unpaced here, so the swapper may fall behind): the tick saw
  // exactly the table's counters, and judged by them.
  const TierInfo info = t->info().tier;
  EXPECT_EQ(d[0].skipped, info.swaps_skipped);
  EXPECT_LE(d[0].swapped, info.swaps);  // later swaps may have finished since
  EXPECT_LE(d[0].swapped + d[0].skipped, d[0].requested);
  EXPECT_EQ(d[0].contended, d[0].skipped > 2) << d[0].ToString();
  EXPECT_EQ(d[0].action, d[0].contended ? "lengthen interval" : "hold");

  // The thread ticks while readers look at the decisions.
  (*c)->Start();
  (*c)->Start();  // no-op
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      for (const SwapDecision& x : (*c)->decisions()) EXPECT_GE(x.tick, 1u);
      EXPECT_GE((*c)->ratio(), 0.01);
    }
  });
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(t->Sample(SampleOptions{.batch_size = 4}, &out).ok());
    absl::SleepFor(absl::Milliseconds(1));
  }
  absl::SleepFor(absl::Milliseconds(30));
  (*c)->Stop();
  (*c)->Stop();  // idempotent
  done = true;
  reader.join();
  d = (*c)->decisions();
  ASSERT_GT(d.size(), 3u);
  for (size_t i = 0; i < d.size(); ++i) EXPECT_EQ(d[i].tick, i + 1);
  const size_t stopped_at = d.size();
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ((*c)->decisions().size(), stopped_at);  // stopped means stopped
  (*c)->Start();                                    // and it can start again
  absl::SleepFor(absl::Milliseconds(30));
  (*c)->Stop();
  EXPECT_GT((*c)->decisions().size(), stopped_at);
  EXPECT_TRUE((*c)->error().ok());
}

// The whole loop: a sampling thread on a resident-mode table over a FaultInjectionEnv. With a
// fast device the controller holds ratio 1; with 5 ms reads it backs off (interval, then ratio);
// with the latency gone it recovers.
TEST_F(SwapControllerTest, BacksOffUnderSlowReadsAndRecovers) {
  const std::string dir = TempPath("swap_controller");
  std::filesystem::remove_all(dir);
  internal::FaultInjectionEnv env(Env::Posix());
  auto t = Filled(Resident(&env, dir, /*dram_items=*/100), /*items=*/3000);
  ASSERT_NE(t, nullptr);
  SwapControllerOptions o;
  // A fixed baseline: a learned one would depend on this machine's noise. 5 ms reads are far
  // above 3 x 500 us; fast reads (tens of µs) far below.
  o.latency_target_us = 500;
  o.min_reads = 8;
  // Judge by latency: on a loaded 2-core machine the swapper may be descheduled long enough to
  // skip a few swaps even with a fast device.
  o.skip_fraction = 0.5;
  o.ratio_step = 0.25;
  o.calm_ticks = 1;
  auto created = SwapController::Create(t.get(), o);
  ASSERT_TRUE(created.ok()) << created.status();
  SwapController& c = **created;

  // Sampling paced at ~1 batch of 8 per ms: a fast device keeps up with every swap.
  std::atomic<bool> stop{false};
  std::thread sampler([&] {
    SampleBatch out;
    while (!stop.load()) {
      EXPECT_TRUE(t->Sample(SampleOptions{.batch_size = 8}, &out).ok());
      absl::SleepFor(absl::Milliseconds(1));
    }
  });
  auto tick = [&] {
    absl::SleepFor(absl::Milliseconds(100));
    EXPECT_TRUE(c.Tick().ok());
    return c.decisions().back();
  };
  auto log = [&] {
    std::string s;
    for (const SwapDecision& d : c.decisions()) absl::StrAppend(&s, d.ToString(), "\n");
    return s;
  };

  // 1. Fast device: hold.
  for (int i = 0; i < 5; ++i) {
    const SwapDecision d = tick();
    EXPECT_EQ(d.action, "hold") << log();
  }
  EXPECT_EQ(c.ratio(), 1.0);
  EXPECT_EQ(c.interval(), 1u);
  EXPECT_GT(t->info().tier.swaps, 100u) << log();

  // 2. Slow device: the interval first, then the ratio, within a few ticks.
  env.SetReadLatency(absl::Milliseconds(5));
  std::vector<std::string> actions;
  for (int i = 0; i < 15 && c.ratio() >= 0.5; ++i) actions.push_back(tick().action);
  EXPECT_LT(c.ratio(), 0.5) << log();
  ASSERT_GE(actions.size(), 3u) << log();
  const auto first_lower = std::find(actions.begin(), actions.end(), "lower ratio");
  ASSERT_NE(first_lower, actions.end()) << log();
  EXPECT_EQ(std::count(actions.begin(), first_lower, "lengthen interval"), 2) << log();

  // 3. Fast again: back to ratio 1 and interval 1.
  env.SetReadLatency(absl::ZeroDuration());
  for (int i = 0; i < 40 && !(c.ratio() == 1.0 && c.interval() == 1u); ++i) tick();
  EXPECT_EQ(c.ratio(), 1.0) << log();
  EXPECT_EQ(c.interval(), 1u) << log();
  EXPECT_EQ(t->info().tier.swap_ratio, 1.0);
  EXPECT_EQ(t->info().tier.swap_interval, 1u);

  stop = true;
  sampler.join();
  // Every change the controller made lowered the rate under contention and raised it when calm.
  double rate = 1.0;
  for (const SwapDecision& d : c.decisions()) {
    const double r = d.ratio / d.interval;
    if (d.action == "lengthen interval" || d.action == "lower ratio") {
      EXPECT_LT(r, rate) << d.ToString();
    } else if (d.action == "recover ratio" || d.action == "shorten interval") {
      EXPECT_GT(r, rate) << d.ToString();
    } else {
      EXPECT_EQ(r, rate) << d.ToString();
    }
    rate = r;
  }
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();
  t.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strata
