#!/usr/bin/env python3
"""E1 (shared/design/workloads.md): a PyTorch MLP (784-256-256-10, SGD) trained on Fashion-MNIST
with batches of 256 drawn uniformly from a Strata table, vs the same loop indexing an in-memory
torch tensor with random indices. Target: Strata's loop >= 95% of the tensor loop's steps/s, both
measured in the same run (interleaved repeats, medians).

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist, IDX gzip), read with
gzip + NumPy; with --toy and no data installed, random data of the same shape stands in.
Needs python3-torch; without libopenblas0-pthread torch's CPU step is several times slower
(the ratio still holds, the absolute steps/s do not). torch.set_num_threads(2) by default.
Run: python3 bench/python/e1.py [--toy]
"""

import argparse
import gzip
import os
import subprocess
import sys
import time

import numpy as np

import strata

DATA = "/usr/share/datasets/fashion-mnist"
BATCH = 256


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", ndim, 4).astype(int)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(toy):
    img = os.path.join(DATA, "train-images-idx3-ubyte.gz")
    if os.path.exists(img):
        x = read_idx(img).reshape(-1, 784)
        y = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))
        return x, y, "fashion-mnist train"
    if not toy:
        sys.exit(f"{img} is missing: apt-get install -y dataset-fashion-mnist")
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (6_000, 784), dtype=np.uint8), rng.integers(0, 10, 6_000, dtype=np.uint8),
            "random stand-in (dataset-fashion-mnist not installed)")


def have_pthread_openblas():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "libopenblas0-pthread"],
                             capture_output=True, text=True).stdout
        return "install ok installed" in out
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--toy", action="store_true", help="a few steps, to check the script runs")
    ap.add_argument("--steps", type=int, default=100, help="training steps per timed repeat")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats of each loop")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    args = ap.parse_args()
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    x8, y8, source = load(args.toy)
    if args.toy:
        x8, y8 = x8[:6_000], y8[:6_000]
    n = len(x8)
    x = (x8.astype(np.float32) / 255.0 - 0.2860) / 0.3530  # Fashion-MNIST mean / std
    y = y8.astype(np.int64)
    steps, repeats, warmup = (10, 2, 3) if args.toy else (args.steps, args.repeats, 20)

    table = strata.Table("e1", {"x": (np.float32, (784,)), "y": np.int64}, capacity=n, seed=1)
    table.insert({"x": x, "y": y})
    X, Y = torch.from_numpy(x), torch.from_numpy(y)

    def make():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                    torch.nn.ReLU(), torch.nn.Linear(256, 10))
        return model, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(model, opt, xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    gen = torch.Generator().manual_seed(2)

    def strata_batch():
        b = table.sample(BATCH)
        return torch.from_numpy(b["x"]), torch.from_numpy(b["y"])

    def tensor_batch():
        idx = torch.randint(0, n, (BATCH,), generator=gen)
        return X[idx], Y[idx]

    loops = {"strata": (strata_batch, *make()), "tensor": (tensor_batch, *make())}
    losses = {k: [] for k in loops}

    def run(name, k):
        batch, model, opt = loops[name]
        last = None
        for _ in range(k):
            last = step(model, opt, *batch())
        losses[name].append(float(last))

    for name in loops:
        run(name, warmup)
    rates = {k: [] for k in loops}
    for r in range(repeats):
        order = list(loops) if r % 2 == 0 else list(loops)[::-1]  # alternate who goes first
        for name in order:
            t0 = time.perf_counter()
            run(name, steps)
            rates[name].append(steps / (time.perf_counter() - t0))

    # The draw alone (no training step), for what the table costs per batch.
    draw = {}
    for name, fn in (("strata", strata_batch), ("tensor", tensor_batch)):
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(50):
                fn()
            ts.append((time.perf_counter() - t0) / 50)
        draw[name] = sorted(ts)[2]

    med = {k: sorted(v)[len(v) // 2] for k, v in rates.items()}
    ratio = med["strata"] / med["tensor"]
    print(f"E1: MLP 784-256-256-10, SGD, batch {BATCH}, {source} ({n:,} items), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, libopenblas0-pthread {'yes' if have_pthread_openblas() else 'NO'}")
    print(f"    medians of {repeats} interleaved repeats x {steps} steps")
    print(f"{'loop':8s} {'steps/s':>9s} {'ms/step':>8s} {'draw us':>8s} {'last loss':>9s}  all repeats (steps/s)")
    for k in loops:
        print(f"{k:8s} {med[k]:9.1f} {1e3 / med[k]:8.2f} {draw[k] * 1e6:8.1f} {losses[k][-1]:9.3f}  "
              + " ".join(f"{v:.0f}" for v in rates[k]))
    print(f"strata / tensor = {ratio:.1%}  (target >= 95%: {'met' if ratio >= 0.95 else 'MISSED'})")


if __name__ == "__main__":
    main()
