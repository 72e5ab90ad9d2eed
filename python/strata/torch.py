"""PyTorch integration: batches from a Strata table as torch tensors, and loss fed back.

``import strata.torch`` imports torch; ``import strata`` alone never does (the extension has no
link-time dependency on torch)::

    import strata, strata.torch

    data = strata.torch.ReplayDataset(table, batch_size=256, prefetch=4, num_batches=10_000)
    for batch in data:                      # or torch.utils.data.DataLoader(data, batch_size=None)
        loss = loss_fn(model(batch["obs"]), batch["target"])          # per-sample, shape (256,)
        (loss * batch.weights.float()).mean().backward()
        opt.step(); opt.zero_grad()
        strata.torch.update_from_loss(table, batch, loss)             # |loss| -> priorities

Every field tensor is ``torch.from_numpy`` over the batch's C++ buffer: no copy (unless
``device`` is given, which copies to that device). With ``prefetch=N`` the batches are sampled by
C++ threads (:class:`strata.Prefetcher`) up to N ahead of the loop, without Python threads and
without holding the GIL. Use it with ``num_workers=0``: a DataLoader worker process would see a
copy of the table, not the table.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, Optional, Union

import numpy as np
import torch

from . import Applied, Batch, ClosedError, Table
from ._strata import Prefetcher

__all__ = [
    "BatchIterator",
    "ReplayDataset",
    "TensorBatch",
    "batches",
    "to_tensors",
    "update_from_loss",
]

Device = Union[str, torch.device, None]


def _tensor(array: Optional[np.ndarray], device: Device) -> Optional[torch.Tensor]:
    if array is None:
        return None
    t = torch.from_numpy(array)
    return t if device is None else t.to(device, non_blocking=True)


class TensorBatch:
    """A sampled batch as torch tensors: ``tb["obs"]`` / ``tb.obs`` for each field, plus
    ``keys`` (int64, the uint64 keys reinterpreted; keys stay below 2**63), ``weights``,
    ``probabilities`` and ``priorities`` (float64; weights and probabilities None for
    ``Table.get()``).

    Fixed-size fields and the metadata are ``torch.from_numpy`` views of the C++ buffers (no
    copy; they share memory with ``tb.batch``'s arrays and keep them alive) or, with ``device``,
    copies on that device. Bytes fields stay :class:`strata.BytesColumn` objects. ``tb.batch``
    is the underlying :class:`strata.Batch` (NumPy views, uint64 keys). Metadata tensors are
    made on first access.
    """

    __slots__ = ("batch", "fields", "device", "_meta")

    def __init__(self, batch: Batch, device: Device = None) -> None:
        self.batch = batch
        self.device = device
        self.fields: Dict[str, Any] = {
            name: value if not isinstance(value, np.ndarray) else _tensor(value, device)
            for name, value in batch.fields.items()
        }
        self._meta: Dict[str, Optional[torch.Tensor]] = {}

    def _get_meta(self, name: str, device: Device) -> Optional[torch.Tensor]:
        if name not in self._meta:
            array = getattr(self.batch, name)
            if name == "keys":
                array = array.view(np.int64)  # torch has no uint64; same bits, no copy
            self._meta[name] = _tensor(array, device)
        return self._meta[name]

    @property
    def keys(self) -> torch.Tensor:
        """int64 keys (on the CPU, for update_from_loss)."""
        return self._get_meta("keys", None)  # type: ignore[return-value]

    @property
    def weights(self) -> Optional[torch.Tensor]:
        """float64 importance weights in (0, 1] (None for Table.get())."""
        return self._get_meta("weights", self.device)

    @property
    def probabilities(self) -> Optional[torch.Tensor]:
        """float64 probability that one draw picked each item (None for Table.get())."""
        return self._get_meta("probabilities", self.device)

    @property
    def priorities(self) -> torch.Tensor:
        """float64 priorities at sampling time."""
        return self._get_meta("priorities", self.device)  # type: ignore[return-value]

    def __getitem__(self, field: str) -> Any:
        return self.fields[field]

    def __getattr__(self, field: str) -> Any:
        if field.startswith("_") or field in TensorBatch.__slots__:  # unset slot (copy, pickle)
            raise AttributeError(field)
        try:
            return self.fields[field]
        except KeyError:
            raise AttributeError(f"TensorBatch has no field or attribute {field!r}") from None

    def __contains__(self, field: object) -> bool:
        return field in self.fields

    def __len__(self) -> int:
        return len(self.batch)

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{k}: {tuple(v.shape)} {str(v.dtype).replace('torch.', '')}"
            if isinstance(v, torch.Tensor) else f"{k}: bytes"
            for k, v in self.fields.items()
        )
        return f"TensorBatch(size={len(self)}, fields={{{parts}}})"


def to_tensors(batch: Batch, device: Device = None) -> TensorBatch:
    """Wraps a :class:`strata.Batch` as a :class:`TensorBatch` (no copy unless ``device``)."""
    return TensorBatch(batch, device)


class BatchIterator:
    """Yields :class:`TensorBatch` es sampled from ``table``; see :func:`batches`.

    A context manager: leaving the block (or close(), or garbage collection) stops the
    prefetch threads. Not thread-safe: iterate from one thread (close() may come from another).
    """

    def __init__(
        self,
        table: Table,
        batch_size: int,
        *,
        timeout: Optional[float] = None,
        prefetch: int = 0,
        threads: int = 1,
        replacement: bool = True,
        num_batches: Optional[int] = None,
        device: Device = None,
        stop_on_close: bool = False,
    ) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(prefetch) < 0:
            raise ValueError(f"prefetch must be >= 0, got {prefetch}")
        if num_batches is not None and int(num_batches) < 0:
            raise ValueError(f"num_batches must be None or >= 0, got {num_batches}")
        self._table = table
        self._batch_size = int(batch_size)
        self._timeout = timeout
        self._replacement = bool(replacement)
        self._left = None if num_batches is None else int(num_batches)
        self._device = device
        self._stop_on_close = stop_on_close
        self._prefetcher: Optional[Prefetcher] = None
        self._done = self._left == 0
        if prefetch > 0 and not self._done:
            self._prefetcher = Prefetcher(
                table, self._batch_size, prefetch=int(prefetch), threads=int(threads),
                replacement=self._replacement, num_batches=self._left or 0,
            )

    @property
    def prefetcher(self) -> Optional[Prefetcher]:
        """The C++ prefetcher (None without prefetch), e.g. for ``prefetcher.stats()``."""
        return self._prefetcher

    def __iter__(self) -> "BatchIterator":
        return self

    def __next__(self) -> TensorBatch:
        if self._done:
            raise StopIteration
        try:
            if self._prefetcher is not None:
                batch = self._prefetcher.next(self._timeout)  # StopIteration after num_batches
            else:
                batch = self._table.sample(
                    self._batch_size, timeout=self._timeout, replacement=self._replacement
                )
                if self._left is not None:
                    self._left -= 1
                    self._done = self._left == 0
        except ClosedError:
            if not self._stop_on_close:
                raise
            self.close()
            raise StopIteration from None
        except StopIteration:
            self.close()
            raise
        return TensorBatch(batch, self._device)

    def close(self) -> None:
        """Stops iteration and the prefetch threads (joined; queued batches are dropped)."""
        self._done = True
        if self._prefetcher is not None:
            self._prefetcher.close()

    def __enter__(self) -> "BatchIterator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        prefetcher = getattr(self, "_prefetcher", None)
        if prefetcher is not None:
            prefetcher.close()


def batches(
    table: Table,
    batch_size: int,
    *,
    timeout: Optional[float] = None,
    prefetch: int = 0,
    threads: int = 1,
    replacement: bool = True,
    num_batches: Optional[int] = None,
    device: Device = None,
    stop_on_close: bool = False,
) -> BatchIterator:
    """An iterator of :class:`TensorBatch` es of ``batch_size`` sampled from ``table``.

    Args:
      timeout: seconds each ``next()`` waits for a batch (None: forever); TimeoutError after.
      prefetch: 0 samples in ``next()`` (``table.sample``); N > 0 keeps up to N batches sampled
        ahead by ``threads`` C++ threads (:class:`strata.Prefetcher`). Those batches are taken
        from the table before they are asked for (its rate limiter and times_sampled count
        them), and dropped by close().
      replacement: as in ``Table.sample``.
      num_batches: stop after this many batches (None: never).
      device: copy the tensors to this device (None: zero-copy CPU views).
      stop_on_close: end the iteration (StopIteration) when the table is closed, instead of
        raising ClosedError.

    Errors from the table (TimeoutError, ClosedError, ValueError) are raised by ``next()``.
    """
    return BatchIterator(
        table, batch_size, timeout=timeout, prefetch=prefetch, threads=threads,
        replacement=replacement, num_batches=num_batches, device=device,
        stop_on_close=stop_on_close,
    )


class ReplayDataset(torch.utils.data.IterableDataset):
    """A ``torch.utils.data.IterableDataset`` of :class:`TensorBatch` es sampled from ``table``.

    Each ``iter()`` starts a fresh :func:`batches` iterator with these arguments (its own
    prefetch threads). Already batched: use ``DataLoader(dataset, batch_size=None)`` (or iterate
    it directly), with ``num_workers=0`` — worker processes would sample a copy of the table;
    prefetching in C++ threads replaces them.
    """

    def __init__(
        self,
        table: Table,
        batch_size: int,
        *,
        timeout: Optional[float] = None,
        prefetch: int = 0,
        threads: int = 1,
        replacement: bool = True,
        num_batches: Optional[int] = None,
        device: Device = None,
        stop_on_close: bool = False,
    ) -> None:
        super().__init__()
        self.table = table
        self.kwargs: Dict[str, Any] = dict(
            timeout=timeout, prefetch=prefetch, threads=threads, replacement=replacement,
            num_batches=num_batches, device=device, stop_on_close=stop_on_close,
        )
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")

    def __iter__(self) -> Iterator[TensorBatch]:
        if torch.utils.data.get_worker_info() is not None:
            raise RuntimeError(
                "strata.torch.ReplayDataset cannot run in DataLoader worker processes (each would "
                "sample its own copy of the table); use num_workers=0 and prefetch=N instead"
            )
        return batches(self.table, self.batch_size, **self.kwargs)


def update_from_loss(
    table: Table,
    batch: Union[TensorBatch, Batch, Any],
    loss: Any,
    *,
    mode: str = "priority",
    column: Optional[str] = None,
    transform: Optional[Callable[[np.ndarray], Any]] = abs,
) -> Applied:
    """Feeds a per-sample loss back to the sampled items, as priorities or as a score column.

    Args:
      batch: the :class:`TensorBatch` or :class:`strata.Batch` the loss was computed on, or
        its keys.
      loss: one value per item (any shape with ``len(keys)`` elements): a torch tensor (detached
        and copied to the CPU as float64; gradients are not affected) or anything NumPy reads.
      mode: "priority" (``table.update_priorities``) or "score" (``table.update_scores``).
      column: the score column for mode="score"; may be left out if the schema has exactly one.
      transform: applied to the float64 NumPy values first (default ``abs``: a TD error or a
        signed loss becomes a non-negative priority); None for none.

    Returns ``Applied(applied, missing)``: keys whose item was evicted or deleted since sampling
    are skipped. ValueError (nothing applied) for a length mismatch, NaN/inf/negative priorities,
    a NaN score or an unknown column; ClosedError.
    """
    if isinstance(batch, TensorBatch):
        keys = batch.batch.keys
    elif isinstance(batch, Batch):
        keys = batch.keys
    elif isinstance(batch, torch.Tensor):
        keys = batch.detach().cpu().numpy().view(np.uint64)
    else:
        keys = np.asarray(batch, dtype=np.uint64)
    if isinstance(loss, torch.Tensor):
        values = loss.detach().to(device="cpu", dtype=torch.float64).reshape(-1).numpy()
    else:
        values = np.asarray(loss, dtype=np.float64).reshape(-1)
    if values.shape[0] != keys.shape[0]:
        raise ValueError(f"loss has {values.shape[0]} values for {keys.shape[0]} items")
    if transform is not None:
        values = np.asarray(transform(values), dtype=np.float64)
    if mode == "priority":
        if column is not None:
            raise ValueError("column is only used with mode='score'")
        return table.update_priorities(keys, values)
    if mode == "score":
        if column is None:
            scores = table.schema.scores
            if len(scores) != 1:
                raise ValueError(
                    f"mode='score' needs column= (the schema's score columns: {list(scores)})"
                )
            column = scores[0]
        return table.update_scores(keys, **{column: values.astype(np.float32)})
    raise ValueError(f"mode must be 'priority' or 'score', got {mode!r}")
