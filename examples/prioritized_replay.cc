// prioritized_replay: the C++ quickstart and scripts/demo's main job (for now).
//
// A learner fits a value per state from noisy replayed transitions, once with uniform replay and
// once with prioritized replay (priority = |TD error|, importance weights applied), drawing the
// same number of samples. Prioritized replay spends its samples where the learner is still
// wrong, so its error falls faster. The program prints the learning curve of both, the table's
// counters and the throughput of sample + priority update.
//
//   prioritized_replay [--items N] [--steps S] [--batch B]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "command_line.h"
#include "strata/table.h"

ABSL_FLAG(int32_t, items, 20000, "transitions in the table");
ABSL_FLAG(int32_t, steps, 60, "learner steps: one sampled batch and one priority update each");
ABSL_FLAG(int32_t, batch, 256, "items per sampled batch");

namespace {

struct Args {
  int items = 20000;
  int steps = 60;
  int batch = 256;
};

// Parses the flags (bench/command_line.h: --help prints them and exits 0).
Args Parse(int argc, char** argv) {
  const std::vector<std::string> rest = strata::bench::ParseCommandLine(
      argc, argv,
      "uniform vs prioritized replay for a toy value learner: learning curves, table counters, "
      "throughput.\n"
      "usage: prioritized_replay [--items N] [--steps S] [--batch B]",
      "prioritized_replay.cc");
  auto bad = [](const std::string& message) {
    std::fprintf(stderr, "prioritized_replay: %s; see --help\n", message.c_str());
    std::exit(2);
  };
  if (!rest.empty()) bad("unexpected argument '" + rest[0] + "'");
  Args a;
  a.items = absl::GetFlag(FLAGS_items);
  a.steps = absl::GetFlag(FLAGS_steps);
  a.batch = absl::GetFlag(FLAGS_batch);
  if (a.items < 1) bad("--items must be at least 1");
  if (a.steps < 1) bad("--steps must be at least 1");
  if (a.batch < 1) bad("--batch must be at least 1");
  return a;
}

void Check(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    std::exit(1);
  }
}

struct Run {
  std::vector<double> mse;  // learning curve, one point per 10% of the steps
  int steps_to_001 = -1;    // first step after which the error is below 0.01
  double seconds = 0;       // in Sample + UpdatePriorities
  strata::TableInfo info;
};

// A toy value-learning problem with sparse rewards: 1,000 states, 95% of them worth exactly 0
// (the learner's initial guess, so their transitions teach nothing) and 5% worth 10-20, observed
// with a little noise. Uniform replay spends 95% of its samples on the uninformative
// transitions; prioritized replay (priority = |TD error| + 0.01) spends them where the error is.
Run Train(const Args& args, bool prioritized) {
  constexpr int kStates = 1000;
  std::vector<double> truth(kStates);
  uint64_t x = 12345;
  auto rnd = [&x] {
    return static_cast<double>((x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 11) *
           0x1.0p-53;
  };
  for (double& v : truth) v = rnd() < 0.05 ? 10.0 + 10.0 * rnd() : 0.0;

  strata::TableOptions o;
  o.name = prioritized ? "prioritized" : "uniform";
  o.schema = *strata::Schema::Builder()
                  .Fixed("obs", strata::DType::kF32, {8})
                  .Fixed("state", strata::DType::kI32)
                  .Fixed("reward", strata::DType::kF32)
                  .Build();
  o.max_items = static_cast<uint64_t>(args.items);
  o.sampler = prioritized ? strata::Prioritized(/*alpha=*/0.7, /*beta=*/0.5) : strata::Uniform();
  o.remover = strata::Fifo();
  o.seed = 7;
  auto table = strata::Table::Create(o);
  Check(table.status());
  strata::Table& t = **table;

  // Fill with transitions in batches of 1,000.
  std::vector<float> obs(1000 * 8);
  std::vector<int32_t> state(1000);
  std::vector<float> reward(1000);
  std::vector<strata::Key> keys;
  for (int done = 0; done < args.items; done += 1000) {
    for (int i = 0; i < 1000; ++i) {
      state[i] = static_cast<int32_t>(rnd() * kStates);
      reward[i] =
          static_cast<float>(truth[state[i]] == 0 ? 0.0 : truth[state[i]] + 0.2 * (rnd() - 0.5));
      for (int j = 0; j < 8; ++j) obs[i * 8 + j] = static_cast<float>(state[i] % (j + 2));
    }
    strata::ItemBatch b;
    b.Add("obs", strata::DType::kF32, {1000, 8}, obs.data())
        .Add("state", strata::DType::kI32, {1000}, state.data())
        .Add("reward", strata::DType::kF32, {1000}, reward.data());
    Check(t.Insert(b, &keys));
  }

  std::vector<double> q(kStates, 0.0);
  auto mse = [&] {
    double e = 0;
    for (int s = 0; s < kStates; ++s) e += (q[s] - truth[s]) * (q[s] - truth[s]);
    return e / kStates;
  };
  Run run;
  strata::SampleBatch batch;
  std::vector<double> priorities(args.batch);
  const double lr = 0.3;
  for (int step = 0; step < args.steps; ++step) {
    const double error = mse();
    if (step % std::max(1, args.steps / 10) == 0) run.mse.push_back(error);
    if (run.steps_to_001 < 0 && error < 0.01) run.steps_to_001 = step;
    const auto t0 = std::chrono::steady_clock::now();
    Check(t.Sample({.batch_size = static_cast<size_t>(args.batch)}, &batch));
    const auto t1 = std::chrono::steady_clock::now();
    auto states = batch.field("state")->values<int32_t>();
    auto rewards = batch.field("reward")->values<float>();
    for (size_t i = 0; i < batch.size(); ++i) {
      const double delta = rewards[i] - q[states[i]];
      // A tabular learner: each state's estimate is its own parameter, so the sampling bias that
      // importance weights correct (a shared gradient over all items) does not arise here and the
      // weights would only shrink the step. A network would scale its loss by weights()[i].
      q[states[i]] += lr * delta;
      priorities[i] = std::abs(rewards[i] - q[states[i]]) + 0.01;
    }
    const auto t2 = std::chrono::steady_clock::now();
    Check(t.UpdatePriorities(batch.keys(), priorities).status());
    const auto t3 = std::chrono::steady_clock::now();
    run.seconds += std::chrono::duration<double>((t1 - t0) + (t3 - t2)).count();
  }
  run.mse.push_back(mse());
  run.info = t.info();
  Check(t.CheckInvariants());
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  std::printf(
      "Strata prioritized replay demo: %d transitions of {obs: f32[8], state: i32, reward: f32},\n"
      "%d steps of batch %d, value learning over 1,000 states (5%% of them rewarding, 95%% worth "
      "0)\n\n",
      args.items, args.steps, args.batch);
  const Run uniform = Train(args, false);
  const Run prio = Train(args, true);

  std::printf("%-10s %16s %16s\n", "progress", "uniform MSE", "prioritized MSE");
  for (size_t i = 0; i < uniform.mse.size(); ++i) {
    std::printf("%9zu%% %16.5f %16.5f\n", i * 10, uniform.mse[i], prio.mse[i]);
  }
  auto steps = [](int s) { return s < 0 ? std::string("not reached") : std::to_string(s); };
  std::printf("\nsteps until the error is below 0.01: uniform %s, prioritized %s\n",
              steps(uniform.steps_to_001).c_str(), steps(prio.steps_to_001).c_str());
  for (const Run* r : {&uniform, &prio}) {
    const strata::TableInfo& i = r->info;
    const double items = static_cast<double>(args.steps) * args.batch;
    std::printf("\ntable '%s' (%s, sampler %s, remover %s)\n", i.name.c_str(), i.schema.c_str(),
                i.sampler.c_str(), i.remover.c_str());
    std::printf(
        "  size %llu items, %llu bytes; inserted %llu, sampled %llu, priority updates %llu\n",
        static_cast<unsigned long long>(i.size), static_cast<unsigned long long>(i.bytes),
        static_cast<unsigned long long>(i.inserted), static_cast<unsigned long long>(i.sampled),
        static_cast<unsigned long long>(i.priority_updates));
    std::printf("  sample + update: %.2f M items/s (%.1f us per batch of %d)\n",
                items / r->seconds / 1e6, r->seconds / args.steps * 1e6, args.batch);
  }
  return 0;
}
