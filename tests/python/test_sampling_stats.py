"""Statistical checks of prioritized sampling through the Python API."""

import numpy as np
import pytest

import strata
from conftest import chi_square, chi_square_critical

N = 40
PRIORITIES = np.linspace(0.1, 4.0, N)
ALPHA, BETA, EPS = 0.7, 0.5, 1e-6


def expected_probabilities(alpha):
    w = (PRIORITIES + EPS) ** alpha
    return w / w.sum()


def draw_counts(stratified, draws=60_000, batch=500, seed=11):
    t = strata.Table("p", {"i": np.int32}, capacity=N, sampler=strata.Prioritized(ALPHA, BETA, EPS, stratified),
                     seed=seed)
    keys = t.insert({"i": np.arange(N, dtype=np.int32)}, priorities=PRIORITIES)
    counts = np.zeros(N)
    for _ in range(draws // batch):
        b = t.sample(batch)
        counts += np.bincount(b.i, minlength=N)
    return t, keys, counts


@pytest.mark.parametrize("stratified", [False, True])
def test_prioritized_counts_match_probabilities(stratified):
    _, _, counts = draw_counts(stratified)
    critical = chi_square_critical(N - 1, alpha=1e-4)
    stat = chi_square(counts, expected_probabilities(ALPHA))
    assert stat < critical, f"chi2 = {stat:.1f} >= {critical:.1f} (df {N - 1})"
    # The test has power: the same counts are rejected against a mildly different alpha.
    wrong = chi_square(counts, expected_probabilities(ALPHA * 0.85))
    assert wrong > critical, f"chi2 against alpha*0.85 = {wrong:.1f}, not above {critical:.1f}"


def test_probabilities_and_weights_are_exact():
    t, keys, _ = draw_counts(False, draws=500)
    b = t.sample(2000)
    p = expected_probabilities(ALPHA)[b.i]
    np.testing.assert_allclose(b.probabilities, p, rtol=1e-9)
    w = (N * p) ** -BETA
    w_max = (N * expected_probabilities(ALPHA).min()) ** -BETA
    np.testing.assert_allclose(b.weights, w / w_max, rtol=1e-9)
    np.testing.assert_allclose(b.priorities, PRIORITIES[b.i])
    # After an update the distribution follows the new priorities.
    t.update_priorities(keys, PRIORITIES[::-1])
    b = t.sample(100)
    w2 = (PRIORITIES[::-1] + EPS) ** ALPHA
    np.testing.assert_allclose(b.probabilities, (w2 / w2.sum())[b.i], rtol=1e-9)


def test_same_seed_same_samples():
    a = draw_counts(False, draws=5000, seed=5)[2]
    b = draw_counts(False, draws=5000, seed=5)[2]
    c = draw_counts(False, draws=5000, seed=6)[2]
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_uniform_counts():
    t = strata.Table("u", {"i": np.int32}, capacity=N, seed=3)
    t.insert({"i": np.arange(N, dtype=np.int32)})
    counts = np.zeros(N)
    for _ in range(100):
        counts += np.bincount(t.sample(400).i, minlength=N)
    assert chi_square(counts, np.full(N, 1 / N)) < chi_square_critical(N - 1)
