"""strata.torch and strata.Prefetcher: zero-copy tensors, C++ prefetch threads, loss feedback."""

import os
import signal
import subprocess
import sys
import collections.abc
import threading
import time

import numpy as np
import pytest

import strata

torch = pytest.importorskip("torch")
import strata.torch as st  # noqa: E402  (needs torch)

from conftest import make_items  # noqa: E402


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def wait_until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def fifo_queue(n=1000):
    """Items come out once each, in insertion order."""
    return strata.Table(
        "queue", {"x": np.int64}, capacity=n, sampler=strata.Fifo(), remover=strata.Fifo(),
        rate_limiter=strata.Queue(n), max_times_sampled=1,
    )


@pytest.fixture
def table():
    with strata.Table(
        "t", {"obs": (np.float32, (4,)), "action": np.int32, "frame": bytes},
        capacity=100, sampler=strata.Prioritized(alpha=1.0, beta=0.5), seed=3,
    ) as t:
        t.insert(make_items(50))
        yield t


def test_import_strata_does_not_import_torch():
    code = "import sys, strata; assert 'torch' not in sys.modules; import strata.torch"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- Tensors over C++ memory


def test_tensors_share_memory_with_the_batch(table):
    tb = next(st.batches(table, 8))
    assert isinstance(tb, st.TensorBatch) and tb.size == 8 and len(tb) == 3  # 3 fields
    obs = tb.batch["obs"]
    assert tb["obs"].data_ptr() == address(obs) == obs.base.address
    assert tb.obs is tb["obs"] and tb.obs.shape == (8, 4) and tb.obs.dtype == torch.float32
    assert tb.action.dtype == torch.int32
    tb.obs[0, 0] = -5.0  # writes through to the NumPy view
    assert tb.batch["obs"][0, 0] == -5.0
    for name in ("probabilities", "priorities"):
        t = getattr(tb, name)
        assert t.dtype == torch.float64 and t.data_ptr() == address(getattr(tb.batch, name))
    assert tb.weights.dtype == torch.float32  # a converted copy
    np.testing.assert_allclose(tb.weights.numpy(), tb.batch.weights, rtol=1e-7)
    keys = tb.item_keys
    assert keys.dtype == torch.int64 and keys.device.type == "cpu"
    assert keys.data_ptr() == address(tb.batch.keys)
    np.testing.assert_array_equal(keys.numpy().view(np.uint64), tb.batch.keys)
    assert isinstance(tb.frame, strata.BytesColumn) and len(tb.frame) == 8
    assert "obs" in tb and "nope" not in tb
    with pytest.raises(AttributeError):
        tb.nope  # noqa: B018
    assert "obs: (8, 4) float32" in repr(tb) and "size=8" in repr(tb)


def test_a_batch_is_a_mapping_of_its_fields(table):
    tb = next(st.batches(table, 5))
    assert isinstance(tb, collections.abc.Mapping)
    d = dict(tb)
    assert list(d) == ["obs", "action", "frame"] == list(tb) == list(tb.keys())
    assert all(d[name] is tb.fields[name] for name in d)
    assert [v is tb[k] for k, v in tb.items()] == [True] * 3
    assert [v is d[k] for k, v in zip(d, tb.values())] == [True] * 3
    assert tb.get("obs") is tb.obs and tb.get("nope") is None
    with pytest.raises(KeyError):
        tb["nope"]  # noqa: B018
    # Migration: tb.keys is Mapping.keys now; the item keys are tb.item_keys.
    assert callable(tb.keys) and not isinstance(tb.keys, torch.Tensor)
    with pytest.raises(TypeError, match="item_keys"):
        st.update_from_loss(table, tb.keys, torch.ones(5))
    # Identity semantics (a tensor's == is elementwise): usable in sets, equal only to itself.
    other = next(st.batches(table, 5))
    assert tb == tb and tb != other and len({tb, other, tb}) == 2


def test_weights_are_float32_unless_asked(table):
    tb = next(st.batches(table, 6))
    assert tb.weights.dtype == torch.float32
    assert st.TensorBatch(table.sample(2)).weights.dtype == torch.float32
    tb64 = st.to_tensors(table.sample(6), weights_dtype=torch.float64)
    assert tb64.weights.dtype == torch.float64
    assert tb64.weights.data_ptr() == address(tb64.batch.weights)  # zero-copy view
    assert next(st.batches(table, 2, weights_dtype=torch.float64)).weights.dtype == torch.float64
    data = st.ReplayDataset(table, 2, prefetch=2, num_batches=1, weights_dtype=torch.float64)
    assert next(iter(data)).weights.dtype == torch.float64
    assert tb64.probabilities.dtype == tb64.priorities.dtype == torch.float64
    for bad in (torch.int32, "float32"):
        with pytest.raises(ValueError, match="weights_dtype"):
            st.batches(table, 2, weights_dtype=bad)
        with pytest.raises(ValueError, match="weights_dtype"):
            st.to_tensors(table.sample(2), weights_dtype=bad)


def test_to_device(table):
    tb = next(st.batches(table, 4, replacement=False, weights_dtype=torch.float64))
    cpu = tb.to("cpu")
    assert isinstance(cpu, st.TensorBatch) and cpu is not tb and cpu.batch is tb.batch
    assert cpu.obs.data_ptr() == tb.obs.data_ptr()  # as Tensor.to: already there, no copy
    assert cpu.size == 4 and cpu.weights.dtype == torch.float64
    torch.testing.assert_close(cpu.priorities, tb.priorities)
    # The meta device is a device the tensors really move to, without a GPU.
    moved = tb.to(torch.device("meta"), non_blocking=True)
    assert moved.device == torch.device("meta") and moved.size == 4 and list(moved) == list(tb)
    for t in (moved.obs, moved.action, moved.weights, moved.probabilities, moved.priorities):
        assert t.device.type == "meta"
    assert (moved.obs.shape, moved.obs.dtype) == ((4, 4), torch.float32)
    assert moved.weights.dtype == torch.float64 and moved.action.dtype == torch.int32
    assert moved.frame is tb.frame  # bytes fields stay as they are
    assert moved.item_keys.device.type == "cpu"  # keys go back to the table: stay on the CPU
    assert torch.equal(moved.item_keys, tb.item_keys)
    assert tb.obs.device.type == "cpu"  # the original is unchanged
    # A moved batch still feeds back.
    assert st.update_from_loss(table, tb.to("cpu"), torch.full((4,), 2.0)).applied == 4
    np.testing.assert_allclose(table.get(tb.batch.keys).priorities, 2.0)


def test_tensor_keeps_the_buffer_alive(table):
    tb = next(st.batches(table, 4))
    obs = tb.obs
    watch = tb.batch["obs"].base.watch()
    expected = obs.clone()
    del tb
    assert watch.alive
    assert torch.equal(obs, expected)
    del obs
    assert not watch.alive


@pytest.mark.parametrize("dtype", strata.SUPPORTED_DTYPES)
def test_every_dtype_converts_without_copy(dtype):
    with strata.Table("d", {"v": (dtype, (3,))}, capacity=10) as t:
        t.insert({"v": np.ones((5, 3), dtype=dtype)})
        tb = st.to_tensors(t.sample(4))
        assert tb.v.shape == (4, 3) and tb.v.data_ptr() == address(tb.batch["v"])
        assert tb.v.numpy().dtype == np.dtype(dtype)


def test_get_batches_have_no_weights(table):
    tb = st.to_tensors(table.get(table.sample(3).keys))
    assert tb.weights is None and tb.probabilities is None and tb.priorities.shape == (3,)
    moved = tb.to("cpu")
    assert moved.weights is None and moved.probabilities is None


# --- Prefetcher


def test_prefetch_delivers_num_batches_of_valid_keys(table):
    with st.batches(table, 16, prefetch=3, threads=2, num_batches=7, timeout=5) as it:
        got = list(it)
        assert it.prefetcher.stats() == {
            "sampled": 7, "delivered": 7, "queued": 0, "running": 0, "closed": True}
    assert len(got) == 7 and all(b.size == 16 and b.obs.shape == (16, 4) for b in got)
    all_keys = np.concatenate([b.batch.keys for b in got])
    assert table.get(all_keys).missing.size == 0  # every key names a live item
    assert table.stats().sampled == 7 * 16


def test_prefetch_is_bounded(table):
    with strata.Prefetcher(table, 5, prefetch=3, threads=2) as p:
        wait_until(lambda: p.stats()["queued"] == 3)
        time.sleep(0.05)
        assert p.stats()["sampled"] == 3 and table.stats().sampled == 15
        assert len(p.next(timeout=1)) == 5
        wait_until(lambda: p.stats()["sampled"] == 4)
        assert (p.batch_size, p.prefetch, p.threads) == (5, 3, 2)


def test_prefetch_keeps_order_with_one_thread():
    with fifo_queue() as t:
        t.insert({"x": np.arange(40)})
        with strata.Prefetcher(t, 4, num_batches=10, prefetch=3) as p:
            xs = np.concatenate([b["x"] for b in p])
        np.testing.assert_array_equal(xs, np.arange(40))


def test_prefetch_timeout_loses_nothing():
    with fifo_queue() as t:  # empty: the rate limiter holds samples back
        with strata.Prefetcher(t, 2, prefetch=2) as p:
            start = time.monotonic()
            with pytest.raises(TimeoutError):
                p.next(timeout=0.05)
            assert time.monotonic() - start < 2
            t.insert({"x": np.arange(4)})
            assert p.next(timeout=5)["x"].tolist() == [0, 1]
            assert p.next(timeout=5)["x"].tolist() == [2, 3]


def test_plain_iterator_timeout():
    with fifo_queue() as t:
        with pytest.raises(TimeoutError):
            next(st.batches(t, 2, timeout=0.02))


def test_close_wakes_a_waiting_consumer_and_joins_threads():
    with fifo_queue() as t:
        base = os_threads()
        p = strata.Prefetcher(t, 2, prefetch=2, threads=3)
        wait_until(lambda: os_threads() == base + 3)
        errors = []

        def consume():
            try:
                p.next()
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        consumer = threading.Thread(target=consume)
        consumer.start()
        time.sleep(0.05)
        start = time.monotonic()
        p.close()
        assert time.monotonic() - start < 1.0  # workers blocked on the rate limiter gave up
        consumer.join(timeout=5)
        assert not consumer.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], strata.ClosedError)
        assert os_threads() == base
        assert p.closed
        with pytest.raises(strata.ClosedError):
            p.next(timeout=0)
        p.close()  # idempotent


def test_dropping_prefetchers_joins_their_threads():
    with fifo_queue() as t:
        base = os_threads()
        for _ in range(10):
            p = strata.Prefetcher(t, 1, prefetch=2, threads=2)  # blocked: the table is empty
            del p
        assert os_threads() == base
        it = st.batches(t, 1, prefetch=2)
        del it
        assert os_threads() == base


def test_table_close_reaches_the_consumer_after_queued_batches(table):
    p = strata.Prefetcher(table, 4, prefetch=2)
    wait_until(lambda: p.stats()["queued"] == 2)
    table.close()
    assert len(p.next(timeout=5)) == 4 and len(p.next(timeout=5)) == 4
    for _ in range(2):  # sticky
        with pytest.raises(strata.ClosedError):
            p.next(timeout=5)
    p.close()


def test_table_close_while_waiting():
    with fifo_queue() as t:
        with st.batches(t, 1, prefetch=2) as it:
            threading.Timer(0.05, t.close).start()
            with pytest.raises(strata.ClosedError):
                next(it)
    with fifo_queue() as t:
        it = st.batches(t, 1, prefetch=2, stop_on_close=True)
        threading.Timer(0.05, t.close).start()
        assert list(it) == []
    with fifo_queue() as t:  # without prefetch
        t.close()
        assert list(st.batches(t, 1, stop_on_close=True)) == []


def test_worker_errors_propagate(table):
    with strata.Prefetcher(table, 80, replacement=False) as p:  # 50 items
        with pytest.raises(ValueError, match="replacement|items"):
            p.next(timeout=5)


def test_another_thread_inserts_while_the_consumer_waits():
    with fifo_queue() as t:
        threading.Timer(0.05, lambda: t.insert({"x": np.arange(3)})).start()
        with st.batches(t, 3, prefetch=1, timeout=5) as it:
            assert next(it).x.tolist() == [0, 1, 2]


def test_signal_interrupts_a_blocked_next():
    class Interrupted(Exception):
        pass

    def handler(signum, frame):
        raise Interrupted

    old = signal.signal(signal.SIGALRM, handler)
    try:
        with fifo_queue() as t, strata.Prefetcher(t, 1) as p:
            signal.setitimer(signal.ITIMER_REAL, 0.1)
            start = time.monotonic()
            with pytest.raises(Interrupted):
                p.next()  # no timeout: only the signal ends it
            assert time.monotonic() - start < 2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_prefetcher_keeps_its_table_alive():
    def make():
        t = strata.Table("gone", {"x": np.int64}, capacity=10)
        t.insert({"x": np.arange(10)})
        return strata.Prefetcher(t, 2, num_batches=3)

    p = make()
    assert [len(b) for b in p] == [2, 2, 2]


def test_bad_arguments(table):
    for kw in ({"prefetch": 0}, {"threads": 0}):
        with pytest.raises(ValueError):
            strata.Prefetcher(table, 4, **kw)
    with pytest.raises(ValueError):
        strata.Prefetcher(table, 0)
    with pytest.raises(ValueError):
        st.batches(table, 4, prefetch=-1)
    assert list(st.batches(table, 4, num_batches=0)) == []
    assert len(list(st.batches(table, 4, num_batches=3))) == 3


# --- Loss feedback


def test_update_from_loss_sets_priorities(table):
    tb = next(st.batches(table, 10, replacement=False))
    loss = torch.linspace(-2.0, 2.5, 10, requires_grad=True) * 1.0
    applied, missing = st.update_from_loss(table, tb, loss)
    assert applied == 10 and missing.size == 0
    expected = np.abs(np.linspace(-2.0, 2.5, 10))
    np.testing.assert_allclose(table.get(tb.batch.keys).priorities, expected, rtol=1e-6)
    # keys as a raw Batch, a numpy array or the int64 tensor; loss as (n, 1); no transform
    st.update_from_loss(table, tb.batch, np.full((10, 1), 0.5), transform=None)
    np.testing.assert_allclose(table.get(tb.batch.keys).priorities, 0.5)
    st.update_from_loss(table, tb.item_keys, torch.full((10,), 3.0), transform=lambda v: v * 2)
    np.testing.assert_allclose(table.get(tb.batch.keys).priorities, 6.0)
    table.delete(tb.batch.keys[:1])
    assert st.update_from_loss(table, tb, torch.ones(10)).missing.tolist() == [0]


def test_feedback_accepts_losses_that_require_grad(table):
    tb = next(st.batches(table, 6, replacement=False))
    w = torch.ones(6, requires_grad=True)
    loss = w * torch.arange(6.0) - 2.0
    assert loss.requires_grad
    priorities = lambda: table.get(tb.batch.keys).priorities  # noqa: E731
    st.update_from_loss(table, tb, loss)
    np.testing.assert_allclose(priorities(), np.abs(np.arange(6.0) - 2))
    st.update_from_loss(table, st.collate([tb]), loss + 3, transform=None)  # a collated batch
    np.testing.assert_allclose(priorities(), np.arange(6.0) + 1)
    st.update_from_loss(table, tb.item_keys, loss * 2 + 4, transform=None)  # the int64 keys
    np.testing.assert_allclose(priorities(), 2 * np.arange(6.0))
    st.update_from_loss(table, tb.batch, loss * -1, mode="priority")  # the NumPy Batch
    np.testing.assert_allclose(priorities(), np.abs(np.arange(6.0) - 2))
    loss.sum().backward()  # the graph is intact
    torch.testing.assert_close(w.grad, torch.arange(6.0))


def test_update_from_loss_errors(table):
    tb = next(st.batches(table, 4, replacement=False))
    before = table.get(tb.batch.keys).priorities.copy()
    with pytest.raises(ValueError):
        st.update_from_loss(table, tb, torch.ones(3))
    with pytest.raises(ValueError):
        st.update_from_loss(table, tb, torch.tensor([1.0, float("nan"), 1.0, 1.0]))
    with pytest.raises(ValueError):
        st.update_from_loss(table, tb, torch.ones(4), mode="bogus")
    with pytest.raises(ValueError):
        st.update_from_loss(table, tb, torch.ones(4), mode="score")  # no score column
    np.testing.assert_array_equal(table.get(tb.batch.keys).priorities, before)


def test_update_from_loss_scores():
    schema = strata.Schema({"x": np.float32}, scores=["loss"])
    with strata.Table("s", schema, capacity=10, remover=strata.GroupBalanced(
            victim_order="lowest_score", score_column="loss")) as t:
        t.insert({"x": np.arange(10, dtype=np.float32)})
        tb = next(st.batches(t, 10, replacement=False))
        n, missing = st.update_from_loss(t, tb, torch.arange(10.0), mode="score")
        assert n == 10 and missing.size == 0 and t.stats().score_updates == 10
        grad_loss = torch.arange(10.0, requires_grad=True) * 1.0
        st.update_from_loss(t, tb, grad_loss, mode="score", column="loss")
        assert t.stats().score_updates == 20
        with pytest.raises(ValueError):
            st.update_from_loss(t, tb, torch.arange(10.0), mode="score", column="nope")
        # The remover evicts the lowest score: the item that got loss 0.
        victim = int(tb.batch.keys[0])
        t.insert({"x": np.float32(99)})
        assert t.get([victim]).missing.tolist() == [0]


# --- Datasets and training


def test_dataset_through_a_dataloader(table):
    data = st.ReplayDataset(table, 8, prefetch=2, num_batches=5, timeout=5)
    assert isinstance(data, torch.utils.data.IterableDataset)
    got = list(torch.utils.data.DataLoader(data, batch_size=None))
    assert len(got) == 5 and all(isinstance(b, st.TensorBatch) and b.size == 8 for b in got)
    # The DataLoader rebuilds each Mapping (default_convert); the metadata comes through.
    for b in got:
        assert list(b) == ["obs", "action", "frame"] and b.weights.dtype == torch.float32
        np.testing.assert_array_equal(b.item_keys.numpy().view(np.uint64), b.batch.keys)
        assert b.obs.data_ptr() == address(b.batch["obs"])  # still zero-copy
        assert st.update_from_loss(table, b, torch.ones(8)).applied > 0
    assert len(list(data)) == 5  # each iter() starts afresh
    with pytest.raises(ValueError):
        st.ReplayDataset(table, 0)


def test_rebuilding_from_a_mapping(table):
    tb = next(st.batches(table, 3))
    again = st.TensorBatch(dict(tb))  # what torch does with a Mapping: same values, new object
    assert again is not tb and again.batch is tb.batch and again.obs is tb.obs
    assert torch.equal(again.item_keys, tb.item_keys) and torch.equal(again.weights, tb.weights)
    with pytest.raises(TypeError, match="collate"):
        st.TensorBatch({"obs": tb.obs.clone(), "action": tb.action, "frame": tb.frame})
    with pytest.raises(TypeError):
        st.TensorBatch({})


def test_collate_concatenates_fields_and_metadata(table):
    parts = [next(st.batches(table, n)) for n in (2, 3, 4)]
    tb = st.collate(parts)
    assert isinstance(tb, st.TensorBatch) and tb.size == 9 and len(tb) == 3 and tb.batch is None
    assert torch.equal(tb.obs, torch.cat([p.obs for p in parts])) and tb.obs.shape == (9, 4)
    assert tb.obs.data_ptr() != parts[0].obs.data_ptr()  # a copy
    assert tb.action.dtype == torch.int32
    assert tb.frame == [x for p in parts for x in p.frame.tolist()]
    for name in ("item_keys", "weights", "probabilities", "priorities"):
        t = getattr(tb, name)
        assert torch.equal(t, torch.cat([getattr(p, name) for p in parts]))
    assert tb.weights.dtype == torch.float32 and tb.item_keys.dtype == torch.int64
    assert st.update_from_loss(table, tb, torch.arange(9.0)).applied > 0
    keys = tb.item_keys.numpy().view(np.uint64)
    got = table.get(keys[-4:]).priorities  # the last batch's keys (with replacement: repeats)
    np.testing.assert_allclose(got[keys[-1] == keys[-4:]], 8.0)
    again = st.collate([tb, tb.to("cpu")])  # collated batches collate again; lists of bytes too
    assert again.size == 18 and again.frame == tb.frame * 2
    gets = st.collate([st.to_tensors(table.get(p.batch.keys)) for p in parts])
    assert gets.weights is None and gets.probabilities is None and gets.priorities.shape == (9,)


def test_collate_errors(table):
    tb = next(st.batches(table, 2))
    with pytest.raises(ValueError):
        st.collate([])
    with pytest.raises(TypeError):
        st.collate([tb, tb.batch])
    with pytest.raises(ValueError, match="weights"):
        st.collate([tb, st.to_tensors(table.get(tb.batch.keys))])
    with strata.Table("other", {"obs": (np.float32, (4,))}, capacity=10) as t:
        t.insert({"obs": np.zeros((3, 4), np.float32)})
        with pytest.raises(ValueError, match="fields"):
            st.collate([tb, st.to_tensors(t.sample(2))])


class Items(torch.utils.data.Dataset):
    """A map-style dataset of single items (TensorBatches of size 1)."""

    def __init__(self, table, keys):
        self.table, self.keys = table, keys

    def __len__(self):
        return len(self.keys)

    def __getitem__(self, i):
        return st.to_tensors(self.table.get(self.keys[i:i + 1]))


def test_dataloader_with_collate(table):
    keys = table.sample(10, replacement=False).keys
    loader = torch.utils.data.DataLoader(Items(table, keys), batch_size=4, collate_fn=st.collate)
    got = list(loader)
    assert [b.size for b in got] == [4, 4, 2] and all(isinstance(b, st.TensorBatch) for b in got)
    np.testing.assert_array_equal(
        np.concatenate([b.item_keys.numpy().view(np.uint64) for b in got]), keys)
    expected = table.get(keys)
    torch.testing.assert_close(torch.cat([b.obs for b in got]), torch.from_numpy(expected.obs))
    assert [x for b in got for x in b.frame] == expected.frame.tolist()
    # An iterable dataset of single sampled items, joined into batches of 8.
    data = st.ReplayDataset(table, 1, num_batches=16, timeout=5)
    got = list(torch.utils.data.DataLoader(data, batch_size=8, collate_fn=st.collate))
    assert [b.size for b in got] == [8, 8] and got[0].weights.shape == (8,)
    assert st.update_from_loss(table, got[0], torch.ones(8)).missing.size == 0


def test_default_collate_gives_a_dict_of_stacked_fields(table):
    with strata.Table("f", {"obs": (np.float32, (4,)), "action": np.int32}, capacity=10) as t:
        keys = t.insert({"obs": np.arange(24, dtype=np.float32).reshape(6, 4),
                         "action": np.arange(6, dtype=np.int32)})
        got = list(torch.utils.data.DataLoader(Items(t, keys), batch_size=3))
        assert len(got) == 2 and type(got[0]) is dict and list(got[0]) == ["obs", "action"]
        assert got[0]["obs"].shape == (3, 1, 4) and got[0]["action"].shape == (3, 1)
        assert torch.equal(got[1]["obs"].reshape(3, 4), torch.arange(12.0, 24).reshape(3, 4))
    with pytest.raises(TypeError, match="BytesColumn"):  # bytes fields: use strata.torch.collate
        list(torch.utils.data.DataLoader(Items(table, table.sample(4).keys), batch_size=2))


def test_dataset_refuses_worker_processes(table, monkeypatch):
    # As inside a DataLoader worker process (a real one takes seconds to start and stop).
    monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda: object())
    with pytest.raises(RuntimeError, match="num_workers=0"):
        iter(st.ReplayDataset(table, 8, num_batches=2))


def test_prioritized_training_loop_learns():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 1)).astype(np.float32)
    x = rng.normal(size=(2000, 8)).astype(np.float32)
    with strata.Table("train", {"x": (np.float32, (8,)), "y": (np.float32, (1,))},
                      capacity=2000, sampler=strata.Prioritized(alpha=0.6, beta=0.4), seed=1) as t:
        t.insert({"x": x, "y": x @ w}, priorities=1.0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        losses = []
        for batch in st.ReplayDataset(t, 64, prefetch=4, num_batches=300, timeout=5):
            per_sample = ((model(batch.x) - batch.y) ** 2).squeeze(1)
            loss = (per_sample * batch.weights).mean()  # float32 weights
            opt.zero_grad()
            loss.backward()
            opt.step()
            st.update_from_loss(t, batch, per_sample)
            losses.append(per_sample.mean().item())
        assert len(losses) == 300
        assert np.mean(losses[-20:]) < np.mean(losses[:20]) / 5
        assert t.stats().priority_updates == 300 * 64
        t.check_invariants()
