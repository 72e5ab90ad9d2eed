"""Zero-copy in both directions, and the lifetime of sampled buffers."""

import gc
import tracemalloc

import numpy as np
import pytest

import strata

MB = 1 << 20
ROW = 16 * 1024  # float32[4096]: 16 KiB per item


@pytest.fixture
def big_table():
    with strata.Table("big", {"x": (np.float32, (ROW // 4,)), "i": np.int64}, capacity=8192) as t:
        yield t


def peak_during(fn):
    """Peak bytes traced by tracemalloc (Python objects and NumPy array data) while fn runs."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, result


def test_insert_of_contiguous_arrays_copies_nothing_in_python(big_table):
    n = 4096  # 64 MiB of payload
    x = np.ones((n, ROW // 4), np.float32)
    i = np.arange(n, dtype=np.int64)
    before = strata._strata._debug_counters()
    peak, keys = peak_during(lambda: big_table.insert({"x": x, "i": i}))
    assert len(keys) == n
    assert strata._strata._debug_counters() == before  # no conversion, no contiguous copy
    assert peak < 1 * MB, f"insert allocated {peak} bytes in Python/NumPy for a 64 MiB batch"


def test_insert_copy_detection_works_for_non_contiguous_input(big_table):
    # The positive control: a strided view must be copied, and both probes see it.
    n = 1024
    x = np.ones((n, ROW // 2), np.float32)[:, ::2]  # 16 MiB, not C-contiguous
    before = strata._strata._debug_counters()
    peak, keys = peak_during(lambda: big_table.insert({"x": x, "i": np.arange(n)}))
    after = strata._strata._debug_counters()
    assert after["made_contiguous"] == before["made_contiguous"] + 1
    assert peak >= 16 * MB
    np.testing.assert_array_equal(big_table.get(keys)["x"], x)
    big_table.insert({"x": x[0].tolist(), "i": 0})
    assert strata._strata._debug_counters()["converted"] >= before["converted"] + 2


def test_sampled_arrays_view_the_cpp_buffer(big_table):
    big_table.insert({"x": np.random.default_rng(0).random((4096, ROW // 4), np.float32),
                      "i": np.arange(4096)})
    peak, batch = peak_during(lambda: big_table.sample(4096))  # 64 MiB
    assert peak < 1 * MB, f"sample allocated {peak} bytes in Python/NumPy for a 64 MiB batch"
    x = batch["x"]
    assert isinstance(x.base, strata.Buffer)
    assert x.ctypes.data == x.base.address and x.nbytes == x.base.nbytes
    assert x.base.address % 64 == 0  # strata::Buffer is 64-byte aligned
    assert x.flags.c_contiguous and x.flags.writeable
    # The buffer protocol of Buffer exposes the same memory.
    mv = memoryview(x.base)
    assert mv.nbytes == x.nbytes and np.frombuffer(mv, np.float32)[:5].tolist() == x[0, :5].tolist()
    # Two accesses view the same memory; a copy does not.
    assert np.shares_memory(batch["x"], x)
    assert not np.shares_memory(x.copy(), x)
    # Each sample has its own buffer.
    assert big_table.sample(1)["x"].base.address != x.base.address


def test_buffer_freed_when_last_view_dies(big_table):
    big_table.insert({"x": np.ones((64, ROW // 4), np.float32), "i": np.arange(64)})
    batch = big_table.sample(64)
    x = batch["x"]
    watch = x.base.watch()
    view = x[10:20, ::3]
    del x
    gc.collect()
    assert watch.alive  # the batch and the view both hold it
    del batch
    gc.collect()
    assert watch.alive  # the view still does
    assert float(view.sum()) == view.size  # and its memory is intact
    del view
    gc.collect()
    assert not watch.alive


def test_buffer_freed_with_batch_when_no_array_taken(big_table):
    big_table.insert({"x": np.ones((8, ROW // 4), np.float32), "i": np.arange(8)})
    batch = big_table.sample(8)
    watch = batch["x"].base.watch()  # the temporary array dies at once
    assert watch.alive
    del batch
    gc.collect()
    assert not watch.alive


def test_metadata_arrays_keep_their_batch_alive(big_table):
    keys = big_table.insert({"x": np.ones((8, ROW // 4), np.float32), "i": np.arange(8)})
    batch = big_table.get(keys)
    k, p = batch.keys, batch.priorities
    watch = batch["x"].base.watch()
    del batch
    gc.collect()
    assert watch.alive  # k and p view vectors owned by the batch
    np.testing.assert_array_equal(k, keys)
    assert p.tolist() == [1.0] * 8
    del k, p
    gc.collect()
    assert not watch.alive


def test_torch_from_numpy_shares_the_buffer(big_table):
    torch = pytest.importorskip("torch")
    big_table.insert({"x": np.full((16, ROW // 4), 3, np.float32), "i": np.arange(16)})
    batch = big_table.sample(16)
    x = batch["x"]
    watch = x.base.watch()
    t = torch.from_numpy(x)
    assert t.data_ptr() == x.base.address
    del batch, x
    gc.collect()
    assert watch.alive and float(t.sum()) == 16 * (ROW // 4) * 3
    del t
    gc.collect()
    assert not watch.alive


def test_bytes_column_views(big_table):
    t = strata.Table("b", {"blob": bytes}, capacity=10)
    t.insert({"blob": [b"abc", b"", b"defg"]})
    col = t.sample(3, replacement=False).blob
    data, offsets = col.data, col.offsets
    assert isinstance(data.base, strata.Buffer) and data.ctypes.data == data.base.address
    assert isinstance(offsets.base, strata.Buffer) and offsets.dtype == np.uint64
    watch = data.base.watch()
    del col
    gc.collect()
    assert watch.alive
    items = {bytes(data[offsets[i]:offsets[i + 1]]) for i in range(3)}
    assert items == {b"abc", b"", b"defg"}
    del data
    gc.collect()
    assert not watch.alive
