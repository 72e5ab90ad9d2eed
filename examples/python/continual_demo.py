#!/usr/bin/env python3
"""Split Fashion-MNIST, class-incremental: does a hierarchical episodic memory (a small DRAM part,
past data on storage, swapped in the background) buy the accuracy of an unlimited memory at the
DRAM cost of a small one?

Five tasks of two classes arrive one after the other; an MLP 784-256-256-10 (Adam 1e-3) learns
each task for E epochs from batches of 32 stream samples plus 32 replayed ones, through
``strata.continual.Runtime`` (stream buffer + episodic memory in a local directory). Methods, all
with the same seeds, data order and steps:

  finetune     no replay (the lower bound)
  ram          replay from a RAM-only episodic memory of M samples (class-balanced, per-class FIFO)
  hier         the hierarchical memory: the same M in DRAM, every past sample on storage, swap
               ratio 1.0 (each replayed batch is swapped for stored samples of the same classes)
  hier-0.2     the same with swap ratio 0.2
  unlimited    replay from every past sample, all in DRAM
  joint        i.i.d. training on all five tasks at once, the same number of steps (upper bound)

At the end it prints, per epoch setting, each method's final average accuracy over the five
tasks' test sets (mean ± sd over seeds), average forgetting, training time, the payload bytes it
holds in DRAM, the bytes it read from storage, the swaps, and the energy (RAPL or the model),
then checks the targets of docs/workloads E2 and writes a PNG plot of accuracy after each task.

    python3 examples/python/continual_demo.py            # 3 seeds, E = 1 and 3: ~5-8 min, 2 cores
    python3 examples/python/continual_demo.py --full     # 5 seeds, E = 1, 3 and 5
    python3 examples/python/continual_demo.py --smoke    # seconds (CI)
"""

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import strata
from strata.continual import MemoryConfig, Runtime
from fmnist import accuracy, add_training_args, load, make_mlp, split_tasks, to_input

try:
    from tqdm import tqdm
except ImportError:  # python3-tqdm is optional: plain progress lines then
    tqdm = None

METHODS = ("finetune", "ram", "hier", "hier-0.2", "unlimited", "joint")


def memory_for(method, m, direct_io):
    if method == "finetune":
        return MemoryConfig("none")
    if method == "ram":
        return MemoryConfig("dram", dram_items=m)
    if method == "unlimited":
        return MemoryConfig("unlimited", capacity=60_000)
    ratio = 1.0 if method == "hier" else 0.2
    return MemoryConfig("hierarchical", dram_items=m, capacity=60_000, swap_ratio=ratio,
                        direct_io=direct_io)


class Progress:
    def __init__(self, total, desc, quiet):
        self.bar = None if quiet or tqdm is None else tqdm(
            total=total, desc=desc, leave=False, file=sys.stderr, mininterval=0.5,
            bar_format="{desc:<22} {bar} {n_fmt}/{total_fmt} [{elapsed}<{remaining}]")

    def update(self, n):
        if self.bar is not None:
            self.bar.update(n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run_method(method, seed, epochs, data, args, run_dir):
    """One run: returns accuracies after each task on each task's test set, and costs."""
    (train_x, train_y, tasks), (test_x, test_y, test_tasks) = data
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = make_mlp()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_task = epochs * -(-max(len(t) for t in tasks) // args.stream_batch)
    acc = np.zeros((len(tasks), len(tasks)))
    meter = strata.EnergyMeter()
    train_seconds = 0.0
    peak_dram = 0
    read = written = swaps = skipped = 0

    def step(x_u8, y):
        logits = model(to_input(x_u8))
        losses = F.cross_entropy(logits, torch.from_numpy(y), reduction="none")
        opt.zero_grad()
        losses.mean().backward()
        opt.step()
        return losses.detach().numpy()

    bar = Progress(steps_per_task * len(tasks), f"{method} E={epochs} s={seed}", args.quiet)
    if method == "joint":
        # i.i.d. over all five tasks (the upper bound): the same steps, batch 64.
        all_idx = np.concatenate(tasks)
        batch = args.stream_batch + args.memory_batch
        meter.start()
        t0 = time.perf_counter()
        for i in range(steps_per_task * len(tasks)):
            idx = rng.choice(all_idx, batch)
            step(train_x[idx], train_y[idx])
            if i % 50 == 49:
                bar.update(50)
        train_seconds = time.perf_counter() - t0
        energy = meter.read()
        for j, test_idx in enumerate(test_tasks):
            acc[-1, j] = accuracy(model, test_x[test_idx], test_y[test_idx])
        acc[:-1] = np.nan
        bar.close()
        return dict(acc=acc, train_seconds=train_seconds, dram_bytes=len(all_idx) * 784,
                    bytes_read=0, bytes_written=0, swaps=0, swaps_skipped=0,
                    joules=energy.joules, energy_source=energy.source)

    directory = os.path.join(run_dir, f"{method}-E{epochs}-s{seed}")
    shutil.rmtree(directory, ignore_errors=True)
    memory = memory_for(method, args.memory, not args.no_direct_io)
    with Runtime(directory, {"x": (np.uint8, (784,))}, memory=memory,
                 stream_items=max(len(t) for t in tasks), stream_batch=args.stream_batch,
                 memory_batch=args.memory_batch, seed=seed) as rt:
        meter.start()
        for t, idx in enumerate(tasks):
            rt.begin_task(t)
            order = rng.permutation(idx)
            rt.observe({"x": train_x[order]}, train_y[order])
            t0 = time.perf_counter()
            for i in range(steps_per_task):
                b = rt.batch()
                rt.report_loss(b, step(b["x"], b.labels))
                if i % 50 == 49:
                    bar.update(50)
            train_seconds += time.perf_counter() - t0
            peak_dram = max(peak_dram, rt.stats().dram_bytes)
            rt.end_task()
            for j in range(t + 1):
                acc[t, j] = accuracy(model, test_x[test_tasks[j]], test_y[test_tasks[j]])
            acc[t, t + 1:] = np.nan
        st = rt.stats()
        read, written, swaps, skipped = st.bytes_read, st.bytes_written, st.swaps, st.swaps_skipped
        meter.add_io_bytes(read + written)
        energy = meter.read()
    bar.close()
    shutil.rmtree(directory, ignore_errors=True)
    return dict(acc=acc, train_seconds=train_seconds, dram_bytes=peak_dram, bytes_read=read,
                bytes_written=written, swaps=swaps, swaps_skipped=skipped, joules=energy.joules,
                energy_source=energy.source)


def final_avg(acc):
    return float(np.nanmean(acc[-1]))


def forgetting(acc):
    """Mean over tasks j < T of (best accuracy on j before the end) - (accuracy at the end)."""
    if np.isnan(acc[0, 0]):  # joint: no sequence
        return float("nan")
    t = len(acc)
    return float(np.mean([np.nanmax(acc[:t - 1, j]) - acc[-1, j] for j in range(t - 1)]))


def summarize(results, methods, epochs_list, seeds):
    rows = {}
    for e in epochs_list:
        for m in methods:
            rs = [results[(m, e, s)] for s in seeds]
            finals = np.array([final_avg(r["acc"]) for r in rs]) * 100
            rows[(m, e)] = dict(
                final=finals.mean(), final_sd=finals.std(ddof=1) if len(finals) > 1 else 0.0,
                forgetting=np.mean([forgetting(r["acc"]) for r in rs]) * 100,
                seconds=np.mean([r["train_seconds"] for r in rs]),
                dram_bytes=max(r["dram_bytes"] for r in rs),
                bytes_read=np.mean([r["bytes_read"] for r in rs]),
                swaps=np.mean([r["swaps"] for r in rs]),
                skipped=np.mean([r["swaps_skipped"] for r in rs]),
                joules=np.mean([r["joules"] for r in rs]),
                source=rs[0]["energy_source"],
                per_task=np.mean([r["acc"][-1] for r in rs], axis=0) * 100,
                # Per run: the average over the tasks seen so far, after each task; then the
                # mean over seeds.
                curve=np.nanmean(np.array([r["acc"] for r in rs]), axis=2).mean(axis=0) * 100
                if m != "joint" else None)
    return rows


def print_table(rows, methods, epochs_list, seeds):
    print(f"\nSplit Fashion-MNIST, 5 tasks x 2 classes, MLP 784-256-256-10, seeds {seeds}")
    for e in epochs_list:
        print(f"\nE = {e} epoch(s) per task")
        tasks = " ".join(f"{'T' + str(j + 1):>4}" for j in range(5))
        print(f"{'method':<10} {'final avg acc %':>16} {tasks} {'forget':>6} {'train s':>8} "
              f"{'DRAM KiB':>9} {'read MiB':>9} {'swaps':>8} {'skipped':>8} {'energy J':>9}")
        for m in methods:
            r = rows[(m, e)]
            forget = "-" if np.isnan(r["forgetting"]) else f"{r['forgetting']:.1f}"
            per_task = " ".join(f"{a:4.0f}" for a in r["per_task"])
            print(f"{m:<10} {r['final']:>9.2f} ± {r['final_sd']:<4.2f} {per_task} {forget:>6} "
                  f"{r['seconds']:>8.1f} {r['dram_bytes'] / 1024:>9.0f} "
                  f"{r['bytes_read'] / 2**20:>9.1f} {r['swaps']:>8.0f} {r['skipped']:>8.0f} "
                  f"{r['joules']:>9.0f}")
        print("(T1..T5: accuracy % on each task's test set after the last task; forget: mean "
              "drop from each task's best)")
    print(f"\nenergy: {rows[(methods[0], epochs_list[0])]['source']}"
          " (model = CPU seconds x W/core + I/O bytes x J/byte; see include/strata/energy.h)")


def check_targets(rows, epochs_list):
    """The targets of docs/workloads E2 (issue 5); returns lines 'PASS/MISS ...'."""
    lines = []
    have = {m for m, _ in rows}
    if not {"hier", "ram", "unlimited"} <= have:
        return lines
    for e in epochs_list:
        hier, ram, unl = rows[("hier", e)], rows[("ram", e)], rows[("unlimited", e)]
        gain = hier["final"] - ram["final"]
        need = 10 if e == 1 else 15
        lines.append((abs(hier["final"] - unl["final"]) <= 1.0,
                      f"E={e}: hier {hier['final']:.2f} vs unlimited {unl['final']:.2f} "
                      f"(within 1 point)"))
        if e in (1, 3):
            lines.append((gain >= need, f"E={e}: hier - ram = {gain:+.2f} points (>= +{need})"))
        ratio = hier["seconds"] / ram["seconds"]
        lines.append((ratio <= 1.1, f"E={e}: hier training time {ratio:.2f}x ram's (<= 1.1x)"))
        if ("hier-0.2", e) in rows:
            kept = (rows[("hier-0.2", e)]["final"] - ram["final"]) / gain if gain > 0 else 0.0
            lines.append((kept >= 0.75,
                          f"E={e}: swap ratio 0.2 keeps {kept * 100:.0f}% of the gain (>= 75%)"))
    return lines


def plot(rows, methods, epochs_list, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(epochs_list), figsize=(5.5 * len(epochs_list), 4),
                             squeeze=False)
    for ax, e in zip(axes[0], epochs_list):
        for m in methods:
            r = rows[(m, e)]
            if r["curve"] is None:
                ax.axhline(r["final"], linestyle="--", color="gray", label=f"{m} (final)")
            else:
                ax.plot(range(1, len(r["curve"]) + 1), r["curve"], marker="o", label=m)
        ax.set_title(f"Split Fashion-MNIST, {e} epoch(s)/task")
        ax.set_xlabel("tasks learned")
        ax.set_ylabel("average accuracy on seen tasks (%)")
        ax.set_xticks(range(1, 6))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="5 seeds, E = 1, 3 and 5")
    p.add_argument("--smoke", action="store_true", help="a few seconds (CI)")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (default 3)")
    p.add_argument("--epochs", type=int, nargs="+", default=None, help="epochs per task")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--memory", type=int, default=200, help="M: DRAM episodic-memory samples")
    add_training_args(p, "build/demo")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args()
    args.quiet = args.quiet or args.smoke
    seeds = list(range(args.seeds or (5 if args.full else 1 if args.smoke else 3)))
    epochs_list = args.epochs or ([1, 3, 5] if args.full else [1] if args.smoke else [1, 3])
    torch.set_num_threads(args.threads)
    os.makedirs(args.dir, exist_ok=True)

    t_start = time.perf_counter()
    train_x, train_y = load(args.data_dir, "train")
    test_x, test_y = load(args.data_dir, "test")
    tasks, test_tasks = split_tasks(train_y), split_tasks(test_y)
    if args.smoke:
        tasks = [t[:600] for t in tasks]
        test_tasks = [t[:200] for t in test_tasks]
    data = ((train_x, train_y, tasks), (test_x, test_y, test_tasks))
    print(f"Fashion-MNIST: {sum(map(len, tasks))} train / {sum(map(len, test_tasks))} test images "
          f"in 5 tasks; methods {', '.join(args.methods)}; M = {args.memory}; batches "
          f"{args.stream_batch} stream + {args.memory_batch} replay; E = {epochs_list}; "
          f"{len(seeds)} seed(s); energy: {strata.EnergyMeter().source}")

    results = {}
    for e in epochs_list:
        for s in seeds:
            for m in args.methods:
                results[(m, e, s)] = run_method(m, s, e, data, args, args.dir)
                r = results[(m, e, s)]
                if args.quiet or tqdm is None:
                    print(f"  {m:<10} E={e} seed={s}: final {final_avg(r['acc']) * 100:.2f}%, "
                          f"{r['train_seconds']:.1f} s", flush=True)
    rows = summarize(results, args.methods, epochs_list, seeds)
    print_table(rows, args.methods, epochs_list, seeds)
    lines = check_targets(rows, epochs_list)
    if lines:
        print("\ntargets (docs/workloads E2):")
        for ok, text in lines:
            print(f"  {'PASS' if ok else 'MISS'}  {text}")
    png = os.path.join(args.dir, "continual_accuracy.png")
    plot(rows, args.methods, epochs_list, png)
    out = os.path.join(args.dir, "continual_results.json")
    with open(out, "w") as f:
        json.dump({f"{m}/E{e}/seed{s}": {**r, "acc": r["acc"].tolist()}
                   for (m, e, s), r in results.items()}, f, indent=1)
    print(f"\nplot: {png}\nresults: {out}\ntotal {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
