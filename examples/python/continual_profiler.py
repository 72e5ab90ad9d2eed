#!/usr/bin/env python3
"""Split Fashion-MNIST, class-incremental: does the EM/SB size profiler (strata.profiler) pick a
configuration within 1 point of the grid's best, at <= 25% of the cost of training every one?

Protocol (examples/python/fmnist.py: 5 tasks x 2 classes, MLP 784-256-256-10, Adam 1e-3):

  validation   VAL images per class held out of the TRAIN set (default 300, fixed seed); the
               profiler scores on them; the test set is only used for the final comparison
  warm start   the model (and Adam state) after task 1, trained once per seed for E epochs on
               the whole task, saved to <dir>/warm-s<seed>.pt and reloaded for every run
  a run        tasks 2..5 through strata.continual.Runtime with a hierarchical episodic memory
               (EM: M samples in DRAM, every flushed sample on storage, swap ratio 1.0) or a
               dram one (--memory dram: M samples in DRAM only) and a stream buffer (SB) of S
               samples. The task's n samples stream in; the SB keeps the last S (a device that
               buffers S samples); every batch is 32 SB + 32 EM samples; at the task's end the
               SB is flushed to the EM. Task 1's buffering and flush are replayed (no training)
               so that the EM holds what this (M, S) would have kept of it. How many batches a
               task gets is the protocol (--protocol):
                 stream (default; examples/python/continual_demo.py's protocol, Miro's online
                        setting): ceil(E * n / 32) batches per task whatever S is: the device
                        trains at the rate the data arrive; S only bounds which of the task's
                        samples it can draw from (the newest S) and the DRAM it holds.
                 epoch  E epochs over what the SB holds: ceil(E * min(S, n) / 32) batches per
                        task, so compute grows with S.
               At S >= n the two protocols run the same batches.
  grid         M in {50, 100, 200, 400} x S in {2000, 6000, 12000} (12 configurations; 12000 is
               the whole task: 11,400 images after the validation hold-out). M moves forgetting;
               S moves which of each task's samples are learned from, the DRAM held and, in the
               epoch protocol, the compute.
  short runs   the same runs with BUDGET (default 0.1) of the batches of every task, from the
               seed-0 warm start, scored on the validation split
  ground truth every configuration trained fully (budget 1.0) from the same warm start, for
               SEEDS seeds (default 3), scored on the test set (accuracy and cost: the mean
               over seeds)

Costs are strata.profiler's: the meter's joules (strata.EnergyMeter: RAPL where readable, else
CPU seconds x 10 W + I/O bytes x 2.5 nJ) plus the DRAM the EM and SB hold (0.375 W/GiB). The
profiling cost counts the seed-0 warm start and every short run; the cost of training every
configuration fully sums each configuration's full run (tasks 2..5 from the warm start, which is
not charged to them: the comparison favours full training; mean over seeds).

    python3 examples/python/continual_profiler.py                   # stream: ~7 min, 2 cores
    python3 examples/python/continual_profiler.py --protocol epoch  # ~4-6 min
    python3 examples/python/continual_profiler.py --smoke    # seconds (CI)
"""

import argparse
import json
import math
import os
import shutil
import time

import numpy as np
import torch
import torch.nn.functional as F

import strata
import strata.profiler
from strata.continual import MemoryConfig, Runtime
from fmnist import accuracy, add_training_args, load, make_mlp, split_tasks, to_input

ROW_BYTES = 784  # one uint8 28x28 image: the DRAM bytes of a sample in the EM or the SB


def holdout(labels, per_class, seed=0):
    """(train indices, validation indices): `per_class` random images of each class held out."""
    rng = np.random.default_rng(seed)
    val = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class]
                          for c in np.unique(labels)])
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, np.sort(val)


class Experiment:
    """The data, the warm starts and the run callback of one experiment."""

    def __init__(self, args):
        self.args = args
        x, y = load(args.data_dir, "train")
        self.test_x, self.test_y = load(args.data_dir, "test")
        train, val = holdout(y, args.val_per_class)
        self.x, self.y = x, y
        self.val = val
        tasks = [train[y[train] // 2 == t] for t in range(5)]  # classes 2t, 2t+1
        if args.smoke:
            tasks = [t[:args.smoke_task] for t in tasks]
            self.test_idx = np.concatenate([t[:200] for t in split_tasks(self.test_y)])
        else:
            self.test_idx = np.arange(len(self.test_y))
        self.tasks = tasks

    def steps(self, stream_items, n, budget):
        """Batches of a task of n samples with an SB of `stream_items`, times the budget (at
        least 1). "stream": E epochs of the task's stream whatever the SB keeps (the demo's
        protocol); "epoch": E epochs over what the SB holds."""
        seen = n if self.args.protocol == "stream" else min(stream_items, n)
        full = math.ceil(self.args.epochs * seen / self.args.stream_batch)
        return max(1, round(budget * full))

    def order(self, seed, task):
        """The order task `task`'s samples stream in: the same for every run of a seed."""
        return np.random.default_rng([seed, task]).permutation(self.tasks[task])

    def warm_start(self, seed):
        """Trains task 1 for E epochs on the whole task; saves model and Adam state."""
        torch.manual_seed(seed)
        model = make_mlp()
        opt = torch.optim.Adam(model.parameters(), lr=self.args.lr)
        idx = self.order(seed, 0)
        rng = np.random.default_rng([seed, 100])
        for _ in range(self.steps(len(idx), len(idx), 1.0)):
            b = rng.choice(idx, self.args.stream_batch)
            loss = F.cross_entropy(model(to_input(self.x[b])), torch.from_numpy(self.y[b]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        path = os.path.join(self.args.dir, f"warm-s{seed}.pt")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, path)
        return path, accuracy(model, self.x[self.val], self.y[self.val])

    def memory(self, m):
        if self.args.memory == "dram":
            return MemoryConfig("dram", dram_items=m)
        return MemoryConfig("hierarchical", dram_items=m, capacity=60_000,
                            direct_io=not self.args.no_direct_io)

    def make_run(self, seed, warm_path, split):
        """run(candidate, budget) for strata.profiler: tasks 2..5 from the warm start; returns
        the accuracy on the validation split ("val") or the test set ("test")."""
        args = self.args

        def run(c, budget):
            torch.manual_seed(seed * 1000 + 1)
            model = make_mlp()
            opt = torch.optim.Adam(model.parameters(), lr=args.lr)
            warm = torch.load(warm_path)
            model.load_state_dict(warm["model"])
            opt.load_state_dict(warm["opt"])
            directory = os.path.join(args.dir, f"run-{c.memory_dram_items}-{c.stream_items}")
            shutil.rmtree(directory, ignore_errors=True)
            peak = 0
            with Runtime(directory, {"x": (np.uint8, (784,))}, memory=self.memory(
                    c.memory_dram_items), stream_items=c.stream_items,
                    stream_batch=args.stream_batch, memory_batch=args.memory_batch,
                    seed=seed, resume=False) as rt:
                for t in range(len(self.tasks)):
                    idx = self.order(seed, t)
                    rt.begin_task(t)
                    rt.observe({"x": self.x[idx]}, self.y[idx])
                    if t > 0:  # task 1 is the warm start's: buffered and flushed only
                        for _ in range(self.steps(c.stream_items, len(idx), budget)):
                            b = rt.batch()
                            logits = model(to_input(b["x"]))
                            losses = F.cross_entropy(logits, torch.from_numpy(b.labels),
                                                     reduction="none")
                            opt.zero_grad()
                            losses.mean().backward()
                            opt.step()
                            rt.report_loss(b, losses.detach().numpy())
                    peak = max(peak, rt.stats().dram_bytes)
                    rt.end_task()
                st = rt.stats()
            shutil.rmtree(directory, ignore_errors=True)
            ev = self.val if split == "val" else self.test_idx
            ex, ey = (self.x, self.y) if split == "val" else (self.test_x, self.test_y)
            return strata.profiler.RunResult(accuracy(model, ex[ev], ey[ev]), dram_bytes=peak,
                                             io_bytes=st.bytes_read + st.bytes_written)

        return run


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="a few seconds (CI): a 2x2 grid on "
                   "600 images per task, one seed")
    p.add_argument("--em", type=int, nargs="+", default=None,
                   help="EM DRAM sizes M (default 50 100 200 400)")
    p.add_argument("--sb", type=int, nargs="+", default=None,
                   help="stream-buffer sizes S (default 2000 6000 12000)")
    p.add_argument("--protocol", choices=("stream", "epoch"), default="stream",
                   help="stream (default, the demo's): ceil(E * n / 32) batches per task for "
                   "every S; epoch: E epochs over the S samples the SB keeps")
    p.add_argument("--memory", choices=("hierarchical", "dram"), default="hierarchical")
    p.add_argument("--budget", type=float, default=0.1,
                   help="fraction of every task's batches in a short run (default 0.1)")
    p.add_argument("--cutline", type=float, default=0.5)
    p.add_argument("--seeds", type=int, default=None, help="ground-truth seeds (default 3)")
    p.add_argument("--epochs", type=int, default=1, help="E: epochs over the SB per task")
    p.add_argument("--val-per-class", type=int, default=None,
                   help="validation images held out per class (default 300)")
    add_training_args(p, "build/profiler-demo")
    args = p.parse_args()
    args.smoke_task = 600
    args.em = args.em or ([20, 100] if args.smoke else [50, 100, 200, 400])
    args.sb = args.sb or ([200, 600] if args.smoke else [2000, 6000, 12000])
    args.val_per_class = args.val_per_class or (30 if args.smoke else 300)
    seeds = list(range(args.seeds or (1 if args.smoke else 3)))
    torch.set_num_threads(args.threads)
    os.makedirs(args.dir, exist_ok=True)
    t_start = time.perf_counter()

    ex = Experiment(args)
    grid = [strata.profiler.Candidate(m, s) for m in args.em for s in args.sb]
    meter = strata.EnergyMeter()
    n = len(ex.tasks[1])
    per_s = ", ".join(f"S={s}: {ex.steps(s, n, 1.0)}" for s in args.sb)
    print(f"Fashion-MNIST: tasks of {[len(t) for t in ex.tasks]} train images, "
          f"{len(ex.val)} validation (train split), {len(ex.test_idx)} test; {args.memory} EM; "
          f"grid M {args.em} x S {args.sb}; E = {args.epochs}; short runs {args.budget:g} of "
          f"the batches; cutline {args.cutline:g}; ground truth over {len(seeds)} seed(s); "
          f"meter: {meter.source}", flush=True)
    print(f"protocol: {args.protocol} ("
          + ("ceil(E * n / 32) batches per task whatever S is; the SB keeps the last S"
             if args.protocol == "stream" else
             "E epochs over the SB: ceil(E * min(S, n) / 32) batches per task")
          + f"); full batches per task of {n}: {per_s}", flush=True)

    # Profiling: the seed-0 warm start (charged) and a short run of every candidate.
    meter.start()
    warm = {}
    warm[0] = ex.warm_start(0)
    warm_joules = meter.read().joules  # no storage I/O; its DRAM term is under a millijoule
    profiler = strata.profiler.Profiler(ex.make_run(0, warm[0][0], "val"), row_bytes=ROW_BYTES,
                                        budget=args.budget, cutline=args.cutline, meter=meter)
    report = profiler.profile(grid, baseline=warm[0][1])
    print(f"\nprofiling (seed 0, validation split, warm start {warm[0][1] * 100:.2f}% on it):")
    print(report.table(), flush=True)

    # Ground truth: every configuration trained fully, scored on the test set.
    full = {c: [] for c in grid}
    for s in seeds:
        if s not in warm:
            warm[s] = ex.warm_start(s)
        gt = strata.profiler.Profiler(ex.make_run(s, warm[s][0], "test"), row_bytes=ROW_BYTES,
                                      meter=meter)
        for c in grid:
            full[c].append(gt.measure(c, budget=1.0))
            print(f"  full M={c.memory_dram_items:<4} S={c.stream_items:<6} seed {s}: test "
                  f"{full[c][-1].accuracy * 100:.2f}%, {full[c][-1].cost_joules:.0f} J, "
                  f"{full[c][-1].seconds:.1f} s", flush=True)

    mean_acc = {c: float(np.mean([t.accuracy for t in full[c]])) for c in grid}
    sd_acc = {c: float(np.std([t.accuracy for t in full[c]], ddof=1)) if len(seeds) > 1 else 0.0
              for c in grid}
    full_cost = {c: float(np.mean([t.cost_joules for t in full[c]])) for c in grid}
    dram_cost = {c: float(np.mean([t.dram_joules for t in full[c]])) for c in grid}
    best = max(grid, key=lambda c: mean_acc[c])
    pick = report.pick.candidate
    gap = (mean_acc[best] - mean_acc[pick]) * 100
    profiling_joules = warm_joules + report.total_joules
    full_joules = sum(full_cost.values())
    ratio = profiling_joules / full_joules

    print(f"\n{'M':>5} {'S':>6} | {'val acc %':>9} {'short J':>8} {'kept':>4} | "
          f"{'test acc % (full)':>18} {'full J':>7} {'DRAM J':>7}")
    for c in grid:
        t = report.trial(c)
        mark = " <- pick" if c == pick else ""
        mark += " <- best" if c == best else ""
        print(f"{c.memory_dram_items:>5} {c.stream_items:>6} | {t.accuracy * 100:>9.2f} "
              f"{t.cost_joules:>8.1f} {'yes' if t.kept else '-':>4} | "
              f"{mean_acc[c] * 100:>10.2f} ± {sd_acc[c] * 100:<5.2f} {full_cost[c]:>7.0f} "
              f"{dram_cost[c]:>7.3f}{mark}")
    ok_gap, ok_cost = gap <= 1.0, ratio <= 0.25
    print(f"\nprotocol {args.protocol}")
    print(f"pick  M={pick.memory_dram_items} S={pick.stream_items}: test "
          f"{mean_acc[pick] * 100:.2f}% (mean of {len(seeds)} seed(s))")
    print(f"best  M={best.memory_dram_items} S={best.stream_items}: test "
          f"{mean_acc[best] * 100:.2f}%")
    print(f"{'PASS' if ok_gap else 'MISS'}  accuracy gap {gap:.2f} points (target <= 1)")
    print(f"{'PASS' if ok_cost else 'MISS'}  profiling cost {profiling_joules:.0f} J (warm start "
          f"{warm_joules:.0f} J + {len(grid)} short runs {report.total_joules:.0f} J) = "
          f"{ratio * 100:.1f}% of training every configuration fully ({full_joules:.0f} J: each "
          f"configuration's mean over seeds) (target <= 25%)")
    print("context (not the targets):")
    print(f"  the pick's full training costs {full_cost[pick]:.0f} J, the best's "
          f"{full_cost[best]:.0f} J ({full_cost[pick] / full_cost[best] * 100:.0f}%)")
    print(f"  DRAM held (EM DRAM part + SB, peak): pick {report.trial(pick).dram_bytes / 2**20:.1f}"
          f" MiB, best {report.trial(best).dram_bytes / 2**20:.1f} MiB")
    print(f"  short runs alone: {report.total_joules / full_joules * 100:.1f}% of full training; "
          f"with the warm start on both sides: "
          f"{profiling_joules / (warm_joules + full_joules) * 100:.1f}%")
    recuts = []
    for cut in (0.25, 0.5, 0.75, 1.0):
        c = report.recut(cut).pick.candidate
        recuts.append(f"{cut:g}: M={c.memory_dram_items} S={c.stream_items} "
                      f"(gap {(mean_acc[best] - mean_acc[c]) * 100:.2f})")
    print(f"  pick at other cutlines, same short runs: {'; '.join(recuts)}")
    if args.smoke:
        print("  --smoke: too small a run for the targets to mean anything")
    how = ("RAPL package counters" if report.source == "rapl" else
           "model: CPU seconds x W/core + I/O bytes x J/byte, include/strata/energy.h")
    print(f"meter: {report.source} ({how}) + DRAM held x {strata.profiler.DRAM_WATTS_PER_GIB} "
          f"W/GiB")
    out = os.path.join(args.dir, "profiler_results.json")
    with open(out, "w") as f:
        json.dump({"args": {k: v for k, v in vars(args).items()}, "profile": report.as_dict(),
                   "warm_joules": warm_joules,
                   "full": {f"{c.memory_dram_items}/{c.stream_items}": [
                       {"accuracy": t.accuracy, "cost_joules": t.cost_joules,
                        "seconds": t.seconds} for t in full[c]] for c in grid},
                   "pick": [pick.memory_dram_items, pick.stream_items],
                   "best": [best.memory_dram_items, best.stream_items], "gap_points": gap,
                   "cost_ratio": ratio, "protocol": args.protocol,
                   "total_seconds": time.perf_counter() - t_start}, f, indent=1)
    print(f"results: {out}\ntotal {time.perf_counter() - t_start:.0f} s ({args.protocol} "
          f"protocol)")


if __name__ == "__main__":
    main()
