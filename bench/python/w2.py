#!/usr/bin/env python3
"""W2 from Python (shared/design/workloads.md): item = float32[4]; 10,000 single-item inserts;
uniform samples of 32 / 256 / 1,024 from a full 100,000-item table.

Targets from Python: >= 1M single inserts/s, batch-32 sample <= 5 us. In the same run, as the
reference, a plain NumPy ring buffer (preallocated array, write one row, random-index gather).

Prints the median and p99 over repetitions (each repetition times many calls, because one call is
shorter than the timer's resolution is useful for). Run: python3 bench/python/w2.py [--toy]
"""

import argparse
import time

import numpy as np

import strata


def measure(fn, calls, reps):
    """Per-call seconds of `fn` (which makes `calls` calls), over `reps` repetitions."""
    per_call = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        per_call.append((time.perf_counter() - start) / calls)
    per_call.sort()
    return per_call[len(per_call) // 2], per_call[min(len(per_call) - 1, int(len(per_call) * 0.99))]


class NumpyRing:
    """The reference: what a user writes without Strata."""

    def __init__(self, capacity, dim, seed=0):
        self.x = np.zeros((capacity, dim), np.float32)
        self.capacity, self.n, self.pos = capacity, 0, 0
        self.rng = np.random.default_rng(seed)

    def insert(self, item):
        self.x[self.pos] = item
        self.pos = (self.pos + 1) % self.capacity
        self.n = min(self.n + 1, self.capacity)

    def sample(self, batch):
        idx = self.rng.integers(0, self.n, batch)
        return np.take(self.x, idx, axis=0), idx


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--toy", action="store_true", help="tiny sizes, to check the script runs")
    args = ap.parse_args()
    cap = 2_000 if args.toy else 100_000
    inserts = 1_000 if args.toy else 10_000
    reps = 3 if args.toy else 30

    item = np.arange(4, dtype=np.float32)
    table = strata.Table("w2", {"x": (np.float32, (4,))}, capacity=cap)
    ring = NumpyRing(cap, 4)
    d = {"x": item}

    def strata_inserts():
        insert = table.insert
        for _ in range(inserts):
            insert(d)

    def ring_inserts():
        insert = ring.insert
        for _ in range(inserts):
            insert(item)

    rows = []
    for name, fn in (("strata", strata_inserts), ("numpy ring", ring_inserts)):
        med, p99 = measure(fn, inserts, reps)
        rows.append((f"W2 single insert ({name})", med, p99, f"{1 / med / 1e6:.2f} M inserts/s"))

    table.insert({"x": np.zeros((cap, 4), np.float32)})
    ring.x[:] = 0
    ring.n = cap
    calls = 100 if args.toy else 2_000
    for batch in (32, 256, 1024):
        def strata_sample():
            sample = table.sample
            for _ in range(calls):
                sample(batch)["x"]  # the field array is what a training step uses

        def ring_sample():
            sample = ring.sample
            for _ in range(calls):
                sample(batch)

        for name, fn in (("strata", strata_sample), ("numpy ring", ring_sample)):
            med, p99 = measure(fn, calls, reps)
            rows.append((f"W2 uniform sample b={batch} ({name})", med, p99, f"{batch / med / 1e6:.1f} M items/s"))

    print(f"{'workload':42s} {'p50 us':>9s} {'p99 us':>9s}  throughput")
    for name, med, p99, tput in rows:
        print(f"{name:42s} {med * 1e6:9.3f} {p99 * 1e6:9.3f}  {tput}")
    print("targets from Python: >= 1M single inserts/s (<= 1 us), batch-32 sample <= 5 us")


if __name__ == "__main__":
    main()
