"""The stats dataclasses against the core's field tables (include/strata/info_fields.h): the same
fields in the same order with the same types, each documented, and the checkpointed counters kept
across a reopen."""

import dataclasses

import numpy as np
import pytest

import strata
from strata import _strata

STATS = (strata.TableStats, strata.RateLimiterStats, strata.TierStats)


def table_fields(cls):
    """[(field, type, help)] of `cls` as the core's tables list them."""
    return [(f, t, h) for owner, f, t, h in _strata._info_fields() if owner == cls.__name__]


@pytest.mark.parametrize("cls", STATS, ids=lambda c: c.__name__)
def test_dataclass_fields_are_the_tables_in_order(cls):
    declared = [(f.name, f.type) for f in dataclasses.fields(cls)]
    assert declared == [(f, t) for f, t, _ in table_fields(cls)]


def test_every_table_row_belongs_to_a_stats_dataclass():
    owners = {owner for owner, _, _, _ in _strata._info_fields()}
    assert owners == {c.__name__ for c in STATS}
    # The names users have always read, fixed here as well as in the dataclasses.
    assert [f.name for f in dataclasses.fields(strata.TableStats)][:8] == [
        "name", "schema", "sampler", "remover", "size", "bytes", "capacity", "max_bytes"]
    assert len(dataclasses.fields(strata.RateLimiterStats)) == 13
    assert len(dataclasses.fields(strata.TierStats)) == 45


@pytest.mark.parametrize("cls", STATS, ids=lambda c: c.__name__)
def test_help_lists_every_field_with_its_help(cls):
    doc = cls.__doc__
    for field, _, text in table_fields(cls):
        assert text and f"{field}: {text}\n" in doc


def assert_types(stats, cls):
    """Every value of a stats dataclass has the type its field declares."""
    assert type(stats) is cls
    for f in dataclasses.fields(cls):
        value = getattr(stats, f.name)
        if f.type in ("int", "float", "str", "bool"):
            assert type(value).__name__ == f.type, f.name
        elif f.type == "Mapping[int, Tuple[int, int]]":
            assert all(type(g) is int and tuple(map(type, v)) == (int, int)
                       for g, v in value.items()), f.name
        else:
            assert type(value).__name__ == f.type, f.name


def test_values_have_the_declared_types(tmp_path):
    schema = {"id": np.int64}
    for kwargs in ({}, {"storage_dir": tmp_path, "dram_budget_bytes": 80, "placement": "group_balanced"}):
        with strata.Table("t", schema, capacity=20, **kwargs) as t:
            t.insert({"id": np.arange(30)}, groups=np.arange(30) % 3)
            t.sample(4)
            st = t.stats()
        assert_types(st, strata.TableStats)
        assert_types(st.rate_limiter, strata.RateLimiterStats)
        assert_types(st.tier, strata.TierStats)
        assert st.capacity == 20 and st.inserted == 30 and st.evicted == 10
    assert st.tier.enabled and sum(items for _, items in st.tier.groups.values()) == 20


def test_checkpointed_counters_survive_a_reopen_each_in_its_place(tmp_path):
    schema = strata.Schema({"id": np.int64}, scores=["loss"])

    def open_table():
        return strata.Table("t", schema, capacity=10, storage_dir=tmp_path, dram_budget_bytes=1 << 10)

    t = open_table()
    keys = t.insert({"id": np.arange(14)})  # 4 evicted
    t.sample(3)
    live = keys[4:]
    assert t.delete(live[:1]).applied == 1
    assert t.update_priorities(live[1:7], 2.0).applied == 6
    assert t.update_scores(live[1:8], loss=1.5).applied == 7
    assert len(t.get(keys[:5]).missing) == 5  # the evicted and the deleted keys
    kept = ("inserted", "sampled", "evicted", "deleted", "priority_updates", "score_updates",
            "missing_keys")
    before = {k: t.stats()[k] for k in kept}
    # Distinct values: two counters restored into each other's places would show.
    assert before == {"inserted": 14, "sampled": 3, "evicted": 4, "deleted": 1,
                      "priority_updates": 6, "score_updates": 7, "missing_keys": 5}
    t.checkpoint()
    t.close()
    del t

    t = open_table()
    after = t.stats()
    assert {k: after[k] for k in kept} == before
    assert after.tier.recovered_items == 9
    t.close()
