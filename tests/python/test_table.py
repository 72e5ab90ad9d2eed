"""The Table API call by call: insert, sample, get, delete, updates, stats, options, errors."""

import datetime
import inspect
import threading
import time

import numpy as np
import pytest

import strata
from conftest import make_items

ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


# ---------------------------------------------------------------------------------------------
# insert / sample / get / len


def test_insert_batch_returns_keys_and_get_round_trips(simple_table):
    items = make_items(10)
    keys = simple_table.insert(items)
    assert keys.dtype == np.uint64 and keys.shape == (10,)
    assert len(set(keys.tolist())) == 10 and 0 not in keys
    assert len(simple_table) == 10
    got = simple_table.get(keys)
    assert len(got) == 10
    np.testing.assert_array_equal(got["obs"], items["obs"])
    np.testing.assert_array_equal(got.action, items["action"])
    assert got["frame"] == items["frame"]
    np.testing.assert_array_equal(got.keys, keys)
    assert got.probabilities is None and got.weights is None
    assert got.missing.dtype == np.int64 and len(got.missing) == 0
    np.testing.assert_array_equal(got.times_sampled, np.zeros(10))


def test_insert_single_item_without_batch_dim(simple_table):
    keys = simple_table.insert({"obs": np.arange(4, dtype=np.float32), "action": 3, "frame": b"abc"},
                               priorities=2.5, groups=4, tasks=9)
    assert keys.shape == (1,)
    b = simple_table.get(keys)
    np.testing.assert_array_equal(b["obs"], [[0, 1, 2, 3]])
    assert b.action.tolist() == [3] and b.frame.tolist() == [b"abc"]
    assert b.priorities.tolist() == [2.5] and b.groups.tolist() == [4] and b.tasks.tolist() == [9]


def test_insert_metadata_per_item_and_broadcast(simple_table):
    keys = simple_table.insert(make_items(3), priorities=[1.0, 2.0, 3.0], groups=np.array([7, 8, 9]),
                               tasks=5)
    b = simple_table.get(keys)
    assert b.priorities.tolist() == [1.0, 2.0, 3.0]
    assert b.groups.dtype == np.int32 and b.groups.tolist() == [7, 8, 9]
    assert b.tasks.tolist() == [5, 5, 5]


def test_default_priority_is_running_max(simple_table):
    simple_table.insert(make_items(1), priorities=4.0)
    k = simple_table.insert(make_items(1))
    assert simple_table.get(k).priorities.tolist() == [4.0]


def test_lists_and_scalars_are_converted(simple_table):
    keys = simple_table.insert({"obs": [[1, 2, 3, 4], [5, 6, 7, 8]], "action": [1, 2], "frame": (b"a", b"b")})
    b = simple_table.get(keys)
    assert b["obs"].dtype == np.float32
    np.testing.assert_array_equal(b["obs"], [[1, 2, 3, 4], [5, 6, 7, 8]])


def test_sample_batch_fields_and_metadata(simple_table):
    keys = simple_table.insert(make_items(20))
    b = simple_table.sample(32)
    assert len(b) == 32
    assert b["obs"].shape == (32, 4) and b["obs"].dtype == np.float32
    assert b.obs.shape == (32, 4)  # attribute access to fields
    assert b.action.shape == (32,) and len(b.frame) == 32
    assert set(b.keys.tolist()) <= set(keys.tolist())
    # Each row is consistent with the item its key names.
    lookup = dict(zip(keys.tolist(), range(20)))
    for k, obs, a, f in zip(b.keys.tolist(), b["obs"], b.action, b.frame):
        i = lookup[k]
        assert a == i and (obs == i).all() and f == make_items(1, i)["frame"][0]
    np.testing.assert_allclose(b.probabilities, 1 / 20)
    np.testing.assert_allclose(b.weights, 1.0)
    assert b.times_sampled.dtype == np.uint32 and (b.times_sampled >= 1).all()
    assert b.field_names == ["obs", "action", "frame"]
    assert set(b.fields) == {"obs", "action", "frame"}
    assert "obs" in b and "nope" not in b
    with pytest.raises(KeyError):
        b["nope"]
    with pytest.raises(AttributeError):
        b.nope
    assert "Batch(size=32" in repr(b)


def test_sample_without_replacement_is_distinct(simple_table):
    simple_table.insert(make_items(20))
    b = simple_table.sample(20, replacement=False)
    assert sorted(b.action.tolist()) == list(range(20))


def test_len_and_eviction_by_fifo_remover():
    t = strata.Table("t", {"x": np.int64}, capacity=5)
    keys = t.insert({"x": np.arange(8)})
    assert len(t) == 5
    got = t.get(keys)
    assert got.missing.tolist() == [0, 1, 2]  # the three oldest were evicted
    assert got.x.tolist() == [3, 4, 5, 6, 7]
    assert t.stats().evicted == 3


def test_get_strict_raises_key_error(simple_table):
    keys = simple_table.insert(make_items(2))
    simple_table.delete(keys[:1])
    with pytest.raises(KeyError, match="not found"):
        simple_table.get(keys, strict=True)
    assert simple_table.get(keys).missing.tolist() == [0]
    assert len(simple_table.get([12345, keys[1]]).missing) == 1


def test_get_scalar_key(simple_table):
    keys = simple_table.insert(make_items(2))
    assert simple_table.get(keys[1]).action.tolist() == [1]
    assert simple_table.get(int(keys[1])).action.tolist() == [1]


# ---------------------------------------------------------------------------------------------
# delete / update_priorities / update_scores


def test_delete_returns_applied_and_missing(simple_table):
    keys = simple_table.insert(make_items(5))
    res = simple_table.delete([keys[0], keys[0], keys[3], 999])
    assert isinstance(res, strata.Applied)
    n, missing = res
    assert n == 2 and missing.tolist() == [1, 3]
    assert len(simple_table) == 3
    st = simple_table.stats()
    assert st.deleted == 2 and st.missing_keys == 2


def test_update_priorities_and_stale_keys():
    t = strata.Table("t", {"x": np.int32}, capacity=3, sampler=strata.Prioritized(alpha=1.0))
    keys = t.insert({"x": np.arange(3, dtype=np.int32)})
    res = t.update_priorities(keys, [1.0, 2.0, 5.0])
    assert res.applied == 3 and len(res.missing) == 0
    np.testing.assert_array_equal(t.get(keys).priorities, [1.0, 2.0, 5.0])
    np.testing.assert_allclose(t.sample(8).probabilities.max(), 5 / 8, rtol=1e-6)
    # Evict keys[0] by inserting; its slot is reused, but the stale key never touches the new item.
    new = t.insert({"x": 9})
    res = t.update_priorities([keys[0], new[0]], [100.0, 3.0])
    assert res.applied == 1 and res.missing.tolist() == [0]
    assert t.get(new).priorities.tolist() == [3.0]
    # Scalar broadcasts.
    t.update_priorities(t.get([keys[1], keys[2]]).keys, 0.5)
    assert t.get([keys[1], keys[2]]).priorities.tolist() == [0.5, 0.5]
    assert t.stats().priority_updates == 3 + 1 + 2


def test_update_scores_and_insert_scores():
    t = strata.Table("t", strata.Schema({"x": np.int32}, scores=["loss", "age"]), capacity=10,
                     remover=strata.GroupBalanced("lowest_score", "loss"))
    keys = t.insert({"x": np.arange(4, dtype=np.int32)}, scores={"loss": [1, 2, 3, 4]})
    res = t.update_scores(keys, loss=[10, 20, 30, 40], age=np.ones(4, np.float32))
    assert res == (4, res.missing) and len(res.missing) == 0
    assert t.stats().score_updates == 8
    # The remover evicts the lowest loss: make keys[2] lowest, then overflow the table.
    t.update_scores(keys[2:3], loss=-1.0)
    t.insert({"x": np.arange(100, 107, dtype=np.int32)})
    assert t.get(keys).missing.tolist() == [2]
    t.delete(keys[:1])
    assert t.update_scores(keys[:2], loss=[0, 0]).missing.tolist() == [0]


def test_update_scores_validates_every_column_first():
    t = strata.Table("t", strata.Schema({"x": np.int32}, scores=["loss"]), capacity=10)
    keys = t.insert({"x": np.arange(2, dtype=np.int32)})
    with pytest.raises(ValueError, match="unknown score column 'nope'"):
        t.update_scores(keys, loss=[1, 2], nope=[1, 2])
    with pytest.raises(ValueError, match="NaN"):
        t.update_scores(keys, loss=[1, np.nan])
    with pytest.raises(ValueError, match="2 keys but 3"):
        t.update_scores(keys, loss=[1, 2, 3])
    with pytest.raises(ValueError, match="at least one"):
        t.update_scores(keys)
    assert t.stats().score_updates == 0
    with pytest.raises(ValueError, match="NaN"):
        t.insert({"x": 1}, scores={"loss": np.nan})
    with pytest.raises(ValueError, match="unknown score column"):
        t.insert({"x": 1}, scores={"nope": 1.0})


# ---------------------------------------------------------------------------------------------
# dtypes, shapes, bytes, large batches


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_every_dtype_round_trips(dtype, shape):
    rng = np.random.default_rng(0)
    t = strata.Table("t", {"x": (dtype, shape)}, capacity=64)
    values = (rng.standard_normal((16, *shape)) * 50).astype(dtype)
    keys = t.insert({"x": values})
    got = t.get(keys)["x"]
    assert got.dtype == np.dtype(dtype) and got.shape == (16, *shape)
    np.testing.assert_array_equal(got, values)
    s = t.sample(8)["x"]
    assert s.dtype == np.dtype(dtype) and s.shape == (8, *shape)


def test_non_native_byte_order_rejected():
    t = strata.Table("t", {"x": np.int32}, capacity=4)
    with pytest.raises(ValueError, match="field 'x': expected dtype int32, got >i4"):
        t.insert({"x": np.arange(3, dtype=">i4")})


def test_variable_bytes_fields():
    t = strata.Table("t", {"id": np.int32, "blob": bytes, "tag": bytes}, capacity=100)
    blobs = [b"", b"x", bytes(range(256)) * 4, b"\x00" * (1 << 20)]
    keys = t.insert({"id": np.arange(4, dtype=np.int32), "blob": blobs,
                     "tag": [bytearray(b"ba"), memoryview(b"mv"), np.frombuffer(b"np", np.uint8), b"b"]})
    b = t.get(keys)
    assert b.blob == blobs
    assert b.tag.tolist() == [b"ba", b"mv", b"np", b"b"]
    assert b.blob[-1] == blobs[-1] and b.blob[1:3] == blobs[1:3] and list(b.blob) == blobs
    with pytest.raises(IndexError):
        b.blob[4]
    # Zero-copy views of the packed form.
    col = b.blob
    assert col.data.dtype == np.uint8 and col.data.nbytes == sum(map(len, blobs))
    assert col.offsets.tolist() == np.cumsum([0] + [len(x) for x in blobs]).tolist()
    assert t.stats().bytes == 4 * 4 + sum(map(len, blobs)) + 7
    # A sampled BytesColumn, and a whole Batch, can be inserted again as they are.
    k2 = t.insert({"id": b.id, "blob": b.blob, "tag": b.tag})
    assert t.get(k2).blob == blobs
    k3 = t.insert(b)
    assert t.get(k3).tag.tolist() == [b"ba", b"mv", b"np", b"b"]


def test_bytes_field_errors():
    t = strata.Table("t", {"blob": bytes}, capacity=10)
    with pytest.raises(ValueError, match="got str"):
        t.insert({"blob": "text"})
    with pytest.raises(ValueError, match="item 1 is str"):
        t.insert({"blob": [b"ok", "text"]})
    with pytest.raises(ValueError, match="expected bytes"):
        t.insert({"blob": 5})
    with pytest.raises(ValueError, match="item 0 is int"):
        t.insert({"blob": [5]})
    with pytest.raises(ValueError, match="item 0"):
        t.insert({"blob": [np.zeros((4, 4), np.uint8)[:, 1]]})  # not contiguous
    assert len(t) == 0


def test_large_batches():
    t = strata.Table("big", {"x": (np.float32, (16,)), "i": np.int64}, capacity=300_000)
    n = 200_000
    x = np.random.default_rng(1).standard_normal((n, 16)).astype(np.float32)
    keys = t.insert({"x": x, "i": np.arange(n)})
    assert len(keys) == n and len(t) == n
    b = t.sample(65_536)
    assert b["x"].shape == (65_536, 16)
    np.testing.assert_array_equal(b["x"], x[b.i])
    g = t.get(keys[::7])
    np.testing.assert_array_equal(g["x"], x[::7])
    t.check_invariants()


# ---------------------------------------------------------------------------------------------
# selectors, insertion policy, rate limiters


def test_queue_fifo_and_stack_lifo():
    q = strata.Table("q", {"x": np.int32}, capacity=10, sampler=strata.Fifo(),
                     rate_limiter=strata.Queue(10), max_times_sampled=1)
    q.insert({"x": np.arange(5, dtype=np.int32)})
    assert q.sample(3).x.tolist() == [0, 1, 2]
    assert q.sample(2).x.tolist() == [3, 4]
    assert len(q) == 0 and q.stats().expired == 5
    s = strata.Table("s", {"x": np.int32}, capacity=10, sampler=strata.Lifo(),
                     rate_limiter=strata.Stack(10), max_times_sampled=1)
    s.insert({"x": np.arange(5, dtype=np.int32)})
    assert s.sample(2).x.tolist() == [4, 3]


def test_heaps():
    t = strata.Table("t", {"x": np.int32}, capacity=4, sampler=strata.MaxHeap(), remover=strata.MinHeap())
    t.insert({"x": np.arange(4, dtype=np.int32)}, priorities=[5.0, 1.0, 9.0, 3.0])
    assert t.sample(2, replacement=False).x.tolist() == [2, 0]
    t.insert({"x": 10}, priorities=4.0)  # evicts the lowest priority (x=1)
    assert sorted(t.sample(4).x.tolist()) == [0, 2, 3, 10]


def test_group_balanced_remover_keeps_classes_balanced():
    t = strata.Table("t", {"x": np.int32}, capacity=6, remover=strata.GroupBalanced())
    t.insert({"x": np.arange(10, dtype=np.int32)}, groups=np.zeros(10, np.int32))
    t.insert({"x": np.arange(3, dtype=np.int32)}, groups=np.ones(3, np.int32))
    g = t.sample(6, replacement=False).groups
    assert sorted(g.tolist()) == [0, 0, 0, 1, 1, 1]


def test_reservoir_drops_with_key_zero():
    t = strata.Table("r", {"x": np.int32}, capacity=10, remover=strata.Uniform(), insertion="reservoir", seed=3)
    keys = t.insert({"x": np.arange(1000, dtype=np.int32)})
    assert len(t) == 10
    dropped = int((keys == 0).sum())
    assert dropped > 900 and t.stats().dropped == dropped


def test_min_size_blocks_then_times_out():
    t = strata.Table("t", {"x": np.int32}, capacity=10, rate_limiter=strata.MinSize(3))
    t.insert({"x": [1, 2]})
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="rate limiter"):
        t.sample(1, timeout=0.05)
    assert time.monotonic() - start >= 0.04
    with pytest.raises(TimeoutError):
        t.sample(1, timeout=datetime.timedelta(milliseconds=10))
    with pytest.raises(TimeoutError):
        t.sample(1, timeout=0)
    t.insert({"x": 3})
    assert len(t.sample(1, timeout=0)) == 1
    st = t.stats().rate_limiter
    assert st.min_size_to_sample == 3 and st.sample_waits >= 2 and st.sample_wait_seconds > 0.03


def test_insert_timeout_keeps_admitted_items():
    t = strata.Table("q", {"x": np.int32}, capacity=10, sampler=strata.Fifo(),
                     rate_limiter=strata.Queue(2), max_times_sampled=1)
    with pytest.raises(TimeoutError) as e:
        t.insert({"x": np.arange(5, dtype=np.int32)}, timeout=0.02)
    assert len(e.value.inserted_keys) == 2 and len(t) == 2
    np.testing.assert_array_equal(t.get(e.value.inserted_keys).x, [0, 1])


def test_sample_to_insert_ratio_and_set_rate_limiter():
    t = strata.Table("t", {"x": np.int32}, capacity=100,
                     rate_limiter=strata.SampleToInsertRatio(1.0, 1, 2.0))
    t.insert({"x": [0]})
    # min_diff = 1*1 - 2 = -1. One insert: diff = 1; each sampled item costs 1 while diff - 1 >= -1.
    assert len(t.sample(2, timeout=0)) == 2
    with pytest.raises(TimeoutError, match="had 0 of 1"):
        t.sample(1, timeout=0)
    assert t.stats().rate_limiter.diff == -1
    t.set_rate_limiter(strata.MinSize(1))
    assert len(t.sample(5, timeout=0)) == 5
    assert t.stats().rate_limiter.samples_per_insert == 1.0
    with pytest.raises(ValueError, match="samples_per_insert"):
        t.set_rate_limiter(strata.RateLimiter(samples_per_insert=0))


def test_blocked_sample_wakes_on_insert_from_another_thread():
    # Proves the GIL is released while waiting: otherwise the main thread could not insert.
    t = strata.Table("t", {"x": np.int32}, capacity=10)
    out = {}

    def sampler():
        start = time.monotonic()
        out["batch"] = t.sample(1, timeout=10)
        out["waited"] = time.monotonic() - start

    th = threading.Thread(target=sampler)
    th.start()
    time.sleep(0.1)
    t.insert({"x": 42})
    th.join(10)
    assert out["batch"].x.tolist() == [42]
    assert 0.05 < out["waited"] < 5


def test_close_wakes_blocked_callers_with_closed_error():
    t = strata.Table("t", {"x": np.int32}, capacity=10)
    errors = []

    def sampler():
        try:
            t.sample(1)
        except strata.ClosedError as e:
            errors.append(e)

    th = threading.Thread(target=sampler)
    th.start()
    time.sleep(0.05)
    t.close()
    th.join(10)
    assert not th.is_alive() and len(errors) == 1 and isinstance(errors[0], RuntimeError)


# ---------------------------------------------------------------------------------------------
# stats, close, context manager, options


def test_stats_dataclass(simple_table):
    simple_table.insert(make_items(7))
    simple_table.sample(5)
    st = simple_table.stats()
    assert isinstance(st, strata.TableStats) and isinstance(st.rate_limiter, strata.RateLimiterStats)
    assert (st.name, st.size, st.inserted, st.sampled, st.capacity) == ("simple", 7, 7, 5, 100)
    assert st.sampler == "uniform" and st.remover == "fifo" and not st.closed
    assert st.bytes == 7 * (16 + 4) + sum(map(len, make_items(7)["frame"]))
    assert "obs: float32[4]" in st.schema
    assert st.rate_limiter.inserts == 7 and st.rate_limiter.samples == 5


def test_closed_table_raises_closed_error_everywhere():
    t = strata.Table("t", {"x": np.int32}, capacity=10)
    keys = t.insert({"x": [1, 2]})
    with t:
        pass
    assert t.closed
    t.close()  # idempotent
    for call in (
        lambda: t.insert({"x": 3}),
        lambda: t.sample(1),
        lambda: t.get(keys),
        lambda: t.delete(keys),
        lambda: t.update_priorities(keys, [1, 1]),
        lambda: t.set_rate_limiter(strata.MinSize(1)),
    ):
        with pytest.raises(strata.ClosedError, match="closed"):
            call()
    assert len(t) == 2 and t.stats().closed


def test_full_without_remover_raises_full_error():
    t = strata.Table("t", {"x": np.int32}, capacity=3, remover=None)
    t.insert({"x": [1, 2]})
    with pytest.raises(strata.FullError, match="no remover") as e:
        t.insert({"x": [3, 4]})
    assert isinstance(e.value, MemoryError)
    assert len(t) == 2
    t.insert({"x": 3})
    assert len(t) == 3


def test_table_option_errors():
    s = {"x": np.float32}
    with pytest.raises(ValueError, match=r"^capacity must be in \[1, "):  # the argument's name
        strata.Table("t", s, capacity=0)
    with pytest.raises(ValueError, match="capacity must be >= 0"):
        strata.Table("t", s, capacity=-1)
    with pytest.raises(ValueError, match="alpha"):
        strata.Table("t", s, sampler=strata.Prioritized(alpha=-1))
    with pytest.raises(ValueError, match="needs a remover"):
        strata.Table("t", s, insertion="reservoir", remover=None)
    with pytest.raises(ValueError, match="insertion must be"):
        strata.Table("t", s, insertion="sometimes")
    with pytest.raises(ValueError, match="score"):
        strata.Table("t", s, remover=strata.GroupBalanced("lowest_score", "loss"))
    with pytest.raises(ValueError, match="victim_order"):
        strata.GroupBalanced("newest")
    with pytest.raises(ValueError, match="samples_per_insert"):
        strata.Table("t", s, rate_limiter=strata.RateLimiter(samples_per_insert=-1))


def test_options_objects():
    p = strata.Prioritized(0.7, 0.5, 1e-3, stratified=True)
    assert (p.kind, p.alpha, p.beta, p.epsilon, p.stratified) == ("prioritized", 0.7, 0.5, 1e-3, True)
    assert repr(p) == "Prioritized(alpha=0.7, beta=0.5, epsilon=0.001, stratified=True)"
    assert p == strata.Prioritized(0.7, 0.5, 1e-3, True) and p != strata.Prioritized()
    assert {strata.Fifo(), strata.Fifo()} == {strata.Fifo()}
    assert [s.kind for s in (strata.Uniform(), strata.Fifo(), strata.Lifo(), strata.MinHeap(),
                             strata.MaxHeap(), strata.GroupBalanced())] == [
        "uniform", "fifo", "lifo", "min_heap", "max_heap", "group_balanced"]
    g = strata.GroupBalanced("lowest_score", "loss")
    assert (g.victim_order, g.score_column) == ("lowest_score", "loss")
    r = strata.SampleToInsertRatio(8, 1000, 4000)
    assert (r.samples_per_insert, r.min_size_to_sample, r.min_diff, r.max_diff) == (8, 1000, 4000, 12000)
    assert strata.Queue(5) == strata.Stack(5) == strata.RateLimiter(1.0, 1, 0.0, 5.0)
    assert strata.MinSize(4).min_size_to_sample == 4
    assert "RateLimiter(samples_per_insert=8.0" in repr(r)


def test_table_whose_init_failed_is_unusable_not_crashing():
    class Keep(strata.Table):
        def __init__(self):
            try:
                super().__init__("t", {"x": np.float32}, capacity=0)
            except ValueError:
                pass

    t = Keep()
    for call in (lambda: t.insert({"x": 1.0}), lambda: t.sample(1), lambda: len(t), lambda: t.name,
                 lambda: t.get([1]), lambda: t.stats(), lambda: t.close()):
        with pytest.raises(TypeError, match="did not complete"):
            call()
    assert repr(t) == "Table(<not initialized>)"


def test_table_properties_and_repr(simple_table):
    assert simple_table.name == "simple" and simple_table.capacity == 100 and simple_table.max_bytes == 0
    assert "Table('simple'" in repr(simple_table)
    simple_table.check_invariants()


# ---------------------------------------------------------------------------------------------
# input errors: every one names the problem and leaves the table unchanged


@pytest.mark.parametrize(
    "items, kwargs, exc, match",
    [
        ({"obs": np.zeros((2, 4)), "action": [1, 2], "frame": [b"", b""]}, {}, ValueError,
         "field 'obs': expected dtype float32, got float64"),
        ({"obs": np.zeros((2, 5), np.float32), "action": [1, 2], "frame": [b"", b""]}, {}, ValueError,
         r"field 'obs': expected shape \[n, 4\], got \[2, 5\]"),
        ({"obs": np.zeros((2, 2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]}, {}, ValueError,
         r"field 'obs': expected shape \[n, 4\], got \[2, 2, 4\] \(one item has shape \[4\]\)"),
        ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""], "extra": 1}, {},
         ValueError, "unknown field 'extra'; the schema has obs, action, frame"),
        ({"obs": np.zeros((2, 4), np.float32), "frame": [b"", b""]}, {}, ValueError,
         "missing field 'action'"),
        ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2, 3], "frame": [b"", b""]}, {}, ValueError,
         "field 'action' has 3 items but field 'obs' has 2"),
        ({"obs": np.zeros(4, np.float32), "action": [1, 2], "frame": [b"", b""]}, {}, ValueError,
         "field 'action' has 2 items but field 'obs' has 1"),
        ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
         {"priorities": [1.0, np.nan]}, ValueError, r"priorities\[1\] is nan"),
        ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
         {"priorities": [1.0, -1.0]}, ValueError, "finite and >= 0"),
        ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
         {"priorities": [1.0, np.inf]}, ValueError, "finite and >= 0"),
        ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
         {"priorities": [1.0, 2.0, 3.0]}, ValueError, "priorities has 3 entries for a batch of 2"),
        ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
         {"priorities": [[1.0], [2.0]]}, ValueError, "priorities must be 1-D"),
        ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
         {"groups": [1, 2, 3]}, ValueError, "groups has 3 entries"),
        ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
         {"priorities": "high"}, ValueError, "priorities must be a number"),
        ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
         {"timeout": -1}, ValueError, "timeout must be None or >= 0"),
        ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
         {"timeout": "soon"}, TypeError, "timeout must be None"),
        ({"obs": np.zeros((0, 4), np.float32), "action": np.zeros(0, np.int32), "frame": []}, {},
         ValueError, "batch of 0 items"),
        ({"obs": [["a", "b", "c", "d"]], "action": [1], "frame": [b""]}, {}, ValueError,
         "field 'obs': cannot convert list to float32"),
        ([1, 2, 3], {}, TypeError, "insert expects a dict"),
        ({1: 2}, {}, TypeError, "field names must be str"),
    ],
)
def test_insert_errors(simple_table, items, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        simple_table.insert(items, **kwargs)
    assert len(simple_table) == 0 and simple_table.stats().inserted == 0


# Every bad insert below is refused by the core's batch binder (the binding passes arrays with
# their own dtype and shape) or by an exact conversion; each names the field and inserts nothing,
# also into a table that already holds items.
BAD_INSERTS = [
    # An array of another dtype, for a float and for an int field.
    ({"obs": np.zeros((2, 4)), "action": [1, 2], "frame": [b"", b""]}, {},
     "field 'obs': expected dtype float32, got float64"),
    ({"obs": np.zeros((2, 4), np.float32), "action": np.arange(2), "frame": [b"", b""]}, {},
     "field 'action': expected dtype int32, got int64"),
    ({"obs": np.zeros((2, 4), np.float32), "action": np.zeros(2, np.uint16), "frame": [b"", b""]}, {},
     "field 'action': expected dtype int32, got uint16"),
    # Wrong shapes: of a single item, of a batch, of a scalar field.
    ({"obs": np.zeros(5, np.float32), "action": 1, "frame": b""}, {},
     r"field 'obs': expected shape \[n, 4\], got \[5\] \(one item has shape \[4\]\)"),
    ({"obs": np.zeros((3, 2), np.float32), "action": [1, 2, 3], "frame": [b""] * 3}, {},
     r"field 'obs': expected shape \[n, 4\], got \[3, 2\]"),
    ({"obs": np.zeros((2, 4), np.float32), "action": np.zeros((2, 1), np.int32), "frame": [b"", b""]},
     {}, r"field 'action': expected shape \[n\], got \[2, 1\] \(one item is a scalar\)"),
    # Batch sizes that disagree, between fields and between a single item and a batch.
    ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b""] * 3}, {},
     "field 'frame' has 3 items but field 'obs' has 2"),
    ({"action": [1, 2], "obs": np.zeros(4, np.float32), "frame": [b"", b""]}, {},
     "field 'obs' has 1 item but field 'action' has 2"),
    # NaN metadata.
    ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
     {"priorities": np.array([np.nan, 1.0])}, r"priorities\[0\] is nan"),
    # Lists and scalars that would not convert exactly: truncated, wrapped, overflowed, not numbers.
    ({"obs": np.zeros((2, 4), np.float32), "action": [1.5, 2], "frame": [b"", b""]}, {},
     r"field 'action': cannot convert list to int32 without loss: 1.5 at \[0\]"),
    ({"obs": np.zeros(4, np.float32), "action": 2.5, "frame": b""}, {},
     "field 'action': cannot convert float to int32 without loss: 2.5$"),
    ({"obs": np.zeros(4, np.float32), "action": 2**40, "frame": b""}, {},
     "field 'action': cannot convert int to int32 without loss: 1099511627776"),
    ({"obs": np.zeros(4, np.float32), "action": [np.nan], "frame": [b""]}, {},
     r"field 'action': cannot convert list to int32 without loss: nan at \[0\]"),
    ({"obs": [[0, 0, 0, 0], [0, 0, 1e40, 0]], "action": [1, 2], "frame": [b"", b""]}, {},
     r"field 'obs': cannot convert list to float32 without loss: 1e\+40 at \[1, 2\]"),
    ({"obs": np.zeros(4, np.float32), "action": np.float16(2.5), "frame": b""}, {},
     "field 'action': cannot convert float16 to int32 without loss: 2.5"),
    ({"obs": ["1", "2", "3", "4"], "action": 1, "frame": b""}, {},
     "field 'obs': cannot convert list to float32: NumPy reads it as <U1, not as bool, integer or float"),
    ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
     {"groups": [1, 2.5]}, r"groups: cannot convert list to int32 without loss: 2.5 at \[1\]"),
    ({"obs": np.zeros((2, 4), np.float32), "action": [1, 2], "frame": [b"", b""]},
     {"tasks": 2**31}, "tasks: cannot convert int to int32 without loss: 2147483648"),
]


@pytest.mark.parametrize("items, kwargs, match", BAD_INSERTS)
def test_bad_insert_names_the_field_and_changes_nothing(simple_table, items, kwargs, match):
    keys = simple_table.insert(make_items(3))
    with pytest.raises(ValueError, match=match):
        simple_table.insert(items, **kwargs)
    assert len(simple_table) == 3 and simple_table.stats().inserted == 3
    assert sorted(simple_table.get(keys).action.tolist()) == [0, 1, 2]


def test_nan_score_names_the_column_and_changes_nothing():
    t = strata.Table("t", strata.Schema({"x": np.int32}, scores=["loss"]), capacity=10)
    t.insert({"x": [1, 2]}, scores={"loss": [0.5, 1.5]})
    with pytest.raises(ValueError, match=r"score column 'loss'\[1\] is NaN"):
        t.insert({"x": [3, 4]}, scores={"loss": [0.5, np.nan]})
    with pytest.raises(ValueError, match=r"unknown score column 'gain'; the schema has loss"):
        t.insert({"x": [3, 4]}, scores={"gain": [0.5, 1.0]})
    with pytest.raises(ValueError, match=r"scores: cannot convert list to float32 without loss: 1e\+39"):
        t.insert({"x": [3, 4]}, scores={"loss": [0.5, 1e39]})
    assert len(t) == 2 and t.stats().inserted == 2


def test_exact_conversions_are_accepted():
    t = strata.Table("t", {"i8": np.int8, "u8": np.uint8, "f16": np.float16, "b": np.bool_,
                           "i64": np.int64, "v": (np.float32, (2,))}, capacity=10)
    keys = t.insert({"i8": [-128, 127.0], "u8": [np.uint16(255), True], "f16": [65504, 0.1],
                     "b": [1, 0.0], "i64": [np.uint16(15360), np.uint16(1)], "v": [[1, 2**60], [1e-50, np.inf]]},
                    groups=[np.int64(7), 8.0], tasks=np.array([1, 2], np.int16), priorities=[1, 2])
    b = t.get(keys)
    assert b.i8.tolist() == [-128, 127] and b.u8.tolist() == [255, 1]
    assert b.f16.dtype == np.float16 and b.f16.tolist() == [65504.0, np.float16(0.1)]
    assert b.b.tolist() == [True, False]
    assert b.i64.tolist() == [15360, 1]  # uint16 values, not read as the bits of float16s
    assert b.v.tolist() == [[1.0, np.float32(2**60)], [0.0, np.inf]]
    assert b.groups.tolist() == [7, 8] and b.tasks.tolist() == [1, 2] and b.priorities.tolist() == [1, 2]
    with pytest.raises(ValueError, match="field 'i8': cannot convert list to int8 without loss: 128"):
        t.insert({"i8": [128, 0], "u8": [0, 0], "f16": [0, 0], "b": [0, 0], "i64": [0, 0], "v": [[0, 0]] * 2})
    with pytest.raises(ValueError, match="field 'f16': cannot convert int to float16 without loss: 65536"):
        t.insert({"i8": 0, "u8": 0, "f16": 65536, "b": 0, "i64": 0, "v": [0, 0]})
    with pytest.raises(ValueError, match="field 'b': cannot convert int to bool without loss: 2"):
        t.insert({"i8": 0, "u8": 0, "f16": 0, "b": 2, "i64": 0, "v": [0, 0]})
    with pytest.raises(ValueError, match="field 'i64': cannot convert float to int64 without loss: 9.2"):
        t.insert({"i8": 0, "u8": 0, "f16": 0, "b": 0, "i64": 2.0**63, "v": [0, 0]})
    assert len(t) == 2


def test_item_larger_than_max_bytes():
    t = strata.Table("t", {"b": bytes}, capacity=10, max_bytes=100)
    with pytest.raises(ValueError, match="more than the table's max_bytes 100"):
        t.insert({"b": [b"x" * 10, b"y" * 101]})
    assert len(t) == 0


def test_sample_errors(simple_table):
    simple_table.insert(make_items(3))
    with pytest.raises(ValueError, match="cannot sample 4 distinct items"):
        simple_table.sample(4, replacement=False)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        simple_table.sample(0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        simple_table.sample(-3)
    fifo = strata.Table("f", {"x": np.int32}, capacity=5, sampler=strata.Fifo())
    fifo.insert({"x": [1, 2]})
    with pytest.raises(ValueError, match="distinct"):
        fifo.sample(3)
    assert simple_table.stats().sampled == 0


def test_update_priorities_errors_apply_nothing(simple_table):
    keys = simple_table.insert(make_items(3))
    with pytest.raises(ValueError, match="nan"):
        simple_table.update_priorities(keys, [1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="got 3 keys but 2 priorities"):
        simple_table.update_priorities(keys, [1.0, 2.0])
    with pytest.raises(ValueError, match="keys must be 1-D"):
        simple_table.update_priorities(keys.reshape(3, 1), [1.0, 2.0, 3.0])
    assert simple_table.stats().priority_updates == 0
    assert simple_table.get(keys).priorities.tolist() == [1.0, 1.0, 1.0]


def test_call_signature_errors(simple_table):
    t = simple_table
    with pytest.raises(TypeError, match="missing required argument 'items'"):
        t.insert()
    with pytest.raises(TypeError, match="takes 1 positional argument"):
        t.insert(make_items(1), [1.0])
    with pytest.raises(TypeError, match="unexpected keyword argument 'prio'"):
        t.insert(make_items(1), prio=1.0)
    with pytest.raises(TypeError, match="missing required argument 'batch_size'"):
        t.sample()
    with pytest.raises(TypeError, match="batch_size must be an int, got float"):
        t.sample(1.5)
    with pytest.raises(TypeError, match="unexpected keyword argument 'size'"):
        t.sample(size=3)
    assert len(t) == 0
    keys = t.insert(items=make_items(2))
    assert len(keys) == 2
    assert len(t.sample(np.int64(2), replacement=False)) == 2
    assert str(inspect.signature(strata.Table.insert)) == (
        "(self, /, items, *, priorities=None, groups=None, tasks=None, scores=None, timeout=None)")
    assert str(inspect.signature(strata.Table.sample)) == (
        "(self, /, batch_size, *, timeout=None, replacement=True, beta=None)")
    assert "Raises ValueError" in strata.Table.insert.__doc__


def test_sample_beta_overrides_the_sampler_beta_per_call():
    # w_i = (P_i / P_min)^-beta; priorities 1, 2, 4, 8 with alpha = 1 give P_i / P_min = p_i.
    t = strata.Table("beta", {"x": np.float32}, capacity=8,
                     sampler=strata.Prioritized(alpha=1.0, beta=0.4, epsilon=1e-9), seed=3)
    t.insert({"x": np.zeros(4, np.float32)}, priorities=np.array([1.0, 2.0, 4.0, 8.0]))
    for beta, expected in [(None, 0.4), (0.0, 0.0), (1.0, 1.0), (0.7, 0.7)]:
        b = t.sample(64, beta=beta)
        np.testing.assert_allclose(b.weights, b.priorities ** -expected, rtol=1e-9)
    with pytest.raises(ValueError, match="beta"):
        t.sample(1, beta=-0.5)
    with pytest.raises(ValueError, match="beta must be finite"):
        t.sample(1, beta=float("nan"))


def test_scan_returns_every_live_item_once_with_scores():
    t = strata.Table("scan", strata.Schema({"x": np.float32}, scores=["loss"]), capacity=1000)
    keys = t.insert({"x": np.arange(500, dtype=np.float32)}, groups=np.arange(500) % 7)
    t.update_scores(keys, loss=np.arange(500, dtype=np.float32) / 2)
    t.delete(keys[::5])
    sampled = t.stats().sampled
    batches = list(t.scan(chunk=37))
    assert all(len(b) <= 37 for b in batches)
    xs = np.concatenate([b["x"] for b in batches])
    expected = np.array([i for i in range(500) if i % 5], dtype=np.float32)
    np.testing.assert_array_equal(xs, expected)
    np.testing.assert_array_equal(np.concatenate([b.scores["loss"] for b in batches]), expected / 2)
    np.testing.assert_array_equal(np.concatenate([b.groups for b in batches]),
                                  expected.astype(np.int64) % 7)
    np.testing.assert_array_equal(np.concatenate([b.keys for b in batches]),
                                  np.array([k for i, k in enumerate(keys) if i % 5]))
    assert t.stats().sampled == sampled  # a scan is not sampling
    assert t.sample(3).scores is None
    with pytest.raises(ValueError, match="chunk must be >= 1"):
        next(t.scan(chunk=0))
    with pytest.raises(ValueError, match="max_items must be in"):
        next(t.scan(chunk=2**40))
    assert list(strata.Table("empty", {"x": np.float32}, capacity=4).scan()) == []


def test_wrong_types_name_the_argument_and_what_it_accepts():
    s = {"x": np.float32}
    # Never rounded or parsed into a count.
    for arg, value, got in [("capacity", 10.5, "float"), ("capacity", "10", "str"),
                            ("capacity", True, "bool"), ("seed", 1.5, "float"),
                            ("max_bytes", 2.0, "float"), ("max_times_sampled", "1", "str")]:
        with pytest.raises(TypeError, match=rf"^{arg} must be an int, got {got}"):
            strata.Table("t", s, **{arg: value})
    assert strata.Table("t", s, capacity=np.int64(5)).capacity == 5
    # pybind11's signature dump is replaced by the argument and what it accepts.
    t = strata.Table("t", s, capacity=10)
    cases = [
        (lambda: t.resize(1.5), r"^Table.resize\(\): capacity must be an int, got float \(1.5\)$"),
        (lambda: strata.Prioritized("a"), r"^Prioritized\(\): alpha must be a number, got str"),
        (lambda: strata.Prioritized(beta=None), r"^Prioritized\(\): beta must be a number, got Non"),
        (lambda: strata.MinSize(2.5), r"^MinSize\(\): min_size must be an int, got float"),
        (lambda: strata.SampleToInsertRatio("x", 1, 2),
         r"^SampleToInsertRatio\(\): samples_per_insert must be a number, got str"),
    ]
    for call, message in cases:
        with pytest.raises(TypeError, match=message) as e:
            call()
        assert "incompatible function arguments" not in str(e.value)
    # The wrapped calls still work, with their docs.
    assert "alpha=0.5" in repr(strata.Prioritized(0.5))
    assert "alpha" in strata.Prioritized.__doc__
    t.resize(5)
    assert t.stats().capacity == 5


def test_dir_shows_the_api_only():
    names = dir(strata)
    assert "Table" in names and "Prioritized" in names and "__version__" in names
    for helper in ("np", "os", "re", "Optional", "Union", "dataclasses", "annotations"):
        assert helper not in names
    assert not [n for n in names if n.startswith("_") and n != "__version__"]
    for n in names:
        getattr(strata, n)  # every name listed is there
