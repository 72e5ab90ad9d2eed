"""Shared helpers for the Python benchmarks (bench/python/w*.py, e1.py): per-call timing, the
vectorized NumPy references (ring buffer, power-of-two sum/min trees), the results table, and the
C++ figures from build/release/bench/strata_bench run in the same process tree."""

import os
import re
import subprocess
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CPP_BENCH = os.path.join(REPO, "build", "release", "bench", "strata_bench")


class Timing:
    """Per-call seconds of one measured case: p50, p99, mean."""

    def __init__(self, seconds):
        s = sorted(seconds)
        self.p50 = s[len(s) // 2]
        self.p99 = s[min(len(s) - 1, int(len(s) * 0.99))]
        self.mean = sum(s) / len(s)


def time_calls(fn, calls, warmup):
    """Times `calls` calls of fn() one by one after `warmup` untimed calls (each call here is
    tens of microseconds or more, far above perf_counter's resolution)."""
    for _ in range(warmup):
        fn()
    clock = time.perf_counter
    out = [0.0] * calls
    for i in range(calls):
        t0 = clock()
        fn()
        out[i] = clock() - t0
    return Timing(out)


def median_of(runs):
    """The run (a Timing) with the median p50, from repeated measurements of one case."""
    runs = sorted(runs, key=lambda t: t.p50)
    return runs[len(runs) // 2]


def interleaved(cases, calls, warmup, repeats):
    """Measures each (name, fn) `repeats` times, interleaving the cases so that a noisy stretch
    of the machine hits all of them alike; returns {name: median Timing}."""
    runs = {name: [] for name, _ in cases}
    for name, fn in cases:  # warm every case once before any timing
        for _ in range(warmup):
            fn()
    for _ in range(repeats):
        for name, fn in cases:
            runs[name].append(time_calls(fn, calls, 1))
    return {name: median_of(r) for name, r in runs.items()}


class NumpyRing:
    """A plain NumPy ring buffer of fixed-shape fields (np.take for row gathers)."""

    def __init__(self, fields, capacity, seed=0):
        self.cols = {k: np.zeros((capacity,) + tuple(shape), dtype) for k, (dtype, shape) in fields.items()}
        self.capacity, self.n, self.pos = capacity, 0, 0
        self.rng = np.random.default_rng(seed)

    def insert_batch(self, items):
        m = len(next(iter(items.values())))
        idx = (self.pos + np.arange(m)) % self.capacity
        for k, v in items.items():
            self.cols[k][idx] = v
        self.pos = (self.pos + m) % self.capacity
        self.n = min(self.n + m, self.capacity)
        return idx

    def gather(self, idx):
        return {k: np.take(c, idx, axis=0) for k, c in self.cols.items()}

    def sample(self, batch):
        idx = self.rng.integers(0, self.n, batch)
        return self.gather(idx), idx


class NumpySumTree:
    """The strongest plain-NumPy prioritized sampler we know how to write: power-of-two sum and
    min trees in flat float64 arrays (root at 1, leaves at [P, 2P)), a vectorized level-by-level
    descent for a whole batch, and batched updates that recompute each level once (fancy indexing
    while the touched nodes are few, a dense slice once the level is smaller than the batch).

    Stores p**alpha; sample() returns (indices, importance weights normalized by the max weight,
    as in Schaul et al.)."""

    def __init__(self, capacity, alpha, beta, seed=0):
        self.P = 1 << max(0, int(capacity - 1).bit_length())
        self.depth = self.P.bit_length() - 1
        self.alpha, self.beta = alpha, beta
        self.sum = np.zeros(2 * self.P)
        self.min = np.full(2 * self.P, np.inf)
        self.size = 0
        self.rng = np.random.default_rng(seed)

    def _rebuild_all(self):
        for lvl in range(self.depth - 1, -1, -1):
            lo, hi = 1 << lvl, 2 << lvl
            self.sum[lo:hi] = self.sum[2 * lo:2 * hi:2] + self.sum[2 * lo + 1:2 * hi:2]
            self.min[lo:hi] = np.minimum(self.min[2 * lo:2 * hi:2], self.min[2 * lo + 1:2 * hi:2])

    def set_all(self, priorities):
        """Fills leaves [0, n) at once (the initial load)."""
        n = len(priorities)
        v = np.power(priorities, self.alpha)
        self.sum[self.P:self.P + n] = v
        self.min[self.P:self.P + n] = v
        self.size = max(self.size, n)
        self._rebuild_all()

    def update(self, idx, priorities):
        v = np.power(priorities, self.alpha)
        node = idx + self.P
        self.sum[node] = v
        self.min[node] = v
        s, m = self.sum, self.min
        for lvl in range(self.depth - 1, -1, -1):
            lo = 1 << lvl
            if lo <= len(node):  # the level is no bigger than the batch: recompute it densely
                hi = 2 * lo
                s[lo:hi] = s[2 * lo:2 * hi:2] + s[2 * lo + 1:2 * hi:2]
                m[lo:hi] = np.minimum(m[2 * lo:2 * hi:2], m[2 * lo + 1:2 * hi:2])
            else:
                node >>= 1
                left = node << 1
                s[node] = s[left] + s[left + 1]
                m[node] = np.minimum(m[left], m[left + 1])

    def sample(self, batch):
        total = self.sum[1]
        u = self.rng.random(batch) * total
        if batch >= 4096:
            u.sort()  # the same draws, in order: the descent then reads memory in order
        node = np.ones(batch, np.int64)
        s = self.sum
        for _ in range(self.depth):
            node <<= 1
            lv = s[node]
            right = u >= lv
            u -= lv * right
            node += right
        idx = np.minimum(node - self.P, self.size - 1)  # float round-off past the last leaf
        p = s[idx + self.P]
        # w_i / max w = (p_i / p_min) ** -beta
        w = np.power(p / self.min[1], -self.beta)
        return idx, w


def run_cpp(workloads, toy):
    """Runs strata_bench for `workloads` and returns {case name: (items/s, p50 us, p99 us)}, or
    None when the binary is not built."""
    if not os.path.exists(CPP_BENCH):
        return None
    cmd = [CPP_BENCH] + (["--toy"] if toy else []) + list(workloads)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(W\d .*?)\s{2,}(\d+)\s+([\d.]+)\s+([\d.]+)\s+\d+", line)
        if m:
            rows[m.group(1).strip()] = (float(m.group(2)), float(m.group(3)), float(m.group(4)))
    return rows


def print_table(header, rows):
    """rows: tuples of strings, printed in aligned columns under `header`."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt(r))
