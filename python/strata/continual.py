"""strata.continual: a continual-learning runtime over Strata tables (Miro/CarM-style rehearsal).

A model learns from a stream of tasks and replays old samples so that it does not forget them.
The runtime keeps two memories in one directory::

    stream buffer (SB)   the current task's samples, in DRAM (a FIFO table)
    episodic memory (EM) past samples: kind="hierarchical" keeps ``dram_items`` of them in DRAM,
                         class-balanced, and the rest on storage (a resident-mode table with
                         storage); "dram" keeps only ``dram_items`` in DRAM (the usual RAM-only
                         rehearsal memory); "unlimited" keeps every past sample in DRAM; "none"
                         replays nothing (fine-tuning)

and runs the four phases of Miro's pipeline:

* buffering (``observe``): the task's samples arrive into the SB, classes as groups;
* training (``batch``): each batch mixes ``stream_batch`` SB samples with ``memory_batch``
  EM-DRAM samples; ``report_loss`` feeds per-sample losses back (the score-aware policies);
* swapping (background, in C++): after each EM batch the table swaps ``swap_ratio`` of it for
  stored samples of the same classes (random within class, or CarM's score gate), asynchronously;
  an optional ``strata.SwapController`` adapts the ratio to what the disk sustains;
* flushing (``end_task``): the SB's samples go to the EM (class-balanced: per-class FIFO,
  reservoir or score-aware); with storage they are written behind and become swappable once
  written; the EM is checkpointed, the model saved through a callback, and a run state file
  replaced by rename, so that a run killed mid-task resumes from its last task boundary.

Example::

    rt = strata.continual.Runtime("run", {"x": (np.uint8, (784,))},
                                  memory=strata.continual.MemoryConfig("hierarchical", 200))
    for task in range(rt.tasks_done, 5):
        rt.begin_task(task)
        rt.observe({"x": images[task]}, labels[task])
        for _ in range(steps):
            b = rt.batch()
            loss = train_step(b["x"], b.labels)          # per-sample losses
            rt.report_loss(b, loss)
        rt.end_task(save=lambda path: torch.save(model.state_dict(), path))
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

import numpy as np

from . import GroupBalanced, Table, Uniform, Fifo, SwapController

__all__ = ["MemoryConfig", "MixedBatch", "Phase", "Runtime", "RuntimeStats", "MEMORY_KINDS"]

MEMORY_KINDS = ("none", "dram", "hierarchical", "unlimited")
FLUSH_POLICIES = {"fifo": "oldest", "reservoir": "random", "score": "lowest_score"}
SWAP_POLICIES = {"random": "random_in_group", "score": "score"}
STATE_VERSION = 1


@dataclasses.dataclass
class MemoryConfig:
    """The episodic memory of a run.

    kind: "none" (no replay), "dram" (``dram_items`` in DRAM only), "hierarchical"
      (``dram_items`` in DRAM, class-balanced, every past sample on storage up to ``capacity``
      items / ``storage_budget_bytes``) or "unlimited" (every past sample in DRAM).
    flush_policy: which samples of a class the DRAM part keeps when it is full: "fifo" (the
      newest, Miro's per-class FIFO), "reservoir" (a uniform random subset of the class) or
      "score" (the highest reported loss: the hard ones).
    swap_ratio, swap_interval, swap_policy: hierarchical only; every ``swap_interval`` EM batches,
      ``swap_ratio`` of the batch is replaced by stored samples of the same classes: "random"
      (Miro) or "score" (the lowest-loss go out, the highest-loss of a few stored candidates come
      in: CarM's gate).
    controller: hierarchical only; keyword arguments of :class:`strata.SwapController` to adapt the
      swap ratio to the disk while training (None: fixed settings).
    """

    kind: str = "hierarchical"
    dram_items: int = 200
    max_dram_items: int = 0  # resize() bound for the DRAM part; 0: dram_items
    capacity: int = 1_000_000  # items the EM may hold in all
    storage_budget_bytes: int = 0  # 0: no limit
    flush_policy: str = "fifo"
    swap_ratio: float = 1.0
    swap_interval: int = 1
    swap_policy: str = "random"
    controller: Optional[Dict[str, Any]] = None
    direct_io: bool = True
    durability: str = "flush"

    def validate(self) -> None:
        if self.kind not in MEMORY_KINDS:
            raise ValueError(f"memory kind must be one of {MEMORY_KINDS}, got {self.kind!r}")
        if self.flush_policy not in FLUSH_POLICIES:
            raise ValueError(f"flush_policy must be one of {tuple(FLUSH_POLICIES)}, "
                             f"got {self.flush_policy!r}")
        if self.swap_policy not in SWAP_POLICIES:
            raise ValueError(f"swap_policy must be one of {tuple(SWAP_POLICIES)}, "
                             f"got {self.swap_policy!r}")
        if self.kind in ("dram", "hierarchical") and self.dram_items < 1:
            raise ValueError(f"dram_items must be >= 1 for a {self.kind} memory")
        if self.controller is not None and self.kind != "hierarchical":
            raise ValueError("a swap controller needs kind='hierarchical'")


class Phase(str, enum.Enum):
    IDLE = "idle"  # between tasks
    BUFFERING = "buffering"  # the task's samples arrive into the stream buffer
    TRAINING = "training"  # mixed batches are drawn (swapping runs in the background)
    FLUSHING = "flushing"  # end_task: stream buffer -> episodic memory, checkpoint


@dataclasses.dataclass
class MixedBatch:
    """A training batch: ``n_stream`` stream-buffer rows, then memory rows."""

    fields: Dict[str, np.ndarray]
    labels: np.ndarray  # int64 class ids
    stream_keys: np.ndarray
    memory_keys: np.ndarray

    @property
    def n_stream(self) -> int:
        return len(self.stream_keys)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.fields[name]

    def __len__(self) -> int:
        return len(self.labels)


@dataclasses.dataclass(frozen=True)
class RuntimeStats:
    phase: str
    task: Optional[int]  # the task in progress (None between tasks)
    tasks_done: int
    stream_items: int
    memory_items: int  # every item of the EM
    memory_dram_items: int  # the EM's items in DRAM (what batches are drawn from)
    dram_bytes: int  # payload bytes in DRAM: stream buffer + EM DRAM part
    storage_bytes: int  # EM segment files on disk
    bytes_read: int  # EM storage reads (swaps, warm-up)
    bytes_written: int  # EM storage writes
    swaps: int
    swaps_skipped: int
    swap_ratio: float  # live settings (the controller may have changed them)
    swap_interval: int
    classes: Dict[int, int]  # hierarchical memory: per class, samples in the EM (DRAM + storage)


class Runtime:
    """A continual-learning run in ``directory`` (created if missing; a run found there is
    resumed from its last task boundary when ``resume`` is true, else ValueError).

    Args:
      directory: the run's own directory: state.json, the model checkpoint, the EM's files.
      fields: the schema of a sample (as for strata.Table), without the label: labels are given
        to observe() and come back as MixedBatch.labels (stored as the items' groups).
      memory: the episodic memory (MemoryConfig).
      stream_items: capacity of the stream buffer (the oldest samples go first beyond it).
      stream_batch, memory_batch: rows of each batch from the SB and from the EM's DRAM part
        (memory_batch is 0 while the EM is empty, and for kind "none").
      seed: seeds the tables and the flush order.
    """

    def __init__(self, directory: str, fields: Mapping[str, Any], *,
                 memory: Optional[MemoryConfig] = None, stream_items: int = 100_000,
                 stream_batch: int = 32, memory_batch: int = 32, seed: int = 0,
                 resume: bool = True) -> None:
        self.memory = memory if memory is not None else MemoryConfig()
        self.memory.validate()
        if "loss" in fields:
            raise ValueError("'loss' is the runtime's score column; rename that field")
        if stream_batch < 1 or memory_batch < 0:
            raise ValueError("stream_batch must be >= 1 and memory_batch >= 0")
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.stream_batch = stream_batch
        self.memory_batch = memory_batch
        self.seed = seed
        self._fields = dict(fields)
        self._rng = np.random.default_rng(seed)
        self._phase = Phase.IDLE
        self._task: Optional[int] = None
        self.completed_tasks: List[int] = []
        self.controller: Optional[SwapController] = None
        self.controller_log: List[Dict[str, Any]] = []
        state = self._read_state()
        if state is not None and not resume:
            raise ValueError(f"{self.directory} holds a run (state.json); pass resume=True to "
                             "resume it or use another directory")
        self._schema = _schema(self._fields)
        # Payload bytes of one sample (fixed fields: what DRAM budgets count).
        self._row_bytes = int(self._schema._core.fixed_row_bytes)
        self.sb = Table("stream", self._schema, capacity=stream_items, sampler=Uniform(),
                        remover=Fifo(), seed=seed)
        self.em = self._open_memory()
        self._sb_keys: List[np.ndarray] = []
        self._sb_loss: Dict[int, float] = {}
        if state is not None:
            self._restore(state)

    # --- Phases ---------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def tasks_done(self) -> int:
        return len(self.completed_tasks)

    @property
    def model_path(self) -> Optional[str]:
        """The model saved at the last task boundary (end_task's `save`), or None."""
        path = os.path.join(self.directory, "model.pt")
        return path if os.path.exists(path) else None

    def begin_task(self, task: int) -> None:
        """Starts buffering task `task` (an int id, distinct per task)."""
        if self._phase != Phase.IDLE:
            raise RuntimeError(f"begin_task({task}) while {self._phase.value} task {self._task}")
        if task in self.completed_tasks:
            raise ValueError(f"task {task} was already completed in this run")
        self._task = int(task)
        self._phase = Phase.BUFFERING

    def observe(self, items: Mapping[str, Any], labels: Any) -> np.ndarray:
        """Buffering: inserts samples of the current task into the stream buffer; returns keys."""
        if self._phase not in (Phase.BUFFERING, Phase.TRAINING):
            raise RuntimeError("observe() needs a task: call begin_task first")
        labels = np.asarray(labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} "
                             f"{labels.shape}")
        keys = self.sb.insert(items, groups=labels.astype(np.int32),
                              tasks=np.full(len(labels), self._task, dtype=np.int32))
        self._sb_keys.append(keys)
        return keys

    def batch(self) -> MixedBatch:
        """Training: ``stream_batch`` SB samples, then ``memory_batch`` EM-DRAM samples."""
        if self._phase not in (Phase.BUFFERING, Phase.TRAINING):
            raise RuntimeError("batch() needs a task: call begin_task and observe first")
        if len(self.sb) == 0:
            raise RuntimeError("batch(): the stream buffer is empty; observe() the task first")
        if self._phase == Phase.BUFFERING:
            self._phase = Phase.TRAINING
            if self.controller is not None:
                self.controller.start()
        s = self.sb.sample(self.stream_batch)
        parts = [s]
        if self.em is not None and self.memory_batch > 0 and len(self.em) > 0:
            parts.append(self.em.sample(self.memory_batch, timeout=30.0))
        if len(parts) == 1:
            fields = {name: s[name] for name in self._fields}
            labels = s.groups.astype(np.int64)
            mkeys = np.empty(0, dtype=np.uint64)
        else:
            m = parts[1]
            fields = {name: np.concatenate([s[name], m[name]]) for name in self._fields}
            labels = np.concatenate([s.groups, m.groups]).astype(np.int64)
            mkeys = m.keys
        return MixedBatch(fields, labels, s.keys, mkeys)

    def report_loss(self, batch: MixedBatch, losses: Any) -> None:
        """Per-row losses of `batch` (after the training step): they order the score-aware
        flush (stream rows) and the score swap policy (memory rows)."""
        losses = np.asarray(losses, dtype=np.float32).reshape(-1)
        if len(losses) != len(batch):
            raise ValueError(f"got {len(losses)} losses for a batch of {len(batch)}")
        if not np.isfinite(losses).all():
            raise ValueError("losses must be finite (a NaN or inf loss was reported)")
        n = batch.n_stream
        if self.memory.flush_policy == "score":
            for k, v in zip(batch.stream_keys.tolist(), losses[:n].tolist()):
                self._sb_loss[k] = v
        if self.em is not None and len(batch.memory_keys) and (
                self.memory.swap_policy == "score" or self.memory.flush_policy == "score"):
            self.em.update_scores(batch.memory_keys, loss=losses[n:])

    def end_task(self, save: Optional[Callable[[str], None]] = None) -> Dict[str, float]:
        """Flushing: the stream buffer's samples go to the episodic memory (class-balanced by the
        flush policy), the EM is made durable, ``save(path)`` writes the model, and the run state
        is replaced atomically. Returns timings. The stream buffer is then empty."""
        if self._phase not in (Phase.BUFFERING, Phase.TRAINING):
            raise RuntimeError("end_task() without a task in progress")
        task = self._task
        assert task is not None
        if self.controller is not None:
            self.controller.stop()
            self._log_controller()
        self._phase = Phase.FLUSHING
        t0 = time.perf_counter()
        # A crash from here on leaves a partial flush: the resumed run deletes it (task id).
        self._write_state(flushing=task)
        flushed = self._flush(task)
        t1 = time.perf_counter()
        if self.em is not None and self.memory.kind == "hierarchical":
            self.em.checkpoint()
        elif self.em is not None:
            self._save_dram_memory()
        if save is not None:
            tmp = os.path.join(self.directory, "model.pt.tmp")
            save(tmp)
            _fsync(tmp)
            os.replace(tmp, os.path.join(self.directory, "model.pt"))
        self.completed_tasks.append(task)
        self._write_state()
        t2 = time.perf_counter()
        self._clear_stream()
        self._phase = Phase.IDLE
        self._task = None
        return {"flushed": flushed, "flush_seconds": t1 - t0, "persist_seconds": t2 - t1}

    # --- Sizes ------------------------------------------------------------------------------

    def resize(self, *, memory_items: Optional[int] = None,
               stream_items: Optional[int] = None) -> None:
        """Changes the EM's DRAM part (hierarchical: refilled class-balanced from storage when
        it grows; dram: evicts class-balanced when it shrinks, cannot grow past its creation
        size) and/or the stream buffer's capacity (up to its creation capacity)."""
        if stream_items is not None:
            self.sb.resize(int(stream_items))
        if memory_items is not None:
            if self.memory.kind == "hierarchical":
                self.em.resize(self.em.capacity,
                               dram_budget_bytes=int(memory_items) * self._row_bytes)
            elif self.memory.kind == "dram":
                self.em.resize(int(memory_items))
            else:
                raise ValueError(f"a {self.memory.kind!r} memory has no DRAM size to change")

    # --- Observability --------------------------------------------------------------------

    def stats(self) -> RuntimeStats:
        sb = self.sb.stats()
        em = self.em.stats() if self.em is not None else None
        tier = em.tier if em is not None else None
        classes: Dict[int, int] = {}
        if tier is not None and tier.enabled:
            classes = {g: n for g, (_, n) in tier.groups.items()}
            dram_items, dram_bytes = tier.dram_items, tier.dram_bytes
        elif em is not None:
            dram_items, dram_bytes = em.size, em.bytes
        else:
            dram_items, dram_bytes = 0, 0
        return RuntimeStats(
            phase=self._phase.value, task=self._task, tasks_done=self.tasks_done,
            stream_items=sb.size, memory_items=em.size if em is not None else 0,
            memory_dram_items=dram_items, dram_bytes=sb.bytes + dram_bytes,
            storage_bytes=tier.disk_bytes if tier is not None else 0,
            bytes_read=tier.read_bytes if tier is not None else 0,
            bytes_written=tier.bytes_written if tier is not None else 0,
            swaps=tier.swaps if tier is not None else 0,
            swaps_skipped=tier.swaps_skipped if tier is not None else 0,
            swap_ratio=tier.swap_ratio if tier is not None else 0.0,
            swap_interval=tier.swap_interval if tier is not None else 0,
            classes=classes)

    def close(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self._log_controller()
        self.sb.close()
        if self.em is not None:
            self.em.close()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- Internals ------------------------------------------------------------------------

    def _open_memory(self) -> Optional[Table]:
        m = self.memory
        if m.kind == "none":
            return None
        order = FLUSH_POLICIES[m.flush_policy]
        remover = GroupBalanced(order, "loss" if order == "lowest_score" else "")
        schema = self._schema
        if m.kind == "dram":
            return Table("memory", schema, capacity=m.dram_items, sampler=Uniform(),
                         remover=remover, seed=self.seed + 1)
        if m.kind == "unlimited":
            return Table("memory", schema, capacity=m.capacity, sampler=Uniform(),
                         remover=remover, seed=self.seed + 1)
        table = Table(
            "memory", schema, capacity=m.capacity, sampler=Uniform(), remover=remover,
            seed=self.seed + 1, storage_dir=os.path.join(self.directory, "memory"),
            dram_budget_bytes=m.dram_items * self._row_bytes,
            max_dram_budget_bytes=max(m.max_dram_items, m.dram_items) * self._row_bytes,
            storage_budget_bytes=m.storage_budget_bytes, durability=m.durability,
            direct_io=m.direct_io, tier_sampling="resident", placement="group_balanced",
            swap_ratio=m.swap_ratio, swap_interval=m.swap_interval,
            swap_policy=SWAP_POLICIES[m.swap_policy], swap_score_column="loss")
        if m.controller is not None:
            self.controller = SwapController(table, **m.controller)
        return table

    def _flush(self, task: int) -> int:
        keys = np.concatenate(self._sb_keys) if self._sb_keys else np.empty(0, np.uint64)
        if self.em is None or len(keys) == 0:
            return 0
        items = self.sb.get(keys)  # arrival order; evicted ones are skipped
        found = np.delete(keys, items.missing) if len(items.missing) else keys
        order = np.arange(len(found))
        loss = np.zeros(len(found), dtype=np.float32)
        if self.memory.flush_policy == "reservoir":
            order = self._rng.permutation(len(found))
        elif self.memory.flush_policy == "score":
            loss = np.array([self._sb_loss.get(k, 0.0) for k in found.tolist()], np.float32)
            order = np.argsort(loss, kind="stable")  # the hardest last: kept by oldest-first
        data = {name: np.ascontiguousarray(items[name][order]) for name in self._fields}
        self.em.insert(data, groups=items.groups[order], tasks=items.tasks[order],
                       scores={"loss": loss[order]})
        return len(found)

    def _clear_stream(self) -> None:
        if self._sb_keys:
            self.sb.delete(np.concatenate(self._sb_keys))
        self._sb_keys = []
        self._sb_loss = {}

    def _state_path(self) -> str:
        return os.path.join(self.directory, "state.json")

    def _read_state(self) -> Optional[Dict[str, Any]]:
        try:
            with open(self._state_path(), encoding="utf-8") as f:
                state = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise ValueError(f"{self._state_path()}: unreadable run state ({e})") from None
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"{self._state_path()}: run state version {state.get('version')} "
                             f"(this runtime reads {STATE_VERSION})")
        return state

    def _write_state(self, flushing: Optional[int] = None) -> None:
        state = {
            "version": STATE_VERSION,
            "completed_tasks": self.completed_tasks,
            "flushing": flushing,
            "memory": dataclasses.asdict(self.memory),
            "time": time.time(),
        }
        tmp = self._state_path() + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._state_path())
        _fsync(self.directory)

    def _restore(self, state: Dict[str, Any]) -> None:
        saved = state.get("memory", {})
        if saved.get("kind") != self.memory.kind:
            raise ValueError(f"{self.directory} holds a run with a {saved.get('kind')!r} memory, "
                             f"not {self.memory.kind!r}")
        self.completed_tasks = [int(t) for t in state.get("completed_tasks", [])]
        flushing = state.get("flushing")
        if self.em is not None and self.memory.kind == "hierarchical":
            if flushing is not None:  # killed while flushing: roll the partial flush back
                self.em.delete_task(int(flushing))
                self.em.checkpoint()
        elif self.em is not None:
            self._load_dram_memory()
        if flushing is not None:
            self._write_state()  # the rollback is done: clear the marker

    def _save_dram_memory(self) -> None:
        path = os.path.join(self.directory, "memory.npz")
        arrays: Dict[str, np.ndarray] = {}
        if len(self.em):
            # A scan, not a sample: no sampling counted, and the loss scores come along.
            batches = list(self.em.scan())
            arrays = {f"field_{n}": np.concatenate([b[n] for b in batches]) for n in self._fields}
            arrays["groups"] = np.concatenate([b.groups for b in batches])
            arrays["tasks"] = np.concatenate([b.tasks for b in batches])
            arrays["loss"] = np.concatenate([b.scores["loss"] for b in batches])
        tmp = path + ".tmp.npz"
        np.savez(tmp, **arrays)
        _fsync(tmp)
        os.replace(tmp, path)

    def _load_dram_memory(self) -> None:
        path = os.path.join(self.directory, "memory.npz")
        if not os.path.exists(path):
            return
        with np.load(path) as z:
            if "groups" not in z:
                return
            scores = {"loss": z["loss"]} if "loss" in z else None  # older files lack them
            self.em.insert({n: z[f"field_{n}"] for n in self._fields}, groups=z["groups"],
                           tasks=z["tasks"], scores=scores)

    def _log_controller(self) -> None:
        assert self.controller is not None
        new = self.controller.decisions[len(self.controller_log):]
        if not new:
            return
        self.controller_log.extend(new)
        with open(os.path.join(self.directory, "controller.log"), "a", encoding="utf-8") as f:
            for d in new:
                f.write(json.dumps({k: (v if isinstance(v, (int, float, str, bool)) or v is None
                                        else str(v)) for k, v in d.items()}) + "\n")


def _schema(fields: Mapping[str, Any]):
    from . import Schema
    return Schema(dict(fields), scores=["loss"])


def _fsync(path: str) -> None:
    """fsync a file, or a directory (its entries: a rename in it becomes durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
