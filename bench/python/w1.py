#!/usr/bin/env python3
"""W1 from Python (shared/design/workloads.md): item {a: f32[5], b: u8[3,32,32]} (3,092 B), a full
table of 10,000, batch 256; uniform sample, and prioritized (alpha=1, beta=0.9) sample, and sample
+ update_priorities of the sampled batch.

Target from Python: within 20% of the C++ figure (build/release/bench/strata_bench w1, run by this
script in the same run when it is built). In the same run, as references, a plain NumPy ring
buffer (np.take row gathers) and, for prioritized, a vectorized NumPy sum/min tree (common.py).
Each case: per-call p50/p99 of the repeat with the median p50; items/s = 256 / p50.
Run: python3 bench/python/w1.py [--toy] [--no-cpp]
"""

import argparse

import numpy as np

import strata
from common import NumpyRing, NumpySumTree, interleaved, print_table, run_cpp

BATCH = 256
FIELDS = {"a": (np.float32, (5,)), "b": (np.uint8, (3, 32, 32))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--toy", action="store_true", help="tiny sizes, to check the script runs")
    ap.add_argument("--no-cpp", action="store_true", help="skip the C++ column")
    args = ap.parse_args()
    n = 1_000 if args.toy else 10_000
    calls, repeats, warmup = (20, 3, 5) if args.toy else (1_000, 7, 50)

    rng = np.random.default_rng(1)
    data = {"a": rng.standard_normal((n, 5), dtype=np.float32),
            "b": rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)}
    # New priorities for the sampled batch, in [0.1, 1.1) as in the C++ bench; drawn ahead of time
    # so that the draw is no part of either side's cost.
    pool = [rng.uniform(0.1, 1.1, BATCH) for _ in range(64)]

    uni = strata.Table("w1u", FIELDS, capacity=n, seed=1)
    uni.insert(data)
    pri = strata.Table("w1p", FIELDS, capacity=n, sampler=strata.Prioritized(alpha=1.0, beta=0.9), seed=2)
    pri.insert(data)
    ring = NumpyRing(FIELDS, n, seed=3)
    ring.insert_batch(data)
    tree = NumpySumTree(n, alpha=1.0, beta=0.9, seed=4)
    tree.set_all(np.ones(n))

    state = {"i": 0}

    def next_p():
        state["i"] = (state["i"] + 1) & 63
        return pool[state["i"]]

    def s_uniform():
        b = uni.sample(BATCH)
        return b["a"], b["b"]

    def n_uniform():
        return ring.sample(BATCH)

    def s_pri():
        b = pri.sample(BATCH)
        return b["a"], b["b"], b.weights, b.keys

    def n_pri():
        idx, w = tree.sample(BATCH)
        return ring.gather(idx), w, idx

    def s_pri_update():
        b = pri.sample(BATCH)
        b["a"], b["b"], b.weights
        pri.update_priorities(b.keys, next_p())

    def n_pri_update():
        idx, w = tree.sample(BATCH)
        ring.gather(idx)
        tree.update(idx, next_p())

    cases = [
        ("W1 uniform sample b=256", s_uniform, n_uniform),
        ("W1 prioritized sample b=256", s_pri, n_pri),
        ("W1 prioritized sample+update b=256", s_pri_update, n_pri_update),
    ]
    res = interleaved([(c + "/s", s) for c, s, _ in cases] + [(c + "/n", f) for c, _, f in cases],
                      calls, warmup, repeats)
    cpp = None if args.no_cpp else run_cpp(["w1"], args.toy)

    rows = []
    for case, _, _ in cases:
        s, nref = res[case + "/s"], res[case + "/n"]
        row = [case, f"{s.p50 * 1e6:.1f}", f"{s.p99 * 1e6:.1f}", f"{BATCH / s.p50 / 1e6:.2f}",
               f"{nref.p50 * 1e6:.1f}", f"{BATCH / nref.p50 / 1e6:.2f}", f"{nref.p50 / s.p50:.2f}x"]
        if cpp and case in cpp:
            c50 = cpp[case][1] * 1e-6
            ratio = c50 / s.p50
            row += [f"{c50 * 1e6:.1f}", f"{BATCH / c50 / 1e6:.2f}", f"{ratio:.0%}",
                    "met" if ratio >= 0.8 else "MISSED"]
        else:
            row += ["-", "-", "-", "-"]
        rows.append(row)
    print(f"W1 from Python: table {n:,} full, batch {BATCH}; medians of {repeats} repeats x {calls} calls "
          f"(items/s = batch / p50)")
    print_table(["case", "strata p50us", "p99us", "M it/s", "numpy p50us", "M it/s", "vs numpy",
                 "C++ p50us", "M it/s", "py/C++", "target>=80%"], rows)
    if cpp is None and not args.no_cpp:
        print("(C++ column skipped: build/release/bench/strata_bench is not built)")


if __name__ == "__main__":
    main()
