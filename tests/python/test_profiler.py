"""strata.profiler: the cutline, the pick (best gain per joule among the kept), ties, the cost
terms (meter, DRAM, SSD bytes under RAPL), the meter plug point and its errors, with a fake
deterministic run and fake meters; then one small real profile of sklearn's 8x8 digits through
strata.continual.Runtime.
"""

import math

import numpy as np
import pytest

import strata
import strata.profiler
from strata.profiler import Candidate, Profiler, RunResult, profile


class FakeMeter:
    """start()/read() with the joules the fake run sets for itself; named by `source`."""

    def __init__(self, source="model"):
        self.source = source
        self.next_joules = 0.0
        self.io_bytes = 0
        self.starts = 0

    def start(self):
        self.starts += 1
        self.io_bytes = 0

    def add_io_bytes(self, n):
        self.io_bytes += n

    def read(self):
        return self.next_joules


def fake_run(meter, table):
    """run(candidate, budget): accuracy and joules from `table[(m, s)] = (accuracy, joules)`."""
    calls = []

    def run(c, budget):
        calls.append((c, budget))
        acc, joules = table[(c.memory_dram_items, c.stream_items)]
        meter.next_joules = joules
        return RunResult(acc, dram_bytes=0)  # no DRAM term: costs are exactly the table's

    run.calls = calls
    return run


def profile_table(table, baseline=0.5, **kwargs):
    meter = FakeMeter()
    run = fake_run(meter, table)
    report = Profiler(run, meter=meter, **kwargs).profile(list(table), baseline=baseline)
    return report, run, meter


# ---- Cutline and pick


TABLE = {  # (M, S): (validation accuracy, joules)
    (50, 1000): (0.60, 2.0),  # the cheapest: best gain per joule overall, but not kept
    (50, 4000): (0.70, 40.0),
    (100, 1000): (0.72, 12.0),  # kept: best gain per joule among the kept
    (100, 4000): (0.80, 45.0),  # the most accurate
    (200, 1000): (0.74, 30.0),
    (200, 4000): (0.65, 50.0),
}


def test_cutline_keeps_the_most_accurate_fraction():
    report, run, meter = profile_table(TABLE, budget=0.1)
    kept = {t.candidate for t in report.kept}
    assert kept == {Candidate(100, 4000), Candidate(200, 1000), Candidate(100, 1000)}
    assert [c for c, _ in run.calls] == [Candidate(*k) for k in TABLE]  # grid order, once each
    assert all(b == 0.1 for _, b in run.calls)
    assert meter.starts == len(TABLE)
    assert report.cutline == 0.5 and report.budget == 0.1
    # ceil(0.2 * 6) = 2; the whole grid at 1; at least one however small.
    assert len(profile_table(TABLE, cutline=0.2)[0].kept) == 2
    assert len(profile_table(TABLE, cutline=1.0)[0].kept) == 6
    assert [t.candidate for t in profile_table(TABLE, cutline=1e-6)[0].kept] == [
        Candidate(100, 4000)]
    # recut() decides again from the same trials, without running anything.
    calls = len(run.calls)
    tight = report.recut(0.2)
    assert {t.candidate for t in tight.kept} == {Candidate(100, 4000), Candidate(200, 1000)}
    assert tight.pick.candidate == Candidate(200, 1000)  # 0.24 / 30 J > 0.3 / 45 J
    assert tight.cutline == 0.2 and tight.total_joules == report.total_joules
    assert report.recut(1.0).pick.candidate == Candidate(50, 1000)  # the cheapest, uncut
    assert len(run.calls) == calls
    with pytest.raises(ValueError, match="cutline"):
        report.recut(0)


def test_pick_is_the_best_gain_per_joule_among_the_kept():
    report, _, _ = profile_table(TABLE)
    assert report.pick.candidate == Candidate(100, 1000)
    assert report.pick.kept
    for t in report.trials:
        assert t.gain == pytest.approx(TABLE[(t.candidate.memory_dram_items,
                                              t.candidate.stream_items)][0] - 0.5)
        assert t.cost_joules == t.meter_joules
    # The cheapest has the best ratio of all (0.1 / 2 J) but is cut; the most accurate is not
    # the pick (0.3 / 45 J < 0.22 / 12 J).
    cheapest = report.trial((50, 1000))
    assert not cheapest.kept and cheapest.gain_per_joule > report.pick.gain_per_joule
    assert report.total_joules == pytest.approx(sum(j for _, j in TABLE.values()))
    assert report.source == "model" and all(t.source == "model" for t in report.trials)
    assert "*" in report.table().splitlines()[3]  # (100, 1000), the third row after the header
    d = report.as_dict()
    assert d["pick"] == {"memory_dram_items": 100, "stream_items": 1000}
    assert len(d["trials"]) == 6 and d["source"] == "model"
    with pytest.raises(KeyError):
        report.trial((1, 1))


def test_cutline_keeps_every_candidate_tied_at_the_edge():
    table = {(1, 1): (0.9, 10.0), (2, 2): (0.8, 10.0), (3, 3): (0.8, 5.0), (4, 4): (0.5, 1.0)}
    report, _, _ = profile_table(table)  # ceil(0.5 * 4) = 2, but (2, 2) and (3, 3) tie
    assert {t.candidate for t in report.kept} == {Candidate(1, 1), Candidate(2, 2),
                                                   Candidate(3, 3)}
    assert report.pick.candidate == Candidate(3, 3)  # 0.3 / 5 J


def test_ties_go_to_the_higher_accuracy_then_grid_order():
    # Equal gain per joule (0.1 / 10 J = 0.2 / 20 J): the more accurate one.
    table = {(1, 1): (0.6, 10.0), (2, 2): (0.7, 20.0)}
    assert profile_table(table, cutline=1.0)[0].pick.candidate == Candidate(2, 2)
    # Identical results: the first in the grid.
    table = {(2, 2): (0.7, 20.0), (1, 1): (0.7, 20.0)}
    assert profile_table(table, cutline=1.0)[0].pick.candidate == Candidate(2, 2)


def test_no_gain_over_the_baseline_picks_the_cheapest_kept():
    table = {(1, 1): (0.4, 10.0), (2, 2): (0.45, 30.0), (3, 3): (0.42, 20.0), (4, 4): (0.1, 1.0)}
    report, _, _ = profile_table(table)  # baseline 0.5: every gain < 0
    assert {t.candidate for t in report.kept} == {Candidate(2, 2), Candidate(3, 3)}
    assert report.pick.candidate == Candidate(3, 3)


def test_default_baseline_is_the_smallest_candidate():
    meter = FakeMeter()
    table = {(100, 100): (0.8, 20.0), (10, 50): (0.6, 10.0), (50, 100): (0.7, 15.0)}
    report = profile(fake_run(meter, table), list(table), meter=meter, cutline=1.0)
    assert report.baseline == 0.6  # (10, 50): 60 items in DRAM
    assert report.trial((10, 50)).gain == 0
    assert report.pick.candidate == Candidate(100, 100)  # 0.2 / 20 J > 0.1 / 15 J


# ---- Cost terms and the meter plug point


def test_dram_term_charges_bytes_held_times_seconds():
    meter = FakeMeter()

    def run(c, budget):
        meter.next_joules = 1.0
        return 0.7 if c.stream_items else RunResult(0.6, dram_bytes=2**30)

    p = Profiler(run, row_bytes=784, meter=meter)
    t = p.measure((100, 1000))
    assert t.dram_bytes == 1100 * 784
    assert t.dram_joules == pytest.approx(1100 * 784 * t.seconds * 0.375 / 2**30)
    assert t.cost_joules == pytest.approx(1.0 + t.dram_joules)
    t = p.measure(Candidate(10, 0))  # the run's own figure wins over row_bytes
    assert t.dram_bytes == 2**30
    assert t.dram_joules == pytest.approx(t.seconds * strata.profiler.DRAM_WATTS_PER_GIB)
    with pytest.raises(ValueError, match="row_bytes"):
        Profiler(lambda c, b: 0.5, meter=meter).measure((1, 1))


def test_io_bytes_go_to_the_model_meter_and_are_added_under_rapl():
    for source in ("model", "rapl"):
        meter = FakeMeter(source)

        def run(c, budget):
            meter.next_joules = 2.0
            return RunResult(0.5, dram_bytes=0, io_bytes=4 * 10**9)

        t = Profiler(run, meter=meter).measure((1, 1))
        assert meter.io_bytes == 4 * 10**9  # passed to the meter either way
        assert t.io_bytes == 4 * 10**9 and t.source == source
        # The model charged them in its joules; RAPL does not see the SSD: 2.5 nJ/B added.
        assert t.io_joules == (0.0 if source == "model" else pytest.approx(10.0))


def test_energy_meter_model_passes_through():
    meter = strata.EnergyMeter(force_model=True, watts_per_busy_core=20.0,
                               nanojoules_per_io_byte=1.0)

    def run(c, budget):
        x, start = 0, __import__("time").process_time()
        while __import__("time").process_time() - start < 0.05:
            x += 1
        return RunResult(0.5, dram_bytes=0, io_bytes=10**9)

    p = Profiler(run, meter=meter)
    assert p.source == "model"
    t = p.measure((1, 1))
    assert t.source == "model" and t.io_joules == 0
    assert t.cpu_seconds >= 0.05
    assert t.meter_joules == pytest.approx(t.cpu_seconds * 20.0 + 1.0, rel=1e-6)


def test_energy_meter_rapl_passes_through(tmp_path):
    pkg = tmp_path / "intel-rapl:0"
    pkg.mkdir()
    (pkg / "energy_uj").write_text("1000000\n")
    (pkg / "max_energy_range_uj").write_text("262143328850\n")
    (pkg / "name").write_text("package-0\n")
    meter = strata.EnergyMeter(powercap_root=tmp_path)
    assert meter.source == "rapl"
    used = {(1, 1): 3_000_000, (2, 2): 7_000_000}  # microjoules each run adds to the counter

    def run(c, budget):
        now = int((pkg / "energy_uj").read_text())
        (pkg / "energy_uj").write_text(f"{now + used[(c.memory_dram_items, c.stream_items)]}\n")
        return RunResult(0.5 + 0.1 * c.stream_items, dram_bytes=0, io_bytes=4 * 10**8)

    report = Profiler(run, meter=meter, cutline=1.0).profile([(1, 1), (2, 2)], baseline=0.5)
    assert report.source == "rapl"
    assert report.trial((1, 1)).meter_joules == pytest.approx(3.0)
    assert report.trial((2, 2)).meter_joules == pytest.approx(7.0)
    assert report.trial((2, 2)).io_joules == pytest.approx(4 * 10**8 * meter.nanojoules_per_io_byte
                                                           * 1e-9)
    assert report.pick.candidate == Candidate(2, 2)  # 0.2 / 8 J > 0.1 / 4 J


def test_callable_meter():
    counter = {"j": 100.0}

    def run(c, budget):
        counter["j"] += 5.0 * c.memory_dram_items
        return RunResult(0.5 + 0.1 * c.memory_dram_items, dram_bytes=0)

    report = profile(run, [(1, 0), (2, 0)], meter=lambda: counter["j"], cutline=1.0)
    assert report.source == "custom"
    assert [t.meter_joules for t in report.trials] == [5.0, 10.0]
    assert report.baseline == 0.6


def test_errors():
    meter = FakeMeter()
    ok = fake_run(meter, {(1, 1): (0.5, 1.0)})
    with pytest.raises(ValueError, match="at least one"):
        Profiler(ok, meter=meter).profile([])
    for bad in (0, 0.0, -0.5, 1.5, True, float("nan")):
        with pytest.raises(ValueError, match="cutline"):
            Profiler(ok, meter=meter, cutline=bad)
    with pytest.raises(ValueError, match="repeats"):
        Profiler(ok, meter=meter).profile([(1, 1), Candidate(1, 1)])
    with pytest.raises(ValueError, match="pair"):
        Profiler(ok, meter=meter).profile([(1, 1, 1)])
    with pytest.raises(ValueError, match="stream_items"):
        Candidate(1, -1)
    with pytest.raises(ValueError, match="baseline"):
        Profiler(ok, meter=meter).profile([(1, 1)], baseline=float("nan"))
    with pytest.raises(TypeError, match="meter"):
        Profiler(ok, meter=object())
    with pytest.raises(TypeError, match="run"):
        Profiler(None, meter=meter)
    for acc in (1.5, -0.1, float("nan"), None):
        with pytest.raises(ValueError, match="accuracy"):
            Profiler(lambda c, b, a=acc: RunResult(a, dram_bytes=0), meter=meter).measure((1, 1))
    with pytest.raises(RuntimeError, match="boom"):  # the run's own errors propagate
        Profiler(lambda c, b: (_ for _ in ()).throw(RuntimeError("boom")),
                 meter=meter).measure((1, 1))


# ---- A real run: sklearn's 8x8 digits through strata.continual.Runtime


def test_profile_digits_through_the_runtime(tmp_path):
    datasets = pytest.importorskip("sklearn.datasets")
    torch = pytest.importorskip("torch")
    from strata.continual import MemoryConfig, Runtime

    torch.set_num_threads(1)
    digits = datasets.load_digits()
    x, y = digits.data.astype(np.uint8), digits.target.astype(np.int64)  # pixels 0..16
    rng = np.random.default_rng(0)
    val = np.concatenate([rng.permutation(np.flatnonzero(y == k))[:30] for k in range(10)])
    train = np.setdiff1d(np.arange(len(y)), val)
    tasks = [rng.permutation(train[y[train] // 2 == t]) for t in range(5)]  # ~300 images each

    def step(model, opt, xb, yb):
        losses = torch.nn.functional.cross_entropy(
            model(torch.from_numpy(xb).float() / 16), torch.from_numpy(yb), reduction="none")
        opt.zero_grad()
        losses.mean().backward()
        opt.step()
        return losses.detach().numpy()

    def accuracy(model):
        with torch.no_grad():
            pred = model(torch.from_numpy(x[val]).float() / 16).argmax(1).numpy()
        return float((pred == y[val]).mean())

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):  # the warm start: task 1 only
        b = rng.choice(tasks[0], 32)
        step(model, opt, x[b], y[b])
    warm = {"model": model.state_dict(), "opt": opt.state_dict()}
    warm_accuracy = accuracy(model)

    def run(c, budget):
        model.load_state_dict(warm["model"])
        opt.load_state_dict(warm["opt"])
        torch.manual_seed(1)
        directory = tmp_path / f"run-{c.memory_dram_items}-{c.stream_items}"
        with Runtime(directory, {"x": (np.uint8, (64,))},
                     memory=MemoryConfig("dram", dram_items=c.memory_dram_items),
                     stream_items=c.stream_items, stream_batch=16, memory_batch=16,
                     seed=0) as rt:
            for t, idx in enumerate(tasks):
                rt.begin_task(t)
                rt.observe({"x": x[idx]}, y[idx])
                steps = 0 if t == 0 else max(1, round(budget * 3 * min(c.stream_items,
                                                                         len(idx)) / 16))
                for _ in range(steps):
                    b = rt.batch()
                    rt.report_loss(b, step(model, opt, b["x"], b.labels))
                rt.end_task()
            return RunResult(accuracy(model), dram_bytes=rt.stats().dram_bytes)

    grid = [(m, s) for m in (4, 100) for s in (40, 300)]
    report = Profiler(run, budget=0.5, row_bytes=64).profile(grid, baseline=warm_accuracy)
    assert report.source in ("rapl", "model")
    assert len(report.trials) == 4 and len(report.kept) == 2
    assert all(t.meter_joules > 0 and t.cost_joules > 0 for t in report.trials)
    assert report.pick.kept and report.pick.gain > 0
    # Replaying from 100 samples beats replaying from 4 (forgetting), whatever the buffer.
    for s in (40, 300):
        assert report.trial((100, s)).accuracy > report.trial((4, s)).accuracy
    assert report.pick.candidate.memory_dram_items == 100
    assert math.isclose(report.total_joules, sum(t.cost_joules for t in report.trials))
