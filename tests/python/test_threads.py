"""Many Python threads inserting, sampling, updating and deleting at once (the GIL is released in
every table call, so these run concurrently in C++)."""

import threading
import time

import numpy as np

import strata

DIM = 8


def test_concurrent_insert_sample_update_delete():
    capacity = 2000
    t = strata.Table("mt", {"x": (np.float32, (DIM,)), "id": np.int64, "blob": bytes},
                     capacity=capacity, sampler=strata.Prioritized(0.6, 0.4), seed=1)
    n_inserters, n_samplers, iters, batch = 4, 4, 400, 16
    counts = {"inserted": 0, "sampled": 0, "deleted": 0, "updated": 0}
    lock = threading.Lock()
    errors = []
    start = threading.Barrier(n_inserters + n_samplers + 1)

    def inserter(w):
        try:
            start.wait()
            for it in range(iters):
                ids = np.arange(batch, dtype=np.int64) + (w * iters + it) * batch
                x = np.repeat(ids[:, None], DIM, axis=1).astype(np.float32)
                keys = t.insert({"x": x, "id": ids, "blob": [b"%d" % i for i in ids]},
                                priorities=np.random.default_rng(it).random(batch))
                assert len(keys) == batch and (keys != 0).all()
                with lock:
                    counts["inserted"] += batch
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    def sampler(w):
        try:
            start.wait()
            for it in range(iters):
                b = t.sample(32, timeout=10)
                # No torn rows: every row of x equals its id, and the blob names it.
                assert (b["x"] == b.id[:, None]).all()
                assert [int(s) for s in b.blob] == b.id.tolist()
                assert ((b.weights > 0) & (b.weights <= 1)).all()
                applied, _ = t.update_priorities(b.keys, np.abs(np.sin(b.id)) + 0.1)
                n_del = 0
                if it % 10 == 0:
                    n_del, _ = t.delete(b.keys[:2])
                with lock:
                    counts["sampled"] += len(b)
                    counts["updated"] += applied
                    counts["deleted"] += n_del
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=inserter, args=(w,)) for w in range(n_inserters)]
    threads += [threading.Thread(target=sampler, args=(w,)) for w in range(n_samplers)]
    for th in threads:
        th.start()
    start.wait()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads)
    assert not errors, errors

    st = t.stats()
    assert st.inserted == counts["inserted"] == n_inserters * iters * batch
    assert st.sampled == counts["sampled"] == n_samplers * iters * 32
    assert st.deleted == counts["deleted"]
    assert st.priority_updates == counts["updated"]
    assert st.size == len(t) <= capacity
    assert st.size == st.inserted - st.evicted - st.deleted - st.expired
    t.check_invariants()


def test_threads_share_one_table_with_blocking_rate_limiter():
    # A queue between producer and consumer threads: every item is consumed exactly once.
    t = strata.Table("q", {"id": np.int64}, capacity=64, sampler=strata.Fifo(),
                     rate_limiter=strata.Queue(32), max_times_sampled=1)
    total, producers = 4000, 2
    seen = []

    def produce(p):
        for i in range(p, total, producers):
            t.insert({"id": i}, timeout=20)

    def consume():
        while len(seen) < total:
            try:
                b = t.sample(1, timeout=0.5)
            except TimeoutError:
                continue
            seen.extend(b.id.tolist())

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    threads.append(threading.Thread(target=consume))
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert sorted(seen) == list(range(total))
    assert len(t) == 0 and t.stats().expired == total


def _max_gap_while(target):
    """Runs target() in a thread; returns (its duration, the longest pause of this thread's loop)."""
    th = threading.Thread(target=target)
    gaps, last = [], time.perf_counter()
    th.start()
    while th.is_alive():
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    th.join()
    return max(gaps)


def test_long_calls_release_the_gil():
    # A long insert / sample runs in C++ without the GIL: this thread keeps running meanwhile.
    # (Holding the GIL would stall this loop for the whole call.)
    t = strata.Table("big", {"x": (np.float32, (256,))}, capacity=300_000)
    x = np.ones((200_000, 256), np.float32)  # 200 MB
    start = time.perf_counter()
    t.insert({"x": x})
    alone = time.perf_counter() - start
    gap = _max_gap_while(lambda: t.insert({"x": x}))
    assert gap < alone / 2, f"main thread paused {gap * 1e3:.0f} ms during a {alone * 1e3:.0f} ms insert"
    start = time.perf_counter()
    t.sample(100_000)
    alone = time.perf_counter() - start
    gap = _max_gap_while(lambda: t.sample(100_000))
    assert gap < alone / 2, f"main thread paused {gap * 1e3:.0f} ms during a {alone * 1e3:.0f} ms sample"
