"""The continual-learning runtime's native pieces from Python: the energy meter (model path,
I/O bytes, a fake RAPL tree) and the swap-ratio controller on a small resident-mode table
(construction errors, ticks logged, the ratio held while the storage keeps up).

The controller's back-off under contention is tested in C++ (src/cl/swap_controller_test.cc),
where the fault-injecting Env can slow the storage down.
"""

import gc
import time
import weakref

import numpy as np
import pytest

import strata
from strata import _strata

SCHEMA = {"id": np.int64, "obs": (np.float32, (16,))}
ROW = 8 + 4 * 16


def burn_cpu(seconds: float) -> None:
    """Keeps this thread busy for about `seconds` of CPU time."""
    start = time.thread_time()
    x = 0
    while time.thread_time() - start < seconds:
        for i in range(1000):
            x += i * i


# ---- EnergyMeter


def test_energy_model_charges_cpu_time_and_io_bytes():
    p0 = time.process_time()
    meter = _strata.EnergyMeter(
        force_model=True, watts_per_busy_core=12.0, nanojoules_per_io_byte=2.5
    )
    assert meter.source == "model"
    assert meter.watts_per_busy_core == 12.0
    burn_cpu(0.2)
    meter.add_io_bytes(1 << 30)
    meter.add_io_bytes(np.int64(1 << 20))  # any integer
    r = meter.read()
    process_cpu = time.process_time() - p0  # every thread of the process, as the meter counts
    assert r.source == "model"
    assert r.io_bytes == (1 << 30) + (1 << 20)
    # At least the 0.2 s burnt here; at most what the whole process used around the meter
    # (other threads, e.g. BLAS workers spinning after an earlier test, count too).
    assert 0.2 <= r.cpu_seconds <= process_cpu + 0.01
    assert r.seconds >= 0.1
    io_joules = r.io_bytes * 2.5e-9
    assert r.joules == pytest.approx(r.cpu_seconds * 12.0 + io_joules, rel=1e-9)
    d = r.as_dict()
    assert d == {
        "joules": r.joules,
        "seconds": r.seconds,
        "cpu_seconds": r.cpu_seconds,
        "io_bytes": r.io_bytes,
        "source": "model",
    }
    assert "source='model'" in repr(r)

    meter.start()  # a new interval
    r = meter.read()
    assert r.io_bytes == 0
    assert r.cpu_seconds < 0.1


def test_energy_meter_defaults_and_argument_errors():
    meter = _strata.EnergyMeter()  # this machine may or may not expose RAPL
    assert meter.source in ("rapl", "model")
    assert meter.watts_per_busy_core > 0
    assert meter.nanojoules_per_io_byte > 0
    assert meter.read().joules >= 0
    with pytest.raises(ValueError, match="watts_per_busy_core"):
        _strata.EnergyMeter(watts_per_busy_core=-1.0)
    with pytest.raises(ValueError, match="nanojoules_per_io_byte"):
        _strata.EnergyMeter(nanojoules_per_io_byte=float("nan"))
    with pytest.raises(TypeError, match="watts_per_busy_core"):
        _strata.EnergyMeter(watts_per_busy_core="10")
    with pytest.raises(ValueError, match="bytes"):
        meter.add_io_bytes(-1)
    with pytest.raises(TypeError):
        _strata.EnergyMeter(force_model=True, powercap_root=3)
    with pytest.raises(TypeError):
        _strata.EnergyMeter(True)  # keyword-only


def test_energy_meter_reads_a_rapl_tree(tmp_path):
    def domain(name, energy_uj, label):
        d = tmp_path / name
        d.mkdir()
        (d / "energy_uj").write_text(f"{energy_uj}\n")
        (d / "max_energy_range_uj").write_text("262143328850\n")
        (d / "name").write_text(label + "\n")

    domain("intel-rapl:0", 1_000_000, "package-0")
    domain("intel-rapl:0:0", 0, "core")  # a sub-domain: not counted
    meter = _strata.EnergyMeter(powercap_root=tmp_path)  # os.PathLike
    assert meter.source == "rapl"
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text("3500000\n")
    (tmp_path / "intel-rapl:0:0" / "energy_uj").write_text("999000000\n")
    r = meter.read()
    assert r.source == "rapl"
    assert r.joules == pytest.approx(2.5)
    assert _strata.EnergyMeter(powercap_root=tmp_path, force_model=True).source == "model"
    assert _strata.EnergyMeter(powercap_root=str(tmp_path / "missing")).source == "model"


# ---- SwapController


def resident_table(path, **kwargs) -> strata.Table:
    kwargs.setdefault("swap_ratio", 1.0)
    t = strata.Table(
        "em",
        SCHEMA,
        capacity=10_000,
        storage_dir=path,
        dram_budget_bytes=50 * ROW,
        tier_sampling="resident",
        **kwargs,
    )
    ids = np.arange(1000, dtype=np.int64)
    t.insert({"id": ids, "obs": np.repeat(ids[:, None], 16, axis=1).astype(np.float32)})
    t.checkpoint()  # every item written: all can be swapped in
    return t


def test_controller_construction_errors(tmp_path):
    with pytest.raises(ValueError, match="resident"):
        _strata.SwapController(strata.Table("dram", SCHEMA, capacity=10))
    exact = strata.Table(
        "exact", SCHEMA, capacity=100, storage_dir=tmp_path / "exact", dram_budget_bytes=10 * ROW
    )
    with pytest.raises(ValueError, match="resident"):
        _strata.SwapController(exact)
    exact.close()
    with pytest.raises(TypeError):
        _strata.SwapController("not a table")

    t = resident_table(tmp_path / "em")
    with pytest.raises(ValueError, match="target_ratio"):
        _strata.SwapController(t, target_ratio=1.5)
    with pytest.raises(ValueError, match="max_interval"):
        _strata.SwapController(t, base_interval=8)
    with pytest.raises(ValueError, match="low_ratio_interval"):
        _strata.SwapController(t, low_ratio_interval=2)
    with pytest.raises(ValueError, match="period"):
        _strata.SwapController(t, period=0)
    with pytest.raises(ValueError, match="calm_ticks"):
        _strata.SwapController(t, calm_ticks=-1)
    with pytest.raises(TypeError):
        _strata.SwapController(t, 0.5)  # options are keyword-only
    t.close()


def test_controller_ticks_hold_the_ratio_when_uncontended(tmp_path):
    t = resident_table(tmp_path / "em", swap_interval=2)
    c = _strata.SwapController(t, min_reads=1_000_000, period=0.01)  # latency never judged
    assert c.ratio == 1.0 and c.interval == 2  # the table's settings
    assert c.options["target_ratio"] == 1.0 and c.options["base_interval"] == 2
    assert c.decisions == []
    for _ in range(5):
        for _ in range(5):
            t.sample(4)
            time.sleep(0.002)  # let the swapper keep up
        d = c.tick()
        assert d["action"] == "hold", d["text"]
        assert not d["contended"]
    decisions = c.decisions
    assert [d["tick"] for d in decisions] == [1, 2, 3, 4, 5]
    for d in decisions:
        assert d["requested"] in (8, 12)  # every 2nd of 5 batches of 4: 2 or 3 swap requests
        assert d["ratio"] == 1.0 and d["interval"] == 2
        assert d["time"] == pytest.approx(time.time(), abs=60)
        assert "hold" in d["text"]
    assert sum(d["requested"] for d in decisions) == 25 // 2 * 4
    assert all(d["swapped"] + d["skipped"] <= d["requested"] for d in decisions)
    assert t.stats().tier.swap_ratio == 1.0
    assert c.error is None
    t.close()


def test_controller_thread_and_explicit_target(tmp_path):
    t = resident_table(tmp_path / "em")
    c = _strata.SwapController(t, target_ratio=0.5, base_interval=1, period=0.005)
    assert t.stats().tier.swap_ratio == 0.5  # applied at creation
    with c:  # start() ... stop()
        deadline = time.monotonic() + 5
        while len(c.decisions) < 3 and time.monotonic() < deadline:
            t.sample(2)
            time.sleep(0.002)
    n = len(c.decisions)
    assert n >= 3
    time.sleep(0.03)
    assert len(c.decisions) == n  # stopped
    c.stop()  # idempotent
    assert all(d["ratio"] <= 0.5 for d in c.decisions)
    assert c.error is None
    t.close()


def test_controller_keeps_its_table_alive(tmp_path):
    t = resident_table(tmp_path / "em")
    alive = weakref.ref(t)
    c = _strata.SwapController(t)
    del t
    gc.collect()
    assert alive() is not None
    assert c.tick()["tick"] == 1  # the table is still there
    del c
    gc.collect()
    assert alive() is None
