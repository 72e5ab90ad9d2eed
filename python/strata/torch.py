"""PyTorch integration: batches from a Strata table as torch tensors, and loss fed back.

``import strata.torch`` imports torch; ``import strata`` alone never does (the extension has no
link-time dependency on torch)::

    import strata, strata.torch

    data = strata.torch.ReplayDataset(table, batch_size=256, prefetch=4, num_batches=10_000)
    for batch in data:                      # or torch.utils.data.DataLoader(data, batch_size=None)
        loss = loss_fn(model(batch["obs"]), batch["target"])          # per-sample, shape (256,)
        (loss * batch.weights).mean().backward()                      # weights: float32
        opt.step(); opt.zero_grad()
        strata.torch.update_from_loss(table, batch, loss)             # |loss| -> priorities

A :class:`TensorBatch` is a ``Mapping`` of field name -> tensor (``dict(batch)``, ``batch.keys()``
list the fields); the items' keys are ``batch.item_keys`` and the batch size ``batch.size``.

Every field tensor is ``torch.from_numpy`` over the batch's C++ buffer: no copy (unless
``device`` is given, which copies to that device). With ``prefetch=N`` the batches are sampled by
C++ threads (:class:`strata.Prefetcher`) up to N ahead of the loop, without Python threads and
without holding the GIL. Use it with ``num_workers=0``: a DataLoader worker process would see a
copy of the table, not the table.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Union

import numpy as np
import torch

from . import Applied, Batch, ClosedError, Table
from ._strata import Prefetcher

__all__ = [
    "BatchIterator",
    "ReplayDataset",
    "TensorBatch",
    "batches",
    "collate",
    "to_tensors",
    "update_from_loss",
]

Device = Union[str, torch.device, None]

_META = ("item_keys", "weights", "probabilities", "priorities")


def _tensor(array: Optional[np.ndarray], device: Device) -> Optional[torch.Tensor]:
    if array is None:
        return None
    t = torch.from_numpy(array)
    return t if device is None else t.to(device, non_blocking=True)


def _check_weights_dtype(dtype: torch.dtype) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"weights_dtype must be a floating torch.dtype, got {dtype!r}")
    return dtype


# Live TensorBatches by the id of their first tensor field (else first field): torch rebuilds a
# Mapping as type(m)({k: convert(m[k])}) (DataLoader's default_convert with batch_size=None,
# default_collate, pin_memory), and TensorBatch(that dict) finds the batch its values came from.
_live: "weakref.WeakValueDictionary[int, TensorBatch]" = weakref.WeakValueDictionary()


def _anchor(fields: Mapping) -> Optional[int]:
    for value in fields.values():
        if isinstance(value, torch.Tensor):
            return id(value)
    for value in fields.values():
        return id(value)
    return None


def _origin(mapping: Mapping) -> Optional["TensorBatch"]:
    """The live TensorBatch whose fields ``mapping`` holds unchanged (tensors identical)."""
    anchor = _anchor(mapping)
    tb = None if anchor is None else _live.get(anchor)
    if tb is None or list(mapping) != list(tb.fields):
        return None
    for name, value in tb.fields.items():
        other = mapping[name]
        if other is not value and (isinstance(value, torch.Tensor) or not other == value):
            return None
    return tb


class TensorBatch(Mapping):
    """A sampled batch as torch tensors: a read-only ``Mapping`` of field name -> tensor (or
    :class:`strata.BytesColumn` for a bytes field), plus the items' metadata under names that do
    not clash with the Mapping methods.

    - ``tb["obs"]`` / ``tb.obs``; ``len(tb)``, ``iter(tb)``, ``tb.keys()``, ``tb.items()``,
      ``dict(tb)``, ``"obs" in tb`` are over the FIELDS. The batch size is ``tb.size``.
    - ``tb.item_keys``: int64 (the uint64 keys reinterpreted; keys stay below 2**63), always on
      the CPU (they go back to the table). ``tb.weights``: importance weights in (0, 1], float32
      unless ``weights_dtype``; ``tb.probabilities``, ``tb.priorities``: float64. Weights and
      probabilities are None for ``Table.get()``.
    - ``tb.to(device)`` copies to a device; :func:`collate` concatenates batches.

    Migration: ``tb.keys`` used to be the key tensor; it is now ``Mapping.keys`` (a method, the
    field names): use ``tb.item_keys``. ``len(tb)`` used to be the batch size; use ``tb.size``.

    Fixed-size fields and the float64 metadata are ``torch.from_numpy`` views of the C++ buffers
    (no copy; they share memory with ``tb.batch``'s arrays and keep them alive) or, with
    ``device``, copies on that device; float32 weights are a converted copy. ``tb.batch`` is the
    underlying :class:`strata.Batch` (NumPy views, uint64 keys, groups, tasks...); None after
    :func:`collate`. Metadata tensors are made on first access. Compared and hashed by identity
    (a tensor's ``==`` is elementwise). A field whose name is an attribute here (``size``,
    ``weights``, ``to``...) is reached as ``tb["name"]``.

    ``TensorBatch(mapping)``, as torch calls it when it rebuilds a Mapping, gives a TensorBatch
    (metadata included) only if the values are the unchanged fields of a live TensorBatch (what
    DataLoader's ``batch_size=None`` conversion passes); otherwise TypeError, after which torch
    builds a plain dict (``default_collate``: the stacked fields, without metadata).
    """

    __slots__ = ("batch", "fields", "device", "_size", "_weights_dtype", "_meta", "__weakref__")

    def __init__(
        self,
        batch: Union[Batch, Mapping],
        device: Device = None,
        *,
        weights_dtype: torch.dtype = torch.float32,
    ) -> None:
        if isinstance(batch, Batch):
            fields = {
                name: value if not isinstance(value, np.ndarray) else _tensor(value, device)
                for name, value in batch.fields.items()
            }
            self._set(batch, fields, device, len(batch), _check_weights_dtype(weights_dtype), {})
            return
        origin = _origin(batch) if isinstance(batch, Mapping) else None
        if origin is None:
            raise TypeError(
                "TensorBatch() takes a strata.Batch (or the unchanged fields of a TensorBatch); "
                f"got {type(batch).__name__}. To combine TensorBatches use strata.torch.collate"
            )
        self._set(origin.batch, dict(origin.fields), origin.device, origin._size,
                  origin._weights_dtype, origin._meta)

    def _set(self, batch: Optional[Batch], fields: Dict[str, Any], device: Device, size: int,
             weights_dtype: torch.dtype, meta: Dict[str, Optional[torch.Tensor]]) -> None:
        self.batch = batch
        self.fields = fields
        self.device = device
        self._size = size
        self._weights_dtype = weights_dtype
        self._meta = meta  # every name of _META when batch is None
        anchor = _anchor(fields)
        if anchor is not None:
            _live[anchor] = self

    @classmethod
    def _make(cls, *args: Any) -> "TensorBatch":
        tb = cls.__new__(cls)
        tb._set(*args)
        return tb

    def _get_meta(self, name: str) -> Optional[torch.Tensor]:
        if name not in self._meta:
            if name == "item_keys":  # torch has no uint64; same bits, no copy; on the CPU
                self._meta[name] = torch.from_numpy(self.batch.keys.view(np.int64))
            else:
                array = getattr(self.batch, name)
                dtype = self._weights_dtype if name == "weights" else None
                self._meta[name] = None if array is None else torch.from_numpy(array).to(
                    device=self.device, dtype=dtype, non_blocking=True)
        return self._meta[name]

    @property
    def size(self) -> int:
        """The number of items (``len(tb)`` is the number of fields, as for any Mapping)."""
        return self._size

    @property
    def item_keys(self) -> torch.Tensor:
        """int64 item keys, on the CPU (for update_from_loss; ``.numpy().view(np.uint64)``)."""
        return self._get_meta("item_keys")  # type: ignore[return-value]

    @property
    def weights(self) -> Optional[torch.Tensor]:
        """Importance weights in (0, 1], float32 unless weights_dtype (None for Table.get())."""
        return self._get_meta("weights")

    @property
    def probabilities(self) -> Optional[torch.Tensor]:
        """float64 probability that one draw picked each item (None for Table.get())."""
        return self._get_meta("probabilities")

    @property
    def priorities(self) -> torch.Tensor:
        """float64 priorities at sampling time."""
        return self._get_meta("priorities")  # type: ignore[return-value]

    def to(self, device: Device, non_blocking: bool = False) -> "TensorBatch":
        """A new TensorBatch with every field tensor and weights, probabilities, priorities on
        ``device`` (as ``Tensor.to``: those already there are not copied). Bytes fields stay as
        they are and ``item_keys`` on the CPU; ``batch`` is kept."""
        def move(value: Any) -> Any:
            if isinstance(value, torch.Tensor):
                return value.to(device, non_blocking=non_blocking)
            return value

        fields = {name: move(value) for name, value in self.fields.items()}
        meta = {name: move(self._get_meta(name)) for name in _META}
        meta["item_keys"] = self.item_keys
        return TensorBatch._make(self.batch, fields, device, self._size, self._weights_dtype, meta)

    def __getitem__(self, field: str) -> Any:
        return self.fields[field]

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __contains__(self, field: object) -> bool:
        return field in self.fields

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __getattr__(self, field: str) -> Any:
        if field.startswith("_") or field in TensorBatch.__slots__:  # unset slot (copy, pickle)
            raise AttributeError(field)
        try:
            return self.fields[field]
        except KeyError:
            raise AttributeError(f"TensorBatch has no field or attribute {field!r}") from None

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{k}: {tuple(v.shape)} {str(v.dtype).replace('torch.', '')}"
            if isinstance(v, torch.Tensor) else f"{k}: bytes"
            for k, v in self.fields.items()
        )
        return f"TensorBatch(size={self._size}, fields={{{parts}}})"


def to_tensors(
    batch: Batch, device: Device = None, *, weights_dtype: torch.dtype = torch.float32
) -> TensorBatch:
    """Wraps a :class:`strata.Batch` as a :class:`TensorBatch` (no copy unless ``device``;
    ``weights_dtype=torch.float64`` keeps the weights a zero-copy float64 view)."""
    return TensorBatch(batch, device, weights_dtype=weights_dtype)


def collate(batches: Iterable[TensorBatch]) -> TensorBatch:
    """Concatenates :class:`TensorBatch` es along the first dimension into one (a copy): field
    tensors and metadata with ``torch.cat``, bytes fields as lists of ``bytes``. Its ``batch`` is
    None; ``update_from_loss`` works on it (through ``item_keys``).

    For ``DataLoader(dataset, batch_size=k, collate_fn=strata.torch.collate)`` over a dataset of
    single items or of batches (e.g. ``ReplayDataset(table, 1)``), with ``num_workers=0``: a
    worker process would sample a copy of the table. torch's default collate instead gives a
    plain dict of the fields stacked (shape ``(k, n, ...)``), without metadata, and a TypeError
    for bytes fields.

    ValueError for no batches, different fields, a field that is a tensor in some batches only,
    or weights/probabilities present in some batches only (``Table.get()`` batches have none).
    """
    items: List[TensorBatch] = list(batches)
    if not items:
        raise ValueError("collate needs at least one TensorBatch")
    for tb in items:
        if not isinstance(tb, TensorBatch):
            raise TypeError(f"collate takes TensorBatches, got {type(tb).__name__}")
    names = list(items[0].fields)
    fields: Dict[str, Any] = {}
    for tb in items[1:]:
        if list(tb.fields) != names:
            raise ValueError(f"collate: fields {list(tb.fields)} differ from {names}")
    for name in names:
        values = [tb.fields[name] for tb in items]
        tensors = sum(isinstance(v, torch.Tensor) for v in values)
        if tensors == len(values):
            fields[name] = torch.cat(values)
        elif tensors == 0:
            fields[name] = [bytes(x) for v in values for x in v]
        else:
            raise ValueError(f"collate: field {name!r} is a tensor in some batches only")
    meta: Dict[str, Optional[torch.Tensor]] = {}
    for name in _META:
        values = [tb._get_meta(name) for tb in items]
        missing = sum(v is None for v in values)
        if missing == len(values):
            meta[name] = None
        elif missing == 0:
            meta[name] = torch.cat(values)  # type: ignore[arg-type]
        else:
            raise ValueError(f"collate: {name} is None in some batches only (Table.get() batches)")
    return TensorBatch._make(None, fields, items[0].device, sum(tb._size for tb in items),
                             items[0]._weights_dtype, meta)


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
        weights_dtype: torch.dtype = torch.float32,
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
        self._weights_dtype = _check_weights_dtype(weights_dtype)
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
        return TensorBatch(batch, self._device, weights_dtype=self._weights_dtype)

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
    weights_dtype: torch.dtype = torch.float32,
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
      weights_dtype: dtype of ``TensorBatch.weights`` (default float32, a converted copy;
        ``torch.float64`` keeps them a zero-copy view of the batch's float64 weights).

    Errors from the table (TimeoutError, ClosedError, ValueError) are raised by ``next()``.
    """
    return BatchIterator(
        table, batch_size, timeout=timeout, prefetch=prefetch, threads=threads,
        replacement=replacement, num_batches=num_batches, device=device,
        stop_on_close=stop_on_close, weights_dtype=weights_dtype,
    )


class ReplayDataset(torch.utils.data.IterableDataset):
    """A ``torch.utils.data.IterableDataset`` of :class:`TensorBatch` es sampled from ``table``.

    Each ``iter()`` starts a fresh :func:`batches` iterator with these arguments (its own
    prefetch threads). Already batched: use ``DataLoader(dataset, batch_size=None)`` (or iterate
    it directly), with ``num_workers=0`` — worker processes would sample a copy of the table;
    prefetching in C++ threads replaces them. To join several into one (e.g. batches of 1 into
    batches of k): ``DataLoader(dataset, batch_size=k, collate_fn=strata.torch.collate)``.
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
        weights_dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.table = table
        self.kwargs: Dict[str, Any] = dict(
            timeout=timeout, prefetch=prefetch, threads=threads, replacement=replacement,
            num_batches=num_batches, device=device, stop_on_close=stop_on_close,
            weights_dtype=_check_weights_dtype(weights_dtype),
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
      batch: the :class:`TensorBatch` (sampled, moved or collated) or :class:`strata.Batch`
        the loss was computed on, or its keys (``tb.item_keys``, uint64 NumPy keys).
      loss: one value per item (any shape with ``len(keys)`` elements): a torch tensor on any
        device, requiring grad or not (detached and copied to the CPU as float64; gradients are
        not affected) or anything NumPy reads.
      mode: "priority" (``table.update_priorities``) or "score" (``table.update_scores``).
      column: the score column for mode="score"; may be left out if the schema has exactly one.
      transform: applied to the float64 NumPy values first (default ``abs``: a TD error or a
        signed loss becomes a non-negative priority); None for none.

    Returns ``Applied(applied, missing)``: keys whose item was evicted or deleted since sampling
    are skipped. ValueError (nothing applied) for a length mismatch, NaN/inf/negative priorities,
    a NaN score or an unknown column; ClosedError.
    """
    if isinstance(batch, TensorBatch):
        keys = batch.item_keys.numpy().view(np.uint64)
    elif isinstance(batch, Batch):
        keys = batch.keys
    elif isinstance(batch, torch.Tensor):
        keys = batch.detach().cpu().numpy().view(np.uint64)
    elif callable(batch):  # e.g. tb.keys: Mapping.keys (the field names) since item_keys
        raise TypeError("update_from_loss needs the batch or its keys; TensorBatch.keys is "
                        "Mapping.keys() (the field names): pass the batch or batch.item_keys")
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
