#!/usr/bin/env python3
"""W3 from Python (shared/design/workloads.md): prioritized alpha=0.7 beta=0.5, capacity 1M and
10M, priorities linspace(0.1, 1); sample a batch of 256 or 65,536 (with importance weights), then
update the sampled items' priorities.

Targets from Python at 1M, batch 256: sample + weights <= 30 us, update <= 60 us (the C++ targets,
20 / 50 us, plus the binding); at 10M, batch 65,536: sample + update <= 10 ms. In the same run, as
the reference, a vectorized NumPy sum/min tree (common.NumpySumTree) with a NumPy column for the
item field. Each case: per-call p50/p99 of the repeat with the median p50.
Run: python3 bench/python/w3.py [--toy | --quick (1M only)]
"""

import argparse

import numpy as np

import strata
from common import NumpySumTree, interleaved, print_table

ALPHA, BETA = 0.7, 0.5


def bench_capacity(cap, batches, args):
    pr = np.linspace(0.1, 1.0, cap)
    table = strata.Table("w3", {"x": np.float32}, capacity=cap,
                         sampler=strata.Prioritized(alpha=ALPHA, beta=BETA), seed=1)
    chunk = 1 << 20
    for lo in range(0, cap, chunk):
        hi = min(cap, lo + chunk)
        table.insert({"x": np.arange(lo, hi, dtype=np.float32)}, priorities=pr[lo:hi])
    tree = NumpySumTree(cap, ALPHA, BETA, seed=2)
    tree.set_all(pr)
    xcol = np.arange(cap, dtype=np.float32)

    out = []
    for batch in batches:
        if batch > cap:
            continue
        if args.toy:
            calls, repeats, warmup = 10, 3, 2
        elif batch <= 256:
            calls, repeats, warmup = 2_000, 5, 100
        else:
            calls, repeats, warmup = 15, 5, 3
        # New priorities as in the C++ bench: 0.1 + 0.9 * (i % 97) / 97, fixed across calls.
        newp = 0.1 + 0.9 * (np.arange(batch) % 97) / 97
        last = {}

        def s_sample():
            b = table.sample(batch)
            b["x"], b.weights
            last["s"] = b.keys

        def n_sample():
            idx, w = tree.sample(batch)
            np.take(xcol, idx)
            last["n"] = idx

        s_sample(), n_sample()
        # Update the keys of one sampled batch, again and again (as the C++ bench does).
        res = interleaved([("s_sample", s_sample), ("n_sample", n_sample)], calls, warmup, repeats)
        skeys, nidx = last["s"], last["n"]
        res.update(interleaved([("s_update", lambda: table.update_priorities(skeys, newp)),
                                ("n_update", lambda: tree.update(nidx, newp))], calls, warmup, repeats))
        out.append((cap, batch, res))
    table.close()
    return out


def fmt_us(t):
    return f"{t * 1e6:,.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--toy", action="store_true", help="tiny sizes, to check the script runs")
    ap.add_argument("--quick", action="store_true", help="1M only (skip 10M)")
    args = ap.parse_args()
    caps = [10_000, 20_000] if args.toy else ([1_000_000] if args.quick else [1_000_000, 10_000_000])
    batches = [256, 4_096] if args.toy else [256, 65_536]

    results = []
    for cap in caps:
        results += bench_capacity(cap, batches, args)

    rows = []
    for cap, batch, r in results:
        tag = f"{cap // 1000:,}K b={batch:,}"
        targets = {}
        if cap == 1_000_000 and batch == 256:
            targets = {"sample+weights": 30e-6, "update": 60e-6}
        if cap == 10_000_000 and batch == 65_536:
            targets = {"sample+update": 10e-3}
        for what, s, n in (("sample+weights", r["s_sample"], r["n_sample"]),
                           ("update", r["s_update"], r["n_update"])):
            t = targets.get(what)
            rows.append([f"W3 {tag} {what}", fmt_us(s.p50), fmt_us(s.p99), f"{batch / s.p50 / 1e6:.2f}",
                         fmt_us(n.p50), fmt_us(n.p99), f"{n.p50 / s.p50:.1f}x",
                         f"<= {fmt_us(t)}" if t else "-",
                         ("met" if s.p50 <= t else "MISSED") if t else "-"])
        both = r["s_sample"].p50 + r["s_update"].p50
        nboth = r["n_sample"].p50 + r["n_update"].p50
        t = targets.get("sample+update")
        rows.append([f"W3 {tag} sample+update", fmt_us(both), "", "", fmt_us(nboth), "",
                     f"{nboth / both:.1f}x", f"<= {fmt_us(t)}" if t else "-",
                     ("met" if both <= t else "MISSED") if t else "-"])
    print(f"W3 from Python: prioritized alpha={ALPHA} beta={BETA}, priorities linspace(0.1, 1); "
          "per call, median of repeats")
    print_table(["case", "strata p50us", "p99us", "M it/s", "numpy p50us", "p99us", "vs numpy",
                 "target us", "met"], rows)


if __name__ == "__main__":
    main()
