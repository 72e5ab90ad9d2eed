"""Shared helpers for the strata Python tests."""

import math

import numpy as np
import pytest

import strata


def chi_square_critical(df: int, alpha: float = 1e-4) -> float:
    """Upper `alpha` quantile of the chi-square distribution with `df` degrees of freedom, by the
    Wilson-Hilferty approximation (relative error well under 1% for df >= 10 at these tails):
    X ~ df * (1 - 2/(9 df) + z * sqrt(2/(9 df)))^3 with z the standard normal upper quantile."""
    z = _normal_upper_quantile(alpha)
    h = 2.0 / (9.0 * df)
    return df * (1.0 - h + z * math.sqrt(h)) ** 3


def _normal_upper_quantile(alpha: float) -> float:
    """z with P(N(0,1) > z) = alpha, by bisection on erfc (no scipy)."""
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * math.erfc(mid / math.sqrt(2)) > alpha:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def chi_square(counts, expected_probabilities) -> float:
    counts = np.asarray(counts, dtype=np.float64)
    expected = counts.sum() * np.asarray(expected_probabilities, dtype=np.float64)
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.fixture
def simple_table():
    """A 100-item table with a float32[4] field, an int32 scalar and a bytes field."""
    with strata.Table(
        "simple",
        {"obs": (np.float32, (4,)), "action": np.int32, "frame": bytes},
        capacity=100,
        seed=7,
    ) as t:
        yield t


def make_items(n: int, start: int = 0):
    ids = np.arange(start, start + n)
    return {
        "obs": np.repeat(ids[:, None], 4, axis=1).astype(np.float32),
        "action": ids.astype(np.int32),
        "frame": [b"f%d" % i * (i % 5) for i in ids],
    }
