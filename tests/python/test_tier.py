"""The SSD tier from Python: tables with storage_dir beyond their DRAM budget, reopening a
directory, durability modes, option checking, checkpoint(), stats().tier, strata.torch on top.

close() releases the directory's lock; some tests also `del` a closed table before reopening.
"""

import dataclasses
import gc
import os
import pathlib
import time

import numpy as np
import pytest

import strata

N_OBS = 64
SCHEMA = {"id": np.int64, "obs": (np.float32, (N_OBS,))}
ROW = 8 + 4 * N_OBS  # payload bytes of one item (a multiple of 8: no padding)
BUDGET_ITEMS = 100
BUDGET = BUDGET_ITEMS * ROW


def obs_of(ids) -> np.ndarray:
    """The obs field of the items with `ids`: exact in float32 (values below 2**24)."""
    ids = np.asarray(ids, dtype=np.int64)
    return (ids[:, None] * N_OBS + np.arange(N_OBS)).astype(np.float32)


def items(ids):
    ids = np.asarray(ids, dtype=np.int64)
    return {"id": ids, "obs": obs_of(ids)}


def tiered(path, **kwargs) -> strata.Table:
    kwargs.setdefault("capacity", 10_000)
    kwargs.setdefault("dram_budget_bytes", BUDGET)
    return strata.Table("tiered", kwargs.pop("schema", SCHEMA), storage_dir=path, **kwargs)


def insert_ids(t: strata.Table, n: int, batch: int = 100, start: int = 0) -> np.ndarray:
    """Inserts the items with ids start..start+n-1 in batches; returns their keys, by id."""
    end = start + n
    return np.concatenate(
        [t.insert(items(np.arange(i, min(i + batch, end)))) for i in range(start, end, batch)]
    )


def assert_consistent(batch) -> None:
    """Every row's obs is the one derived from its id (no row mixes two items)."""
    np.testing.assert_array_equal(batch["obs"], obs_of(batch["id"]))


def drop(t: strata.Table) -> None:
    """Closes `t` and destroys it (which releases its directory). The caller must `del` its own
    references too."""
    t.close()
    gc.collect()


# ---------------------------------------------------------------------------------------------
# Beyond the DRAM budget


def test_get_and_sample_ten_times_the_dram_budget(tmp_path):
    n = 10 * BUDGET_ITEMS
    with tiered(tmp_path) as t:
        keys = insert_ids(t, n)
        assert len(t) == n and len(set(keys.tolist())) == n

        got = t.get(keys)
        assert len(got) == n and len(got.missing) == 0
        np.testing.assert_array_equal(got.keys, keys)
        np.testing.assert_array_equal(got["id"], np.arange(n))
        np.testing.assert_array_equal(got["obs"], obs_of(np.arange(n)))  # byte-exact

        id_of = dict(zip(keys.tolist(), range(n)))
        batches, size = 40, 64
        for _ in range(batches):
            b = t.sample(size)
            assert len(b) == size
            assert_consistent(b)
            assert [id_of[k] for k in b.keys.tolist()] == b["id"].tolist()

        tier = t.stats()["tier"]
        assert tier["enabled"] is True
        assert tier["stored_items"] == n
        assert 0 < tier["dram_items"] <= BUDGET // ROW
        assert tier["dram_bytes"] <= BUDGET
        assert tier["dram_misses"] > 0 and tier["reads_completed"] > 0 and tier["read_bytes"] > 0
        assert tier["dram_hits"] + tier["dram_misses"] == n + batches * size
        assert 0 <= tier["dram_hit_rate"] < 1
        assert tier["reader"] == "io_uring" or tier["reader"].startswith("threads")
        assert tier["storage_error"] == "" and tier["corrupt_items"] == 0
        t.check_invariants()


def test_tier_stats_fields_and_access(tmp_path):
    with tiered(tmp_path) as t:
        insert_ids(t, 300)
        st = t.stats()
    assert isinstance(st.tier, strata.TierStats)
    assert st.tier == st["tier"] and st["size"] == st.size == 300
    assert st.tier.stored_items == st["tier"]["stored_items"] == 300
    assert st.tier.disk_bytes >= st.tier.stored_bytes >= 300 * ROW
    with pytest.raises(KeyError):
        st["tier"]["no_such_counter"]


def test_dram_only_table_reports_the_tier_disabled():
    t = strata.Table("dram", SCHEMA, capacity=10)
    t.insert(items([1, 2]))
    tier = t.stats().tier
    assert tier.enabled is False and tier.reader == "" and tier.storage_error == ""
    counters = dataclasses.asdict(tier)
    for k in ("enabled", "reader", "storage_error", "groups"):
        del counters[k]
    assert len(counters) == 41 and set(counters.values()) == {0}
    assert tier.groups == {}
    assert t.storage_options["storage_dir"] is None
    t.checkpoint()  # nothing to do


def test_bytes_fields_round_trip_through_storage(tmp_path):
    schema = {"id": np.int64, "blob": bytes}

    def blob(i: int) -> bytes:
        return bytes([i % 251]) * (i * 37 % 3001) + b"#%d" % i

    n = 400
    blobs = [blob(i) for i in range(n)]
    kwargs = dict(schema=schema, dram_budget_bytes=16 << 10)
    t = tiered(tmp_path, **kwargs)
    keys = np.concatenate([t.insert({"id": np.arange(i, i + 50), "blob": blobs[i:i + 50]})
                           for i in range(0, n, 50)])
    got = t.get(keys)
    assert got["id"].tolist() == list(range(n)) and got["blob"] == blobs
    for _ in range(20):
        b = t.sample(32)
        assert b["blob"].tolist() == [blobs[i] for i in b["id"].tolist()]
    assert t.stats().tier.dram_misses > 0
    drop(t)
    del t

    t = tiered(tmp_path, **kwargs)
    got = t.get(keys)
    assert len(got.missing) == 0 and got["blob"] == blobs
    drop(t)


def test_segment_bytes_seals_segments(tmp_path):
    segment_bytes = 16 << 10
    with tiered(tmp_path, segment_bytes=segment_bytes) as t:
        # Small inserts: with durability "flush" each returns once written, so a write group
        # (which goes to one segment whole) is never larger than a segment.
        insert_ids(t, 500, batch=10)
        t.checkpoint()
        tier = t.stats().tier
    assert tier.segments >= 500 * ROW // segment_bytes
    sizes = [p.stat().st_size for p in tmp_path.glob("seg-*.data")]
    assert len(sizes) >= tier.segments and max(sizes) <= segment_bytes and sum(sizes) == 500 * ROW


# ---------------------------------------------------------------------------------------------
# Reopening a directory


def test_reopen_restores_items_keys_and_priorities(tmp_path):
    n = 1000
    t = tiered(tmp_path, sampler=strata.Prioritized(alpha=1.0, beta=0.5))
    keys = insert_ids(t, n)
    updated = keys[:200]
    new_priorities = 1.0 + np.arange(200) / 8
    assert t.update_priorities(updated, new_priorities).applied == 200
    deleted = np.arange(500, 600)
    assert t.delete(keys[deleted]).applied == 100
    drop(t)
    del t

    t = tiered(tmp_path, sampler=strata.Prioritized(alpha=1.0, beta=0.5))
    assert len(t) == n - 100
    assert t.stats().tier.recovered_items == n - 100
    got = t.get(keys)
    np.testing.assert_array_equal(got.missing, deleted)
    live = np.setdiff1d(np.arange(n), deleted)
    np.testing.assert_array_equal(got.keys, keys[live])
    np.testing.assert_array_equal(got["id"], live)
    np.testing.assert_array_equal(got["obs"], obs_of(live))
    expected = np.ones(n)
    expected[:200] = new_priorities
    np.testing.assert_array_equal(got.priorities, expected[live])
    with pytest.raises(KeyError, match="100 key"):
        t.get(keys[deleted], strict=True)

    # The reopened table goes on: samples are consistent, new keys never reuse live ones.
    for _ in range(10):
        assert_consistent(t.sample(64))
    new_keys = insert_ids(t, 50, start=n)
    assert not set(new_keys.tolist()) & set(keys.tolist())
    assert t.get(keys[live]).missing.size == 0
    t.check_invariants()
    drop(t)


def test_reopen_after_eviction_keeps_only_the_survivors(tmp_path):
    t = tiered(tmp_path, capacity=300)
    keys = insert_ids(t, 1000)
    assert len(t) == 300 and t.stats().evicted == 700
    drop(t)
    del t
    t = tiered(tmp_path, capacity=300)
    got = t.get(keys)
    assert len(t) == 300 and len(got.missing) == 700
    np.testing.assert_array_equal(got["id"], np.arange(700, 1000))
    np.testing.assert_array_equal(got["obs"], obs_of(np.arange(700, 1000)))
    drop(t)


@pytest.mark.parametrize("durability", ["flush", "sync"])
def test_durable_modes_reopen_with_the_data(tmp_path, durability):
    t = tiered(tmp_path, durability=durability)
    keys = insert_ids(t, 300)
    if durability == "sync":
        assert t.stats().tier.syncs > 0
    drop(t)
    del t
    t = tiered(tmp_path, durability=durability)
    assert len(t) == 300
    np.testing.assert_array_equal(t.get(keys)["id"], np.arange(300))
    drop(t)


def test_durability_none_reopens_empty(tmp_path):
    t = tiered(tmp_path, durability="none")
    keys = insert_ids(t, 300)
    np.testing.assert_array_equal(t.get(keys)["obs"], obs_of(np.arange(300)))  # spill space works
    drop(t)
    del t
    t = tiered(tmp_path, durability="none")
    assert len(t) == 0 and len(t.get(keys).missing) == 300
    drop(t)


def test_context_manager_closes_and_reopen_sees_the_data(tmp_path):
    with tiered(tmp_path) as t:
        keys = insert_ids(t, 250)
    assert t.closed
    del t
    gc.collect()
    with tiered(tmp_path) as t:
        assert len(t) == 250
        np.testing.assert_array_equal(t.get(keys)["id"], np.arange(250))


def test_reopen_while_the_closed_table_is_still_referenced(tmp_path):
    with tiered(tmp_path) as t:
        insert_ids(t, 10)
    with tiered(tmp_path) as t:  # `t` still names the closed table while the new one opens
        assert len(t) == 10


def test_storage_options_reopen_the_directory(tmp_path):
    t = tiered(str(tmp_path), durability="sync", segment_bytes=1 << 20, write_queue_items=64,
               storage_budget_bytes=1 << 30, compaction_live_ratio=0.25,
               compaction_bytes_per_second=0)
    options = t.storage_options
    assert options == {
        "storage_dir": str(tmp_path), "dram_budget_bytes": BUDGET, "max_dram_budget_bytes": 0,
        "storage_budget_bytes": 1 << 30,
        "durability": "sync", "segment_bytes": 1 << 20, "write_queue_items": 64,
        "compaction_live_ratio": 0.25, "compaction_bytes_per_second": 0, "direct_io": False,
        "tier_sampling": "exact", "placement": "recent", "placement_score_column": "",
        "swap_ratio": 0.0, "swap_interval": 1,
        "swap_policy": "random_in_group", "swap_score_column": "",
    }
    keys = insert_ids(t, 200)
    drop(t)
    del t
    t = strata.Table("tiered", SCHEMA, capacity=10_000, **options)
    assert len(t) == 200 and t.get(keys).missing.size == 0
    drop(t)


def test_storage_option_defaults_are_the_cores():
    defaults = strata._strata._storage_option_defaults()
    assert defaults["durability"] == "flush" and defaults["storage_dir"] is None
    t = strata.Table("dram", SCHEMA, capacity=10)
    assert t.storage_options == defaults


# ---------------------------------------------------------------------------------------------
# Errors


def test_missing_manifest_is_refused_and_repair_reopens(tmp_path):
    t = tiered(tmp_path)
    keys = insert_ids(t, 500)
    drop(t)
    del t
    (tmp_path / "MANIFEST").unlink()
    before = {p: (tmp_path / p).read_bytes() for p in os.listdir(tmp_path) if p != "LOCK"}
    with pytest.raises(strata.StorageError, match="has no MANIFEST but holds seg-"):
        tiered(tmp_path)
    after = {p: (tmp_path / p).read_bytes() for p in os.listdir(tmp_path) if p != "LOCK"}
    assert after == before  # refused, and nothing deleted, truncated or rewritten
    report = strata.Table.repair(tmp_path, SCHEMA)
    assert report.manifest_rebuilt and report.checkpoint.startswith("meta-")
    assert report.set_aside == [] and report.checkpoint_items_dropped == 0
    assert "rebuilt the MANIFEST" in str(report)
    with tiered(tmp_path) as t:
        assert len(t) == 500
        b = t.get(keys)
        assert b.missing.size == 0
        np.testing.assert_array_equal(b["id"], np.arange(500))
        assert_consistent(b)


def test_repair_sets_aside_what_it_cannot_place(tmp_path):
    t = tiered(tmp_path)
    insert_ids(t, 100)
    drop(t)
    del t
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(strata.StorageError, match="notes.txt"):
        tiered(tmp_path)
    report = strata.Table.repair(str(tmp_path), strata.Schema(SCHEMA), name="tiered")
    assert report.set_aside == ["notes.txt"] and not report.manifest_rebuilt
    assert (tmp_path / "lost" / "notes.txt").read_text() == "mine"
    with tiered(tmp_path) as t:
        assert len(t) == 100


def test_repair_errors(tmp_path):
    with pytest.raises(strata.StorageError, match="does not exist"):
        strata.Table.repair(tmp_path / "nowhere", SCHEMA)
    t = tiered(tmp_path)
    with pytest.raises(strata.StorageError, match="lock"):
        strata.Table.repair(tmp_path, SCHEMA)  # open right now
    drop(t)
    del t
    with pytest.raises(strata.StorageError, match="nothing was changed"):
        strata.Table.repair(tmp_path, {"id": np.int32})
    with pytest.raises(ValueError, match="storage_dir must"):
        strata.Table.repair("", SCHEMA)


def test_truncated_segment_is_reported_once_and_the_table_goes_on(tmp_path):
    t = tiered(tmp_path, segment_bytes=64 << 10)
    keys = insert_ids(t, 2000)
    drop(t)
    del t
    seg = sorted(p for p in os.listdir(tmp_path) if p.endswith(".data"))[0]
    os.truncate(tmp_path / seg, os.path.getsize(tmp_path / seg) // 2)
    with tiered(tmp_path, segment_bytes=64 << 10) as t:
        assert len(t) == 2000  # nothing silently dropped at open
        with pytest.raises(OSError, match=seg):
            t.get(keys)
        lost = t.stats().tier.corrupt_items
        assert lost > 0 and len(t) == 2000 - lost
        b = t.get(keys)  # never an error on every later read
        assert b.missing.size == lost
        assert_consistent(b)


def test_absurd_batch_size_fails_at_once(tmp_path):
    t = strata.Table("small", SCHEMA, capacity=100, rate_limiter=strata.MinSize(1000))
    for n in (2**40, 2**62):
        start = time.monotonic()
        with pytest.raises(ValueError, match="batch_size must be <= 1048576"):
            t.sample(n)
        assert time.monotonic() - start < 1.0


def test_wrong_schema_on_reopen(tmp_path):
    t = tiered(tmp_path)
    insert_ids(t, 10)
    drop(t)
    del t
    with pytest.raises(strata.StorageError, match="schema") as e:
        tiered(tmp_path, schema={"id": np.int64, "obs": (np.float32, (N_OBS + 1,))})
    assert isinstance(e.value, OSError) and str(tmp_path) in str(e.value)
    t = tiered(tmp_path)  # the directory is untouched
    assert len(t) == 10
    drop(t)


def test_same_directory_twice_at_once(tmp_path):
    with tiered(tmp_path) as t:
        insert_ids(t, 10)
        with pytest.raises(strata.StorageError, match="lock"):
            tiered(tmp_path)
        assert len(t.get(t.sample(5).keys)) == 5  # the first table is unaffected


def test_bad_durability_is_a_value_error(tmp_path):
    for bad in ("fsync", "", "FLUSH", None, 1):
        with pytest.raises(ValueError, match="durability must be one of 'none', 'flush', 'sync'"):
            tiered(tmp_path, durability=bad)
    assert not (tmp_path / "MANIFEST").exists()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(dram_budget_bytes=0), ValueError, "dram_budget_bytes must be > 0"),
    (dict(dram_budget_bytes=ROW - 1), ValueError, "not even one item"),
    (dict(dram_budget_bytes=-1), ValueError, "dram_budget_bytes must be >= 0"),
    (dict(dram_budget_bytes=2**64), ValueError, "dram_budget_bytes must be < 2"),
    (dict(dram_budget_bytes=1e6), TypeError, "dram_budget_bytes must be an int, got float"),
    (dict(storage_budget_bytes="1G"), TypeError, "storage_budget_bytes must be an int, got str"),
    (dict(segment_bytes=0), ValueError, "segment_bytes must be in"),
    (dict(segment_bytes=(4 << 30) + 1), ValueError, "segment_bytes must be in"),
    (dict(write_queue_items=0), ValueError, "write_queue_items must be >= 1"),
    (dict(compaction_live_ratio=1.5), ValueError, r"compaction_live_ratio must be in \[0, 1\]"),
    (dict(compaction_live_ratio=float("nan")), ValueError, "compaction_live_ratio must be in"),
    (dict(compaction_live_ratio="half"), TypeError, "compaction_live_ratio must be a number"),
    (dict(compaction_bytes_per_second=-5), ValueError, "compaction_bytes_per_second must be >= 0"),
])
def test_bad_storage_options(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        tiered(tmp_path, **kwargs)


def test_storage_dir_forms(tmp_path):
    with pytest.raises(ValueError, match="storage_dir must not be empty"):
        strata.Table("t", SCHEMA, storage_dir="", dram_budget_bytes=BUDGET)
    with pytest.raises(TypeError, match="storage_dir must be None, a str, bytes or an os.PathLike"):
        strata.Table("t", SCHEMA, storage_dir=3, dram_budget_bytes=BUDGET)
    with pytest.raises(strata.StorageError, match="mkdir"):  # the parent must exist
        strata.Table("t", SCHEMA, storage_dir=tmp_path / "no" / "such", dram_budget_bytes=BUDGET)
    for form in (tmp_path / "path", str(tmp_path / "str"), os.fsencode(tmp_path / "bytes")):
        t = strata.Table("t", SCHEMA, storage_dir=form, dram_budget_bytes=BUDGET)
        insert_ids(t, 5)
        assert t.storage_options["storage_dir"] == os.fsdecode(form)
        drop(t)
        del t
        assert (pathlib.Path(os.fsdecode(form)) / "MANIFEST").exists()


# ---------------------------------------------------------------------------------------------
# checkpoint()


def test_checkpoint_writes_everything_queued(tmp_path):
    with tiered(tmp_path, write_queue_items=100_000) as t:
        keys = insert_ids(t, 1000, batch=250)
        t.update_priorities(keys[:10], 7.0)
        t.checkpoint()
        tier = t.stats()["tier"]
        assert tier["pending_writes"] == 0 and tier["stored_items"] == 1000
        assert tier["storage_error"] == ""
        assert len(list(tmp_path.glob("meta-*.ckpt"))) == 1
        t.checkpoint()  # again: replaces the checkpoint
        assert len(list(tmp_path.glob("meta-*.ckpt"))) == 1
        assert len(t.get(keys)) == 1000


def test_checkpoint_without_storage_or_durability_is_a_no_op(tmp_path):
    strata.Table("dram", SCHEMA, capacity=10).checkpoint()
    with tiered(tmp_path, durability="none") as t:
        insert_ids(t, 10)
        t.checkpoint()
        assert not list(tmp_path.glob("meta-*.ckpt"))


# ---------------------------------------------------------------------------------------------
# strata.torch on a tiered table


def test_torch_adapter_on_a_tiered_table(tmp_path):
    torch = pytest.importorskip("torch")
    import strata.torch as st

    with tiered(tmp_path, sampler=strata.Prioritized(alpha=1.0, beta=0.5)) as t:
        insert_ids(t, 10 * BUDGET_ITEMS)
        seen = 0
        for prefetch in (0, 3):
            data = st.ReplayDataset(t, batch_size=64, prefetch=prefetch, num_batches=10, timeout=10)
            for tb in torch.utils.data.DataLoader(data, batch_size=None):
                assert isinstance(tb["obs"], torch.Tensor) and tb["obs"].shape == (64, N_OBS)
                expected = tb["id"][:, None] * N_OBS + torch.arange(N_OBS)
                assert torch.equal(tb["obs"], expected.to(torch.float32))
                assert tb.weights.shape == (64,)
                st.update_from_loss(t, tb, tb["id"].double() / 100)
                seen += 1
        assert seen == 20
        for tb in st.batches(t, 32, num_batches=5):
            assert_consistent(tb.batch)
        assert t.stats().tier.dram_misses > 0
        assert t.stats().priority_updates == 20 * 64


# ---------------------------------------------------------------------------------------------
# Sampling modes


def test_resident_mode_swaps_and_never_reads_storage(tmp_path):
    with tiered(tmp_path, tier_sampling="resident", swap_ratio=1.0, swap_interval=1) as t:
        insert_ids(t, 10 * BUDGET_ITEMS)
        t.checkpoint()
        seen = set()
        for _ in range(300):
            b = t.sample(32)
            assert_consistent(b)
            seen.update(b["id"].tolist())
        tier = t.stats().tier
        assert tier.dram_misses == 0  # sample only drew items in DRAM
        assert tier.swaps > 0
        assert tier.dram_items <= BUDGET_ITEMS
        # Swaps rotated stored items in: far more distinct items than DRAM holds were sampled.
        assert len(seen) > 2 * BUDGET_ITEMS


@pytest.mark.parametrize("placement", ["recent", "priority", "random"])
def test_placements_read_everything_back(tmp_path, placement):
    with tiered(tmp_path, placement=placement, direct_io=True) as t:
        keys = insert_ids(t, 5 * BUDGET_ITEMS)
        t.update_priorities(keys[:10], np.full(10, 100.0))
        got = t.get(keys)
        assert_consistent(got)
        assert len(got) == len(keys)
        assert t.storage_options["placement"] == placement
        assert t.storage_options["direct_io"] is True


def test_score_placement_keeps_the_highest_scores_in_dram(tmp_path):
    schema = strata.Schema(SCHEMA, scores=["importance"])
    with tiered(tmp_path, schema=schema, placement="score",
                placement_score_column="importance") as t:
        keys = insert_ids(t, 10 * BUDGET_ITEMS)
        rng = np.random.default_rng(0)
        importance = rng.random(len(keys)).astype(np.float32)
        t.update_scores(keys, importance=importance)
        t.checkpoint()  # every record written: every copy may move
        top = keys[np.argsort(-importance)[:BUDGET_ITEMS // 2]]
        # The maintenance thread promotes the top scores; then reading them hits DRAM only.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            before = t.stats().tier.dram_misses
            assert_consistent(t.get(top))
            if t.stats().tier.dram_misses == before:
                break
            time.sleep(0.02)
        assert t.stats().tier.dram_misses == before
        assert t.storage_options["placement"] == "score"
        assert t.storage_options["placement_score_column"] == "importance"


@pytest.mark.parametrize("kwargs, match", [
    ({"tier_sampling": "cold"}, "tier_sampling must be one of"),
    ({"placement": "lru"}, "placement must be one of"),
    ({"swap_ratio": 1.5}, "swap_ratio must be in"),
    ({"swap_policy": "score", "tier_sampling": "resident"}, "swap_score_column"),
    ({"placement": "score"}, "placement_score_column"),
    ({"placement": "score", "placement_score_column": "x"}, "placement_score_column"),
])
def test_bad_tier_options_are_value_errors(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiered(tmp_path, **kwargs)


def test_direct_io_must_be_a_bool(tmp_path):
    with pytest.raises(TypeError, match="direct_io"):
        tiered(tmp_path, direct_io=1)


# ---------------------------------------------------------------------------------------------
# Live limits and class-balanced placement (the continual-learning runtime builds on these)


def await_tier(t, done, seconds=10.0):
    """Polls t.stats().tier until done(tier) holds or `seconds` pass; returns the last one."""
    deadline = time.monotonic() + seconds
    tier = t.stats().tier
    while not done(tier) and time.monotonic() < deadline:
        time.sleep(0.01)
        tier = t.stats().tier
    return tier


def dram_per_group(tier):
    return {g: dram for g, (dram, _) in tier.groups.items()}


def test_group_balanced_placement_resize_and_set_swap(tmp_path):
    t = tiered(str(tmp_path), tier_sampling="resident", placement="group_balanced",
               swap_ratio=1.0, dram_budget_bytes=30 * ROW, max_dram_budget_bytes=60 * ROW)
    for g in range(3):  # three classes arriving one after the other
        ids = np.arange(g * 1000, g * 1000 + 1000)
        t.insert(items(ids), groups=np.full(1000, g, dtype=np.int32))
    t.checkpoint()
    tier = await_tier(t, lambda s: sorted(dram_per_group(s).values()) == [10, 10, 10])
    assert dram_per_group(tier) == {0: 10, 1: 10, 2: 10}, tier.groups
    assert {g: n for g, (_, n) in tier.groups.items()} == {0: 1000, 1: 1000, 2: 1000}
    # Shrink: 3 + 3 + 3; grow: refilled from storage, 20 + 20 + 20.
    t.resize(10_000, dram_budget_bytes=9 * ROW)
    assert t.stats().tier.dram_bytes <= 9 * ROW
    tier = await_tier(t, lambda s: sorted(dram_per_group(s).values()) == [3, 3, 3])
    assert dram_per_group(tier) == {0: 3, 1: 3, 2: 3}
    t.resize(10_000, dram_budget_bytes=60 * ROW)
    tier = await_tier(t, lambda s: sorted(dram_per_group(s).values()) == [20, 20, 20])
    assert dram_per_group(tier) == {0: 20, 1: 20, 2: 20} and tier.dram_budget_bytes == 60 * ROW
    with pytest.raises(ValueError, match="max_dram_budget_bytes"):
        t.resize(10_000, dram_budget_bytes=61 * ROW)
    with pytest.raises(ValueError, match="max_items must be in"):
        t.resize(10_001)
    # Live swap settings: every 2nd batch, half of it.
    before = t.stats().tier.swaps_requested
    t.set_swap(0.5, 2)
    for _ in range(20):
        t.sample(10)
    tier = t.stats().tier
    assert (tier.swap_ratio, tier.swap_interval) == (0.5, 2)
    assert tier.swaps_requested - before == 50
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        t.set_swap(1.5)
    t.check_invariants()
    drop(t)


def test_set_swap_on_an_exact_table_is_refused(tmp_path):
    t = tiered(str(tmp_path))
    with pytest.raises(ValueError, match="tier_sampling = kResident"):
        t.set_swap(0.5)
    drop(t)


def test_resize_capacity_evicts_and_delete_task_removes_a_task():
    t = strata.Table("dram", SCHEMA, capacity=100)
    t.insert(items(np.arange(60)), tasks=np.repeat(np.arange(3, dtype=np.int32), 20))
    assert t.delete_task(1) == 20 and len(t) == 40
    t.resize(10)  # the Fifo remover evicts the oldest
    assert len(t) == 10 and t.stats().capacity == 10
    assert sorted(t.sample(10, replacement=False)["id"].tolist()) == list(range(50, 60))
    t.resize(100)
    t.insert(items(np.arange(100, 190)))
    assert len(t) == 100
    strict = strata.Table("strict", SCHEMA, capacity=10, remover=None)
    strict.insert(items(np.arange(10)))
    with pytest.raises(ValueError, match="no remover"):
        strict.resize(5)
    assert len(strict) == 10


def test_zstd_fields_are_stored_compressed_and_read_back_exactly(tmp_path):
    schema = strata.Schema({"id": np.int64, "frames": (np.uint8, (4, 32, 32), "zstd")})
    assert schema["frames"].compression == "zstd" and schema["id"].compression == "none"
    assert strata.Schema(schema.as_dict()) == schema
    assert "'zstd'" in repr(schema)

    def frames_of(ids):
        f = np.zeros((len(ids), 4, 32, 32), np.uint8)
        for i, item in enumerate(ids):
            f[i, :, item % 24:item % 24 + 8, (3 * item) % 24:(3 * item) % 24 + 8] = 200
        return f

    row = 8 + 4 * 32 * 32
    t = strata.Table("z", schema, capacity=2000, storage_dir=tmp_path, dram_budget_bytes=20 * row)
    ids = np.arange(1000)
    keys = t.insert({"id": ids, "frames": frames_of(ids)})
    t.checkpoint()
    assert t.stats().tier.stored_bytes < 1000 * row / 8  # stored far below the raw bytes
    b = t.get(keys)
    np.testing.assert_array_equal(b["frames"], frames_of(b["id"]))
    drop(t)
    del t
    with strata.Table("z", schema, capacity=2000, storage_dir=tmp_path,
                      dram_budget_bytes=20 * row) as t:
        b = t.sample(500, replacement=False)
        np.testing.assert_array_equal(b["frames"], frames_of(b["id"]))
    with pytest.raises(strata.StorageError, match="schema"):  # compression is part of it
        strata.Table("z", {"id": np.int64, "frames": (np.uint8, (4, 32, 32))}, capacity=2000,
                     storage_dir=tmp_path, dram_budget_bytes=20 * row)


def test_bad_compression_is_a_value_error():
    with pytest.raises(ValueError, match="compression must be one of 'none', 'zstd'"):
        strata.Schema({"x": (np.uint8, (4,), "lz4")})
    with pytest.raises(ValueError, match="schemas without bytes fields"):
        strata.Schema({"x": (np.uint8, (4,), "zstd"), "blob": bytes})
