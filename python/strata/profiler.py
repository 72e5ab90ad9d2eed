"""strata.profiler: picks the episodic-memory (EM) and stream-buffer (SB) sizes of a
continual-learning run by short trial runs (docs/design.md, "Continual-learning runtime"; the
profiler of Miro).

For every candidate (EM DRAM items, SB items) of a grid, a user callback trains a short run from a
shared warm start and returns the accuracy on a held-out validation split (never the test set:
the choice must not see it). Each run is metered; the profiler then

1. keeps the top ``cutline`` fraction of the candidates by validation accuracy (a cheap
   configuration that learns nothing is never picked for being cheap), and
2. among those picks the best accuracy gain over a baseline per joule of cost.

Cost of a run (joules) = the meter's joules over the run + the DRAM the candidate holds::

    cost = meter + dram_bytes * seconds * DRAM_WATTS_PER_BYTE   (+ SSD bytes, RAPL only)

The meter is the plug point: by default :class:`strata.EnergyMeter`, which reads RAPL where the
powercap counters are readable ("rapl") and otherwise models CPU seconds and I/O bytes ("model",
include/strata/energy.h). Neither sees the DRAM the buffers hold, and CPU time hardly differs
between EM sizes (a batch costs the same whatever the memory it is drawn from), so the DRAM
term is added here. RAPL package counters do not include the SSD either, so with a "rapl" meter
the I/O bytes a run reports are charged at the meter's nanojoules per byte; the model meter
charges them itself.

Example::

    def run(candidate, budget):           # the user owns the model and the data
        model.load_state_dict(warm_start)
        ...train budget * steps with MemoryConfig("hierarchical", candidate.memory_dram_items)
        ...and stream_items=candidate.stream_items...
        return strata.profiler.RunResult(validation_accuracy, io_bytes=bytes_read)

    report = strata.profiler.Profiler(run, row_bytes=784, budget=0.1).profile(
        [(m, s) for m in (50, 200) for s in (2000, 6000)], baseline=warm_start_accuracy)
    print(report.table())
    report.pick.candidate                 # -> Candidate(memory_dram_items=200, stream_items=2000)

Not thread-safe: one profile() at a time per Profiler (the meter is restarted by every run).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

__all__ = ["Candidate", "RunResult", "Trial", "ProfileReport", "Profiler", "profile",
           "DRAM_WATTS_PER_GIB", "DRAM_WATTS_PER_BYTE"]

# DRAM power per GiB held. Tom's Hardware measured Crucial DDR4-2133 modules at 1.2 V under load
# at 2.98 W for one 8 GiB module and 11.85 W for four (the Haswell-E review, August 2014:
# 0.37 W/GiB); vendor figures for DDR4 RDIMMs are 1.5-4.5 W per 8-16 GiB module (0.1-0.5 W/GiB,
# the low end idle: refresh and standby only). 0.375 W/GiB (3 W per 8 GiB module) charges DRAM as
# if it were in use, which it is: batches are drawn from it all the time.
DRAM_WATTS_PER_GIB = 0.375
DRAM_WATTS_PER_BYTE = DRAM_WATTS_PER_GIB / 2**30
# SSD energy per byte when the meter cannot see the SSD (RAPL) and has no figure of its own: the
# same figure as strata.EnergyModel's nanojoules_per_io_byte (5 W while streaming 2 GB/s).
SSD_JOULES_PER_BYTE = 2.5e-9


@dataclasses.dataclass(frozen=True, order=True)
class Candidate:
    """One configuration: EM items in DRAM (what batches are replayed from) and SB capacity."""

    memory_dram_items: int
    stream_items: int

    def __post_init__(self) -> None:
        for name in ("memory_dram_items", "stream_items"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                raise ValueError(f"Candidate.{name} must be an integer >= 0, got {v!r}")

    @property
    def dram_items(self) -> int:
        """Samples held in DRAM: the EM's DRAM part plus the stream buffer."""
        return self.memory_dram_items + self.stream_items


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What a run callback may return instead of a bare accuracy.

    dram_bytes: DRAM the run held (e.g. the peak of RuntimeStats.dram_bytes); None: the
      candidate's ``dram_items * row_bytes``.
    io_bytes: storage bytes the run read and wrote (RuntimeStats.bytes_read + bytes_written);
      passed to the meter's ``add_io_bytes`` (the model charges them), or charged at
      SSD_JOULES_PER_BYTE with a "rapl" meter.
    """

    accuracy: float
    dram_bytes: Optional[int] = None
    io_bytes: int = 0


@dataclasses.dataclass(frozen=True)
class Trial:
    """One metered run of a candidate. ``gain`` and ``kept`` are set by profile()."""

    candidate: Candidate
    accuracy: float
    meter_joules: float  # what the meter read over the run
    dram_joules: float  # dram_bytes * seconds * DRAM_WATTS_PER_BYTE
    io_joules: float  # SSD energy added by the profiler ("rapl" meters only; else 0)
    seconds: float  # wall time of the run
    cpu_seconds: float  # process CPU time of the run (the meter's, else time.process_time)
    dram_bytes: int
    io_bytes: int
    source: str  # the meter's source for this run: "rapl", "model", or a custom meter's name
    gain: float = math.nan  # accuracy - the report's baseline
    kept: bool = False  # in the top cutline fraction by accuracy

    @property
    def cost_joules(self) -> float:
        return self.meter_joules + self.dram_joules + self.io_joules

    @property
    def gain_per_joule(self) -> float:
        if self.cost_joules > 0:
            return self.gain / self.cost_joules
        return math.copysign(math.inf, self.gain) if self.gain else 0.0  # a free run


@dataclasses.dataclass(frozen=True)
class ProfileReport:
    """The outcome of profile(): every trial in grid order, the pick and the totals."""

    trials: List[Trial]
    pick: Trial
    baseline: float  # the accuracy gains are measured from
    cutline: float
    budget: Any  # what every run was given
    source: str  # the meter's source ("rapl" or "model" for strata.EnergyMeter)
    total_joules: float  # the cost of profiling: every trial's cost summed
    seconds: float  # wall time of profile()

    @property
    def kept(self) -> List[Trial]:
        return [t for t in self.trials if t.kept]

    def trial(self, candidate: Union[Candidate, Tuple[int, int]]) -> Trial:
        """The trial of `candidate` (KeyError if it was not in the grid)."""
        c = _candidate(candidate)
        for t in self.trials:
            if t.candidate == c:
                return t
        raise KeyError(f"{c} was not profiled")

    def recut(self, cutline: float) -> "ProfileReport":
        """The same trials kept and picked at another cutline; no run is repeated (ValueError
        for a cutline outside (0, 1])."""
        kept = _keep_top(self.trials, cutline)
        trials = [dataclasses.replace(t, kept=i in kept) for i, t in enumerate(self.trials)]
        return dataclasses.replace(self, trials=trials, cutline=cutline,
                                   pick=_pick_best([t for t in trials if t.kept]))

    def as_dict(self) -> Dict[str, Any]:
        rows = [{**dataclasses.asdict(t), "cost_joules": t.cost_joules,
                 "gain_per_joule": t.gain_per_joule} for t in self.trials]
        return {"trials": rows, "pick": dataclasses.asdict(self.pick.candidate),
                "baseline": self.baseline, "cutline": self.cutline, "budget": self.budget,
                "source": self.source, "total_joules": self.total_joules,
                "seconds": self.seconds}

    def table(self) -> str:
        """A plain-text table: one line per candidate, the pick marked with '*'."""
        lines = [f"{'EM':>6} {'SB':>7} {'val acc %':>9} {'gain':>6} {'meter J':>9} "
                 f"{'DRAM J':>8} {'cost J':>9} {'gain/kJ':>8} {'kept':>5}"]
        for t in self.trials:
            mark = "*" if t is self.pick else " "
            lines.append(
                f"{t.candidate.memory_dram_items:>6} {t.candidate.stream_items:>7} "
                f"{t.accuracy * 100:>9.2f} {t.gain * 100:>+6.2f} {t.meter_joules:>9.1f} "
                f"{t.dram_joules:>8.4f} {t.cost_joules:>9.1f} "
                f"{t.gain_per_joule * 1e5:>8.3f} {'yes' if t.kept else '-':>5}{mark}")
        lines.append(f"baseline {self.baseline * 100:.2f}%, cutline {self.cutline:g}, "
                     f"meter {self.source}, profiling cost {self.total_joules:.1f} J "
                     f"in {self.seconds:.1f} s (gain/kJ: points per kJ)")
        return "\n".join(lines)


RunFn = Callable[[Candidate, Any], Union[float, RunResult]]


class Profiler:
    """Runs and meters candidates through ``run(candidate, budget)`` and picks one.

    Args:
      run: trains one short run of `candidate` from the shared warm start for `budget` (opaque
        here: a fraction of the steps, a step count ...) and returns its validation accuracy in
        [0, 1], as a float or a RunResult. The user owns the model, the data and the warm start;
        everything the call does is metered.
      row_bytes: DRAM bytes of one sample, for runs that do not report their dram_bytes. None
        makes such a run a ValueError (the DRAM term is never silently left out).
      budget: passed to every run of profile().
      cutline: the fraction of candidates kept by accuracy, in (0, 1]; default 0.5.
      meter: what measures the joules of a run: an object with start() and read() (read()
        returning joules, or a reading with .joules and optionally .source, .cpu_seconds, like
        strata.EnergyMeter's), or a callable returning a cumulative joule count (differenced).
        Its ``source`` attribute names it; default strata.EnergyMeter() ("rapl" or "model").
      dram_watts_per_byte: the DRAM term's constant; default DRAM_WATTS_PER_BYTE.
    """

    def __init__(self, run: RunFn, *, row_bytes: Optional[int] = None, budget: Any = None,
                 cutline: float = 0.5, meter: Any = None,
                 dram_watts_per_byte: float = DRAM_WATTS_PER_BYTE) -> None:
        if not callable(run):
            raise TypeError(f"run must be callable, got {type(run).__name__}")
        _check_cutline(cutline)
        if row_bytes is not None and (isinstance(row_bytes, bool) or row_bytes < 0):
            raise ValueError(f"row_bytes must be >= 0, got {row_bytes!r}")
        if not dram_watts_per_byte >= 0:
            raise ValueError(f"dram_watts_per_byte must be >= 0, got {dram_watts_per_byte!r}")
        self.run = run
        self.row_bytes = row_bytes
        self.budget = budget
        self.cutline = cutline
        self.dram_watts_per_byte = dram_watts_per_byte
        self._meter = _Meter(meter)

    @property
    def source(self) -> str:
        """The meter's source: "rapl" or "model" for strata.EnergyMeter."""
        return self._meter.source

    def measure(self, candidate: Union[Candidate, Tuple[int, int]], budget: Any = None) -> Trial:
        """Runs `candidate` once for `budget` (None: the profiler's) and meters it, with the same
        cost accounting as profile() (use it for full runs to compare with). Exceptions of the
        run propagate; ValueError if it returns an accuracy outside [0, 1] or no DRAM size can
        be known."""
        c = _candidate(candidate)
        budget = self.budget if budget is None else budget
        self._meter.start()
        t0, c0 = time.perf_counter(), time.process_time()
        out = self.run(c, budget)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        result = out if isinstance(out, RunResult) else RunResult(out)
        acc = result.accuracy
        if isinstance(acc, bool) or not isinstance(acc, numbers.Real) or not 0 <= acc <= 1:
            raise ValueError(f"run({c}) returned accuracy {acc!r}; expected a number in [0, 1]")
        io_bytes = int(result.io_bytes)
        joules, source, meter_cpu = self._meter.stop(io_bytes)
        if result.dram_bytes is not None:
            dram_bytes = int(result.dram_bytes)
        elif self.row_bytes is not None:
            dram_bytes = c.dram_items * self.row_bytes
        else:
            raise ValueError(f"run({c}) reported no dram_bytes and the Profiler has no row_bytes")
        io_joules = io_bytes * self._meter.io_joules_per_byte if source == "rapl" else 0.0
        return Trial(candidate=c, accuracy=float(acc), meter_joules=joules,
                     dram_joules=dram_bytes * seconds * self.dram_watts_per_byte,
                     io_joules=io_joules, seconds=seconds,
                     cpu_seconds=cpu if meter_cpu is None else meter_cpu,
                     dram_bytes=dram_bytes, io_bytes=io_bytes, source=source)

    def profile(self, candidates: Sequence[Union[Candidate, Tuple[int, int]]], *,
                baseline: Optional[float] = None) -> ProfileReport:
        """Measures every candidate (in order) and picks one.

        baseline: the accuracy gains are measured from, e.g. the warm start's validation
          accuracy; None: the accuracy of the smallest candidate (fewest DRAM items, the first
          such in the grid), so that gain means "what the extra DRAM buys".

        The pick: among the kept candidates (the ceil(cutline * n) most accurate, and every
        candidate as accurate as the last of them), the highest gain per joule; ties go to the
        higher accuracy (the larger gain, at a proportionally larger cost), then grid order.
        When no kept candidate gains anything over the baseline, gain per joule says nothing:
        the cheapest kept one.

        ValueError for an empty grid, a repeated candidate or a non-finite baseline.
        """
        grid = [_candidate(c) for c in candidates]
        if not grid:
            raise ValueError("profile() needs at least one candidate")
        if len(set(grid)) != len(grid):
            raise ValueError("profile(): the grid repeats a candidate")
        if baseline is not None and not math.isfinite(baseline):
            raise ValueError(f"baseline must be finite, got {baseline!r}")
        t0 = time.perf_counter()
        trials = [self.measure(c) for c in grid]
        seconds = time.perf_counter() - t0
        if baseline is None:
            baseline = min(trials, key=lambda t: t.candidate.dram_items).accuracy
        trials = [dataclasses.replace(t, gain=t.accuracy - baseline) for t in trials]
        report = ProfileReport(trials=trials, pick=trials[0], baseline=float(baseline),
                               cutline=self.cutline, budget=self.budget, source=self.source,
                               total_joules=sum(t.cost_joules for t in trials), seconds=seconds)
        return report.recut(self.cutline)


def profile(run: RunFn, candidates: Sequence[Union[Candidate, Tuple[int, int]]], *,
            budget: Any = None, cutline: float = 0.5, meter: Any = None,
            row_bytes: Optional[int] = None, baseline: Optional[float] = None) -> ProfileReport:
    """Profiler(run, ...).profile(candidates, baseline=baseline) in one call."""
    return Profiler(run, row_bytes=row_bytes, budget=budget, cutline=cutline,
                    meter=meter).profile(candidates, baseline=baseline)


def _keep_top(trials: Sequence[Trial], cutline: float) -> set:
    """Indices of the ceil(cutline * n) most accurate trials, plus any tied with the last one."""
    _check_cutline(cutline)
    n = max(1, math.ceil(cutline * len(trials) - 1e-9))
    order = sorted(range(len(trials)), key=lambda i: -trials[i].accuracy)
    edge = trials[order[n - 1]].accuracy
    return {i for i in order if trials[i].accuracy >= edge}


def _pick_best(kept: Sequence[Trial]) -> Trial:
    """The pick among kept trials (see Profiler.profile)."""
    if not any(t.gain > 0 for t in kept):
        return min(kept, key=lambda t: t.cost_joules)  # min keeps the first of equals
    # Equal gain per joule and equal accuracy mean equal cost too: then the first in grid order.
    return max(kept, key=lambda t: (t.gain_per_joule, t.accuracy))


def _check_cutline(cutline: float) -> None:
    if isinstance(cutline, bool) or not isinstance(cutline, numbers.Real) or not 0 < cutline <= 1:
        raise ValueError(f"cutline must be a fraction in (0, 1], got {cutline!r}")


def _candidate(c: Union[Candidate, Tuple[int, int]]) -> Candidate:
    if isinstance(c, Candidate):
        return c
    try:
        memory_dram_items, stream_items = c
    except (TypeError, ValueError):
        raise ValueError(f"a candidate is a Candidate or a (memory_dram_items, stream_items) "
                         f"pair, got {c!r}") from None
    return Candidate(memory_dram_items, stream_items)


class _Meter:
    """Adapts the meters profile() accepts to start() / stop(io_bytes) -> (joules, source, cpu)."""

    def __init__(self, meter: Any) -> None:
        if meter is None:
            from . import EnergyMeter
            meter = EnergyMeter()
        self._obj = meter if hasattr(meter, "start") and hasattr(meter, "read") else None
        if self._obj is None and not callable(meter):
            raise TypeError("meter must have start() and read(), or be a callable returning "
                            f"joules; got {type(meter).__name__}")
        self._fn = None if self._obj is not None else meter
        self.source = str(getattr(meter, "source", None) or "custom")
        nj = getattr(meter, "nanojoules_per_io_byte", None)
        self.io_joules_per_byte = SSD_JOULES_PER_BYTE if nj is None else float(nj) * 1e-9
        self._origin = 0.0

    def start(self) -> None:
        if self._obj is not None:
            self._obj.start()
        else:
            self._origin = float(self._fn())

    def stop(self, io_bytes: int) -> Tuple[float, str, Optional[float]]:
        if self._obj is None:
            return float(self._fn()) - self._origin, self.source, None
        if io_bytes and hasattr(self._obj, "add_io_bytes"):
            self._obj.add_io_bytes(io_bytes)
        r = self._obj.read()
        if isinstance(r, numbers.Real):
            return float(r), self.source, None
        cpu = getattr(r, "cpu_seconds", None)
        return float(r.joules), str(getattr(r, "source", self.source)), cpu
