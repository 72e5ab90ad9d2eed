"""Strata: a tiered, importance-aware sample store for machine-learning training.

A thin Pythonic layer over Strata's C++ core (``strata._strata``, one pybind11 module)::

    import numpy as np
    import strata

    table = strata.Table(
        "replay",
        {"obs": (np.float32, (87,)), "action": np.int32, "frame": bytes},
        capacity=100_000,
        sampler=strata.Prioritized(alpha=0.6, beta=0.4),
        rate_limiter=strata.MinSize(1_000),
        storage_dir="/ssd/replay",        # optional SSD tier: payloads in segment files there,
        dram_budget_bytes=4 << 30,        # at most 4 GiB of them in DRAM; reopens the directory
    )
    keys = table.insert({"obs": obs_batch, "action": actions, "frame": frames})
    batch = table.sample(256, timeout=1.0)
    loss = (td_error(batch["obs"], batch.action) * batch.weights).mean()
    table.update_priorities(batch.keys, np.abs(td_errors))

Every table call is thread-safe and releases the GIL while it runs in C++, so Python threads that
insert and sample proceed in parallel. ``strata.Prefetcher`` samples ahead in C++ threads, and
``strata.torch`` (imported on its own; it imports torch) yields batches as torch tensors.
Errors map from the core's status codes, in one table:

=======================  ==========================================  ===========================
core code                meaning                                     Python exception
=======================  ==========================================  ===========================
InvalidArgument          bad input (message names field/expectation)  ValueError
NotFound                 unknown key (``get(..., strict=True)``)      KeyError
ResourceExhausted        full and ``remover=None``                    FullError (MemoryError)
DeadlineExceeded         a blocking call timed out                    TimeoutError
DataLoss                 checksum mismatch or I/O error on storage    OSError
FailedPrecondition       the table is closed                          ClosedError (RuntimeError)
Cancelled                closed while the call was waiting            ClosedError (RuntimeError)
Internal, others         a bug in Strata                              RuntimeError
=======================  ==========================================  ===========================

Creating a table with ``storage_dir`` raises ValueError for a bad option and
:class:`StorageError` (an OSError) for any other error: the directory is locked by another open
table, holds a table with another schema or of an unknown format version, or an I/O error.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import numbers
import os
import re
import threading
from typing import Any, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np

from . import _strata
from ._strata import (
    Batch,
    Buffer,
    BytesColumn,
    ClosedError,
    EnergyMeter,
    EnergyReading,
    FullError,
    RateLimiter,
    Selector,
    Fifo,
    GroupBalanced,
    Lifo,
    MaxHeap,
    MinHeap,
    MinSize,
    Prefetcher,
    Prioritized,
    Queue,
    SampleToInsertRatio,
    Stack,
    StorageError,
    SwapController,
    Uniform,
)

# --- Wrong argument types, said in words -------------------------------------------------------
# pybind11 answers a call with a wrong argument type with its overload signatures; the functions
# and methods below say instead which argument is wrong and what it accepts.

_SIGNATURE = re.compile(r"^\s*1\. \((.*)\) ->", re.MULTILINE)
_ACCEPTS = {
    "int": ((numbers.Integral,), "an int"),
    "float": ((numbers.Real,), "a number"),
    "bool": ((bool, np.bool_), "a bool"),
    "str": ((str,), "a str"),
}


def _explain_types(name: str, message: str, args: tuple, kwargs: dict) -> Optional[str]:
    """The wrong argument of a call pybind11 refused, from the signature in `message`."""
    found = _SIGNATURE.search(message)
    if found is None:
        return None
    params = []
    for part in re.split(r",\s*(?![^\[]*\])", found.group(1)):
        if part.strip() in ("*", "/") or ":" not in part:
            continue
        pname, rest = part.split(":", 1)
        params.append((pname.strip(), rest.split("=")[0].strip()))
    positional = [p for p in params if p[0] != "self"]
    given = list(zip(positional, args[1:] if params and params[0][0] == "self" else args))
    given += [((k, dict(params).get(k, "")), v) for k, v in kwargs.items()]
    for (pname, ptype), value in given:
        accepted = _ACCEPTS.get(ptype)
        if accepted is None:
            continue
        types, words = accepted
        if ptype != "bool" and isinstance(value, (bool, np.bool_)):
            pass  # a bool is not a number here
        elif isinstance(value, types):
            continue
        return f"{name}(): {pname} must be {words}, got {type(value).__name__} ({value!r})"
    return None


def _friendly_types(fn: Any, name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TypeError as e:
            message = str(e)
            if "incompatible function arguments" not in message:
                raise
            said = _explain_types(name, message, args, kwargs)
            if said is None:
                raise
            raise TypeError(said) from None

    call.__name__ = getattr(fn, "__name__", name)
    call.__qualname__ = getattr(fn, "__qualname__", name)
    call.__doc__ = getattr(fn, "__doc__", None)
    call.__wrapped__ = fn
    return call


for _name in ("Fifo", "GroupBalanced", "Lifo", "MaxHeap", "MinHeap", "MinSize", "Prioritized",
              "Queue", "SampleToInsertRatio", "Stack", "Uniform"):
    globals()[_name] = _friendly_types(globals()[_name], _name)
del _name

__version__ = "0.1.0"

__all__ = [
    "COMPRESSIONS",
    "SUPPORTED_DTYPES",
    "Applied",
    "Batch",
    "Buffer",
    "BytesColumn",
    "ClosedError",
    "EnergyMeter",
    "EnergyReading",
    "Field",
    "Fifo",
    "FullError",
    "GroupBalanced",
    "Lifo",
    "MaxHeap",
    "MinHeap",
    "MinSize",
    "Prefetcher",
    "Prioritized",
    "Queue",
    "RateLimiter",
    "RateLimiterStats",
    "RepairReport",
    "SampleToInsertRatio",
    "Schema",
    "Selector",
    "Stack",
    "StorageError",
    "SwapController",
    "Table",
    "TableStats",
    "TierStats",
    "Uniform",
    "flush_logs",
]

# --- Logging ----------------------------------------------------------------------------------
# The core's records (storage errors and their recovery, recovery at open, repairs, compaction
# summaries, swap-controller decisions) go to logging.getLogger("strata.<component>"), children of
# "strata". The core's sink only queues them (it must never take the GIL: it may run on a table's
# writer thread with the table's lock held); a daemon thread delivers them, and flush_logs()
# delivers what is queued at once.

_LOG_LEVELS = {0: logging.INFO, 1: logging.WARNING, 2: logging.ERROR}
_log_delivery = threading.Lock()  # one deliverer at a time, so records keep their order


def _deliver_logs() -> None:
    with _log_delivery:
        for level, component, message in _strata._next_log_records(0.0):
            logger = logging.getLogger(f"strata.{component}")
            logger.log(_LOG_LEVELS.get(level, logging.ERROR), "%s", message)


def flush_logs() -> None:
    """Delivers every log record the core has queued to ``logging.getLogger("strata")`` now.

    Records are delivered by a background thread anyway; call this before inspecting logs (in
    tests) or before exiting. Records logged before the call are delivered when it returns."""
    _deliver_logs()


def _log_thread_main() -> None:
    while not _strata._log_sink_stopped():
        try:
            if _strata._wait_log_records(0.5):
                _deliver_logs()
        except Exception:  # a failing handler must not end delivery
            pass


def _shutdown_logs() -> None:
    _strata._install_log_sink(False)  # later records: the core's stderr sink; wakes the thread
    # Joined here, before the interpreter finalizes: a daemon thread still waiting in C++ then
    # could not take the GIL back safely.
    _log_thread.join(timeout=5)
    try:
        _deliver_logs()
    except Exception:
        pass


_strata._install_log_sink(True)
_log_thread = threading.Thread(target=_log_thread_main, name="strata-log", daemon=True)
_log_thread.start()
atexit.register(_shutdown_logs)


#: The NumPy dtypes a fixed field may have.
SUPPORTED_DTYPES: Tuple[str, ...] = (
    "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
)

# What a schema dict value may be: a dtype (a scalar field), (dtype, shape), or `bytes`.
FieldLike = Union[type, str, np.dtype, Tuple[Any, Any]]


class Field(NamedTuple):
    """One field of a Schema. ``dtype`` is None and ``shape`` empty for a bytes field.
    ``compression``: how the field is stored in segment files ("none" or "zstd")."""

    name: str
    dtype: Optional[np.dtype]
    shape: Tuple[int, ...]
    variable: bool
    compression: str = "none"


COMPRESSIONS = ("none", "zstd")


def _dtype(name: str, dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise ValueError(f"field {name!r}: {dtype!r} is not a dtype ({e})") from None
    if dt.name not in SUPPORTED_DTYPES or dt.byteorder == ">":
        raise ValueError(
            f"field {name!r}: dtype {dt} is not supported; use one of {', '.join(SUPPORTED_DTYPES)} "
            "(or bytes for a variable-size field)"
        )
    return dt


def _field(name: str, spec: Any) -> Field:
    if not isinstance(name, str):
        raise TypeError(f"field names must be str, got {type(name).__name__}")
    if spec is bytes:
        return Field(name, None, (), True)
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        dtype, shape = spec[:2]
        compression = spec[2] if len(spec) == 3 else "none"
        if compression not in COMPRESSIONS:
            raise ValueError(f"field {name!r}: compression must be one of {', '.join(map(repr, COMPRESSIONS))}, "
                             f"got {compression!r}")
        if dtype is bytes:
            raise ValueError(f"field {name!r}: a bytes field has no shape; write {name!r}: bytes")
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        if isinstance(shape, (str, bytes)):
            shape = None
        try:
            shape = tuple(int(d) for d in shape)
        except (TypeError, ValueError):
            raise ValueError(f"field {name!r}: shape must be an int or a tuple of ints, got {shape!r}") from None
        return Field(name, _dtype(name, dtype), shape, False, compression)
    if isinstance(spec, (tuple, list)):
        raise ValueError(f"field {name!r}: expected dtype, (dtype, shape), (dtype, shape, compression) "
                         f"or bytes, got {spec!r}")
    return Field(name, _dtype(name, spec), (), False)


class Schema:
    """The named fields every item of a table has, plus its float32 score columns.

    Build it from a dict ``name -> spec`` where spec is a NumPy dtype (a scalar field), a tuple
    ``(dtype, shape)``, ``(dtype, shape, "zstd")`` (stored zstd-compressed in a table's segment
    files; DRAM holds it as is; fixed fields of schemas without bytes fields), or ``bytes`` (a
    variable-size byte string per item)::

        strata.Schema({"obs": (np.float32, (4, 84, 84)), "action": np.int64, "frame": bytes},
                      scores=["loss"])
        strata.Schema({"frames": (np.uint8, (4, 84, 84), "zstd"), "action": np.int64})

    or from one example item with :meth:`from_example`. Supported dtypes: bool, uint8, int8,
    int16, int32, int64, float16, float32, float64. Score columns are per-item float32 metadata
    (a loss, a forgetting score) updated with :meth:`Table.update_scores`.

    Raises ValueError for no fields, an empty, repeated or over-long name, an unsupported dtype, a
    dimension < 1, or an item of a fixed field over 1 GiB. Immutable.
    """

    __slots__ = ("_fields", "_scores", "_core")

    def __init__(self, fields: Mapping[str, FieldLike], scores: Sequence[str] = ()) -> None:
        if isinstance(fields, Schema):
            fields, scores = fields.as_dict(), tuple(scores) or fields.scores
        if not isinstance(fields, Mapping):
            raise TypeError(f"fields must be a dict of name -> spec, got {type(fields).__name__}")
        if isinstance(scores, str):
            scores = (scores,)
        parsed = tuple(_field(n, s) for n, s in fields.items())
        self._core = _strata.SchemaCore(
            [(f.name, None if f.dtype is None else f.dtype.name, list(f.shape), f.compression)
             for f in parsed],
            list(scores),
        )
        self._fields = parsed
        self._scores = tuple(scores)

    @classmethod
    def from_example(cls, item: Mapping[str, Any], scores: Sequence[str] = ()) -> "Schema":
        """The schema of one example item (a dict of field -> value, no batch dimension).

        bytes/bytearray/memoryview values make bytes fields; anything else is read with
        ``np.asarray`` for its dtype and shape (so Python floats give float64, ints int64).
        """
        fields: dict = {}
        for name, value in item.items():
            if isinstance(value, (bytes, bytearray, memoryview)):
                fields[name] = bytes
            else:
                a = np.asarray(value)
                fields[name] = (a.dtype, a.shape)
        return cls(fields, scores)

    @property
    def fields(self) -> Tuple[Field, ...]:
        """The fields, in order."""
        return self._fields

    @property
    def scores(self) -> Tuple[str, ...]:
        """The score column names."""
        return self._scores

    @property
    def names(self) -> Tuple[str, ...]:
        """The field names, in order."""
        return tuple(f.name for f in self._fields)

    def __getitem__(self, name: str) -> Field:
        for f in self._fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(f.name == name for f in self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def as_dict(self) -> dict:
        """The dict this schema can be rebuilt from (``Schema(s.as_dict(), s.scores)``)."""
        return {f.name: bytes if f.variable else
                (f.dtype, f.shape) if f.compression == "none" else (f.dtype, f.shape, f.compression)
                for f in self._fields}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and (self._fields, self._scores) == (other._fields, other._scores)

    def __hash__(self) -> int:
        return hash((self._fields, self._scores))

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{f.name!r}: bytes" if f.dtype is None else
            f"{f.name!r}: ({f.dtype.name}, {f.shape})" if f.compression == "none" else
            f"{f.name!r}: ({f.dtype.name}, {f.shape}, {f.compression!r})"
            for f in self._fields
        )
        extra = f", scores={list(self._scores)!r}" if self._scores else ""
        return f"Schema({{{parts}}}{extra})"


class Applied(NamedTuple):
    """The result of delete / update_priorities / update_scores.

    ``applied``: how many keys took effect. ``missing``: int64 indices into the keys passed of
    those that were stale (their item was evicted, expired or deleted) or unknown; they were
    skipped, never applied to another item. ``n, missing = table.delete(keys)``.
    """

    applied: int
    missing: np.ndarray


class _Subscriptable:
    """Lets a stats dataclass also be read like the dict it was made from:
    ``table.stats()["tier"]["dram_items"]`` is ``table.stats().tier.dram_items``."""

    __slots__ = ()

    def __getitem__(self, name: str) -> Any:
        if name not in self.__dataclass_fields__:  # type: ignore[attr-defined]
            raise KeyError(name)
        return getattr(self, name)


_Stats = TypeVar("_Stats", bound=type)


def _field_help(cls: _Stats) -> _Stats:
    """Lists each field of a stats dataclass with its help in the docstring, from the core's
    field table (``InfoFields`` in include/strata/info_fields.h), so that ``help(TierStats)``
    shows them. test_info_fields.py keeps the fields declared here equal to that table's."""
    fields = [(field, text) for owner, field, _, text in _strata._info_fields() if owner == cls.__name__]
    lines = [f"      {field}: {text}" for field, text in fields]
    cls.__doc__ = f"{cls.__doc__}\n\n    Attributes:\n" + "\n".join(lines) + "\n"
    return cls


@_field_help
@dataclasses.dataclass(frozen=True)
class RateLimiterStats(_Subscriptable):
    """A snapshot of a table's rate limiter: its options and counters."""

    # Each field's help: InfoFields<RateLimiterOptions> and <RateLimiterInfo> in
    # include/strata/info_fields.h.
    samples_per_insert: float
    min_size_to_sample: int
    min_diff: float
    max_diff: float
    inserts: int
    samples: int
    diff: float
    waiting_inserts: int
    waiting_samples: int
    insert_waits: int
    sample_waits: int
    insert_wait_seconds: float
    sample_wait_seconds: float


@dataclasses.dataclass(frozen=True)
class RepairReport(_Subscriptable):
    """What :meth:`Table.repair` did to a storage directory. ``str()`` is a one-line summary."""

    manifest_rebuilt: bool  # the MANIFEST was missing or unreadable and was rebuilt
    segments: int  # segments the repaired manifest lists
    checkpoint: str  # the checkpoint it uses ("" if none could be read)
    checkpoint_items_dropped: int  # items the checkpoint placed in segments that are gone
    set_aside: List[str]  # files moved into storage_dir/lost/ (the names they had)
    deleted: List[str]  # leftovers of interrupted steps (temporaries, obsolete files)
    summary: str

    def __str__(self) -> str:
        return self.summary


@_field_help
@dataclasses.dataclass(frozen=True)
class TierStats(_Subscriptable):
    """The SSD tier's state and counters (``Table.stats().tier``); for a table without
    ``storage_dir``, ``enabled`` is False and every counter 0."""

    # Each field's help: InfoFields<TierInfo> in include/strata/info_fields.h.
    enabled: bool
    dram_items: int
    dram_bytes: int
    stored_items: int
    stored_bytes: int
    disk_bytes: int
    pending_writes: int
    dram_hits: int
    dram_misses: int
    dram_hit_rate: float
    reads_issued: int
    reads_completed: int
    read_bytes: int
    reads_in_flight: int
    max_reads_in_flight: int
    read_p50_us: float
    read_p99_us: float
    writes_issued: int
    records_written: int
    bytes_written: int
    syncs: int
    demotions: int
    promotions: int
    swaps: int
    swaps_skipped: int
    swap_bytes: int
    segments: int
    segments_compacted: int
    compaction_bytes_moved: int
    compaction_bytes_freed: int
    compaction_progress: float
    corrupt_items: int
    recovered_items: int
    bad_index_entries: int
    reader: str
    storage_error: str
    swaps_requested: int
    swap_ratio: float
    swap_interval: int
    dram_budget_bytes: int
    read_latency_total_us: float
    groups: Mapping[int, Tuple[int, int]]
    checkpoints: int
    checkpoint_ms: float
    checkpoint_max_lock_us: float


@_field_help
@dataclasses.dataclass(frozen=True)
class TableStats(_Subscriptable):
    """Counters since creation and the current state of a table (``Table.stats()``). Fields read
    as attributes or by name: ``stats.tier.dram_misses`` or ``stats["tier"]["dram_misses"]``."""

    # Each field's help: InfoFields<TableInfo> in include/strata/info_fields.h.
    name: str
    schema: str
    sampler: str
    remover: str
    size: int
    bytes: int
    capacity: int
    max_bytes: int
    inserted: int
    dropped: int
    sampled: int
    evicted: int
    expired: int
    deleted: int
    priority_updates: int
    score_updates: int
    missing_keys: int
    closed: bool
    rate_limiter: RateLimiterStats
    tier: TierStats


_DEFAULT_REMOVER = Fifo()
# The storage options' defaults come from the core's TableOptions.
_STORAGE = _strata._storage_option_defaults()


def _count(arg: str, value: Any) -> int:
    """`value` as a count >= 0: an int (or NumPy integer), never a float, bool or str rounded or
    parsed into one."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{arg} must be an int, got {type(value).__name__} ({value!r})")
    if value < 0:
        raise ValueError(f"{arg} must be >= 0, got {value}")
    return int(value)


class Table(_strata.TableCore):
    """A named, bounded collection of items under a schema, sampled and evicted by selectors and
    paced by a rate limiter.

    Args:
      name: used in error messages and stats.
      schema: a :class:`Schema` or the dict to build one from.
      capacity: maximum number of items (>= 1); metadata for it is allocated up front (about
        40-60 bytes per item), payload memory as items arrive.
      max_bytes: maximum payload bytes, 0 for no limit.
      sampler: which item sample() returns (default Uniform()).
      remover: which item is evicted when full (default Fifo()); None makes a full table raise
        FullError on insert.
      insertion: "always", or "reservoir" (Vitter's algorithm R: once full, the k-th arrival is
        kept with probability capacity / k; dropped items get key 0).
      rate_limiter: paces inserts against samples (default MinSize(1)).
      max_times_sampled: remove an item once sampled this many times (0: never).
      seed: the table's random seed; a single-threaded sequence of calls is reproducible.

    Storage (the SSD tier; every option below but storage_dir is ignored without it):
      storage_dir: a directory of the table's own (str or os.PathLike; created if missing, its
        parent must exist) where item payloads live in append-only segment files, with at most
        ``dram_budget_bytes`` of them in DRAM; keys, priorities, scores and selectors stay in
        DRAM (about 16 more bytes per item). A directory that holds a table with the same schema
        is reopened: its items, keys, priorities, scores and counters are restored. A directory
        holding files that are not Strata's is refused. Only one open table at a time may use a
        directory (close() releases it). None (default): the table lives
        in DRAM only.
      dram_budget_bytes: payload bytes kept in DRAM; required with storage_dir (at least one
        item). capacity and max_bytes still bound the table, and may exceed it by far.
      max_dram_budget_bytes: the most resize() may raise the DRAM budget to (address space is
        reserved for it, memory committed only when used); 0 (default): dram_budget_bytes.
      storage_budget_bytes: bytes of segment files (0: no limit).
      durability: what an acknowledged insert survives: "none" (nothing; storage is spill space,
        wiped when the directory is opened again), "flush" (default: a process crash; insert
        returns once its records are written to the OS) or "sync" (a power loss; insert returns
        once they are fsync'ed, with group commit). Priorities and scores are saved by
        checkpoint() and close().
      segment_bytes: a segment file is sealed at this size (default 256 MiB, at most 4 GiB).
      write_queue_items: items whose writes may be queued at once (write-behind, default 4096);
        inserts wait beyond it.
      compaction_live_ratio: a sealed segment whose live records fill less than this fraction
        of it (default 0.5, in [0, 1]) is rewritten and deleted.
      compaction_bytes_per_second: the pace of compaction, bytes read + written per second
        (default 64 MiB/s; 0: unpaced).
      direct_io: read storage with O_DIRECT (bypassing the page cache, so DRAM use is what the
        budget says); records are padded to 4 KiB. Default False.
      tier_sampling: "exact" (default: every item; DRAM copies are a cache, cold items are read)
        or "resident" (only items in DRAM; sample never waits on I/O; see swap_ratio).
      placement: which items keep a DRAM copy: "recent" (default), "priority" (with "exact"
        only: the highest; rising items are promoted in the background), "random", or
        "group_balanced" (groups share DRAM equally, as a class-balanced episodic memory: the
        oldest copy of the group with the most is dropped, and the background thread refills
        and swaps until no group with stored items is 2+ copies behind another), or "score"
        (with "exact" only: the highest values of placement_score_column, e.g. importance; the
        lowest is dropped and stored items whose score rises are promoted in the background).
      placement_score_column: the score column placement="score" keeps hot.
      swap_ratio: with "resident", the fraction of each sampled batch (0..1, default 0) that a
        background swapper replaces in DRAM by stored items, every swap_interval batches
        (default 1). Swaps that cannot keep up are skipped (counted in stats().tier).
      swap_policy: "random_in_group" (default: a random stored item of the same group, as in
        Miro) or "score" (the lowest-score items of the batch go out, the highest-score of a
        few stored candidates of the group comes in, as CarM; needs swap_score_column).
      swap_score_column: the score column swap_policy="score" reads (e.g. "loss").

    Raises ValueError naming the bad option (TypeError for an option of the wrong type), and
    StorageError when storage_dir cannot be used (locked by another open table, another schema,
    an I/O error). Thread-safe: every method may be called from any thread, and releases the GIL
    while it runs. Use as a context manager to close it on exit (with storage_dir, close()
    writes the queued items and a checkpoint). ``table.storage_options`` gives the storage
    options back, so ``Table(name, schema, **table.storage_options)`` reopens the directory.
    """

    def __init__(
        self,
        name: str,
        schema: Union[Schema, Mapping[str, FieldLike]],
        *,
        capacity: int = 1_000_000,
        max_bytes: int = 0,
        sampler: Optional[Selector] = None,
        remover: Optional[Selector] = _DEFAULT_REMOVER,
        insertion: str = "always",
        rate_limiter: Optional[RateLimiter] = None,
        max_times_sampled: int = 0,
        seed: int = 0x5EED,
        storage_dir: Union[str, "os.PathLike[str]", None] = None,
        dram_budget_bytes: int = _STORAGE["dram_budget_bytes"],
        max_dram_budget_bytes: int = _STORAGE["max_dram_budget_bytes"],
        storage_budget_bytes: int = _STORAGE["storage_budget_bytes"],
        durability: str = _STORAGE["durability"],
        segment_bytes: int = _STORAGE["segment_bytes"],
        write_queue_items: int = _STORAGE["write_queue_items"],
        compaction_live_ratio: float = _STORAGE["compaction_live_ratio"],
        compaction_bytes_per_second: int = _STORAGE["compaction_bytes_per_second"],
        direct_io: bool = _STORAGE["direct_io"],
        tier_sampling: str = _STORAGE["tier_sampling"],
        placement: str = _STORAGE["placement"],
        placement_score_column: str = _STORAGE["placement_score_column"],
        swap_ratio: float = _STORAGE["swap_ratio"],
        swap_interval: int = _STORAGE["swap_interval"],
        swap_policy: str = _STORAGE["swap_policy"],
        swap_score_column: str = _STORAGE["swap_score_column"],
    ) -> None:
        super().__init__()
        if not isinstance(schema, Schema):
            schema = Schema(schema)
        capacity, max_bytes, max_times_sampled, seed = (
            _count(arg, value) for arg, value in (
                ("capacity", capacity), ("max_bytes", max_bytes),
                ("max_times_sampled", max_times_sampled), ("seed", seed)))
        self._open(
            name,
            schema._core,
            capacity,
            max_bytes,
            Uniform() if sampler is None else sampler,
            remover,
            insertion,
            MinSize(1) if rate_limiter is None else rate_limiter,
            max_times_sampled,
            seed,
            # Checked and mapped onto TableOptions by one table in C++ (table_core.h).
            {
                "storage_dir": storage_dir,
                "dram_budget_bytes": dram_budget_bytes,
                "max_dram_budget_bytes": max_dram_budget_bytes,
                "storage_budget_bytes": storage_budget_bytes,
                "durability": durability,
                "segment_bytes": segment_bytes,
                "write_queue_items": write_queue_items,
                "compaction_live_ratio": compaction_live_ratio,
                "compaction_bytes_per_second": compaction_bytes_per_second,
                "direct_io": direct_io,
                "tier_sampling": tier_sampling,
                "placement": placement,
                "placement_score_column": placement_score_column,
                "swap_ratio": swap_ratio,
                "swap_interval": swap_interval,
                "swap_policy": swap_policy,
                "swap_score_column": swap_score_column,
            },
        )
        self._schema = schema

    @property
    def schema(self) -> Schema:
        """The table's schema."""
        return self._schema

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return bool(self._info()["closed"])

    @staticmethod
    def repair(
        storage_dir: Union[str, "os.PathLike[str]"],
        schema: Union[Schema, Mapping[str, FieldLike]],
        *,
        name: str = "repaired",
        segment_bytes: int = _STORAGE["segment_bytes"],
    ) -> RepairReport:
        """Repairs a storage directory that opening refused, so that ``Table(..., storage_dir=)``
        with this schema opens it again. No table may have it open.

        Opening never deletes or truncates a file it cannot account for: a missing MANIFEST
        beside segment files, a MANIFEST that leaves out a segment, a checkpoint naming a missing
        segment, or a crafted entry raise StorageError naming the file and what is wrong, and
        change nothing. Repair is the explicit step after that: it rebuilds the MANIFEST from the
        segment and checkpoint files present (keeping a readable checkpoint, minus the items it
        places in segments that are gone) and moves every file it cannot place -- a lone data or
        index file, an unreadable MANIFEST or checkpoint, a file that is not Strata's -- into
        ``storage_dir/lost/``. Only temporaries and files the manifest listed as obsolete are
        deleted. ``name`` and ``segment_bytes`` are used only where the MANIFEST is rebuilt.

        Returns a :class:`RepairReport`. Raises StorageError when the directory does not exist,
        is open elsewhere or holds another schema (nothing changed), or on an I/O error;
        ValueError for a bad argument.
        """
        if not isinstance(schema, Schema):
            schema = Schema(schema)
        d = _strata._repair(name, schema._core,
                            {"storage_dir": storage_dir, "segment_bytes": segment_bytes})
        return RepairReport(**d)

    def get(self, keys: Any, *, strict: bool = False) -> Batch:  # type: ignore[override]
        """Copies the items with ``keys`` into a Batch, in order (not counted as sampling).

        Stale or unknown keys are skipped; their indices into ``keys`` are in ``batch.missing``,
        or, with ``strict=True``, a KeyError names them. ``batch.probabilities`` and
        ``batch.weights`` are None. Raises ClosedError.
        """
        batch = super().get(keys)
        if strict and len(batch.missing):
            bad = np.asarray(keys, dtype=np.uint64).reshape(-1)[batch.missing]
            raise KeyError(f"{len(bad)} key(s) not found (stale or unknown): {bad[:8].tolist()}")
        return batch

    def scan(self, chunk: int = 4096) -> Iterator[Batch]:
        """Every live item once, in slot order, as Batches of at most ``chunk`` items (fields,
        ``keys``, ``priorities``, ``groups``, ``tasks`` and ``scores``: a dict of score column ->
        float32 array). Not counted as sampling; selectors and the rate limiter are untouched.
        Items present for the whole scan are returned exactly once; items inserted or removed
        meanwhile may or may not be. The table lock is held for one bounded chunk at a time,
        and stored items are read without it. Raises ValueError for chunk < 1 or > 2**20,
        ClosedError, and OSError once for records lost on storage (checksum mismatch, truncated
        file: those items are removed, and a new scan() runs without them).
        """
        cursor, done = 0, False
        while not done:
            batch, cursor, done = self._scan(cursor, chunk)
            if len(batch):
                yield batch

    def delete(self, keys: Any) -> Applied:  # type: ignore[override]
        """Removes the items with ``keys``; returns Applied(removed, missing indices).
        Raises ClosedError."""
        return Applied(*super().delete(keys))

    def update_priorities(self, keys: Any, priorities: Any) -> Applied:  # type: ignore[override]
        """Sets ``priorities[i]`` on the item ``keys[i]`` (the last wins for repeated keys; a scalar
        applies to all); returns Applied(applied, missing indices). A stale key is never applied
        to the item that reused its slot. ValueError (nothing applied) for a NaN, infinite or
        negative priority or a length mismatch; ClosedError."""
        return Applied(*super().update_priorities(keys, priorities))

    def update_scores(self, keys: Any, **columns: Any) -> Applied:
        """Sets score columns: ``table.update_scores(keys, loss=losses, forgetting=f)``.

        Every column is validated first (ValueError, nothing applied, for an unknown column, a
        length mismatch or a NaN). Returns Applied(applied, missing indices) for the first column
        (the others see the same keys). ClosedError when closed.
        """
        return Applied(*self._update_scores(keys, columns))

    def stats(self) -> TableStats:
        """Counters since creation and the current state (a TableStats; ``.tier`` for storage)."""
        d = self._info()
        d["rate_limiter"] = RateLimiterStats(**d["rate_limiter"])
        d["tier"] = TierStats(**d["tier"])
        return TableStats(**d)

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        try:
            return f"Table({self.name!r}, {self._schema!r}, size={len(self)}, capacity={self.capacity})"
        except TypeError:  # __init__ raised
            return "Table(<not initialized>)"


for _name, _method in vars(_strata.TableCore).items():
    if not _name.startswith("_") and callable(_method) and _name not in vars(Table):
        setattr(Table, _name, _friendly_types(_method, f"Table.{_name}"))
del _name, _method


def __dir__() -> List[str]:
    """The API only (``dir(strata)``): the public names, not the modules and typing helpers this
    file imports. Submodules: ``strata.continual``, ``strata.profiler``, ``strata.torch``."""
    return sorted([*__all__, "__version__"])
