"""The Mann-Whitney test against published values (tables and R's documented example) and, where
scipy is installed (the dev venv only), against scipy.stats.mannwhitneyu."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from mlcp.analysis.mannwhitney import mann_whitney, midranks, u_distribution, u_statistic

# Mann & Whitney (1947), Table I, n = m = 4: P(U <= u) for u = 0..8.
MANN_WHITNEY_1947_N4 = [0.014, 0.029, 0.057, 0.100, 0.171, 0.243, 0.343, 0.443, 0.557]


def test_null_distribution_matches_mann_whitney_1947_table() -> None:
    counts = u_distribution(4, 4)
    total = math.comb(8, 4)
    cumulative = 0
    for u, published in enumerate(MANN_WHITNEY_1947_N4):
        cumulative += counts[u]
        assert round(cumulative / total, 3) == published


@pytest.mark.parametrize(("m", "n"), [(1, 1), (2, 3), (3, 3), (5, 7), (9, 4)])
def test_null_distribution_counts_every_ranking_once_and_is_symmetric(m: int, n: int) -> None:
    counts = u_distribution(m, n)
    assert sum(counts) == math.comb(m + n, m)
    assert counts == counts[::-1]
    assert all(c > 0 for c in counts)


# Two-sided critical values of U at alpha = 0.05 (standard published tables, e.g. Zar,
# Biostatistical Analysis, Table B.11): U <= critical is significant, critical + 1 is not.
CRITICAL_U_005 = [((5, 5), 2), ((6, 6), 5), ((8, 8), 13), ((10, 10), 23), ((10, 5), 8), ((20, 20), 127)]


@pytest.mark.parametrize(("sizes", "critical"), CRITICAL_U_005)
def test_exact_p_values_agree_with_published_critical_values(sizes: tuple[int, int], critical: int) -> None:
    m, n = sizes

    def p_of(u: int) -> float:
        # y at the even numbers 0, 2, ..; each x just below the (c+1)-th y exceeds c of them, so
        # counts c summing to u give U = u (offsets keep the x values distinct: no ties).
        y = [2.0 * j for j in range(n)]
        x, remaining = [], u
        for i in range(m):
            c = min(n, remaining)
            remaining -= c
            x.append(2.0 * c - 1 + i * 0.001)
        result = mann_whitney(x, y)
        assert result.method == "exact"
        assert result.u == u
        return result.p_value

    assert p_of(critical) <= 0.05
    assert p_of(critical + 1) > 0.05


def test_r_documentation_example_hollander_wolfe_permeability() -> None:
    # R: ?wilcox.test, "Hollander & Wolfe (1973), 69f": wilcox.test(x, y, alternative = "g")
    # gives W = 35, p-value = 0.1272; two-sided is twice that.
    x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    y = [1.15, 0.88, 0.90, 0.74, 1.21]
    result = mann_whitney(x, y)
    assert result.u == 35
    assert result.method == "exact"
    assert result.p_value == pytest.approx(0.2544, abs=1e-4)


def test_normal_approximation_with_continuity_correction() -> None:
    # scipy.stats.mannwhitneyu documentation: males vs females, U = 17; asymptotic two-sided
    # p (continuity corrected) = 0.1113 — computed here by hand: z = (7 - 0.5) / sqrt(50/3).
    males = [19.0, 22.0, 16.0, 29.0, 24.0]
    females = [20.0, 11.0, 17.0, 12.0]
    exact = mann_whitney(males, females)
    assert (exact.u, exact.method) == (17, "exact")
    assert exact.p_value == pytest.approx(float(Fraction(2 * 7, 126)), abs=1e-12)  # 0.1111
    tied = mann_whitney([*males, 16.0], females)  # a tie forces the normal approximation
    assert tied.method == "normal"


def test_tie_correction_shrinks_the_variance() -> None:
    ranks, ties = midranks([1.0, 2.0, 2.0, 3.0, 3.0, 3.0])
    assert ranks == [1.0, 2.5, 2.5, 5.0, 5.0, 5.0]
    assert ties == [2, 3]
    u, _ = u_statistic([2.0, 3.0], [1.0, 2.0])
    assert u == 3.5  # 2>1, 2=2 (1/2), 3>1, 3>2


def test_identical_values_everywhere_give_p_one() -> None:
    assert mann_whitney([1.0] * 12, [1.0] * 60).p_value == 1.0


def test_hodges_lehmann_estimate_and_interval_bracket_a_known_shift() -> None:
    rng = random.Random(7)
    baseline = [rng.gauss(100, 5) for _ in range(30)]
    candidate = [v + 20 for v in (rng.gauss(100, 5) for _ in range(30))]
    result = mann_whitney(candidate, baseline)
    assert result.confidence_low <= result.estimate <= result.confidence_high
    assert result.confidence_low > 15
    assert result.confidence_high < 25
    assert result.p_value < 1e-6


def test_empty_sample_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        mann_whitney([], [1.0])


scipy_stats = pytest.importorskip("scipy.stats", reason="scipy is in the dev venv only")


@pytest.mark.parametrize("seed", range(40))
def test_agrees_with_scipy(seed: int) -> None:
    rng = random.Random(seed)
    m, n = rng.randint(1, 70), rng.randint(1, 70)
    tied = seed % 2 == 0
    if tied:
        x = [float(rng.randint(0, 6)) for _ in range(m)]
        y = [float(rng.randint(0, 6) + rng.choice([0, 1])) for _ in range(n)]
    else:
        x = [rng.gauss(0, 1) for _ in range(m)]
        y = [rng.gauss(0.5, 1) for _ in range(n)]
    ours = mann_whitney(x, y)
    method = "exact" if ours.method == "exact" else "asymptotic"
    theirs = scipy_stats.mannwhitneyu(x, y, alternative="two-sided", method=method, use_continuity=True)
    assert ours.u == pytest.approx(theirs.statistic)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_confidence_interval_matches_the_order_statistics_of_the_exact_distribution(seed: int) -> None:
    # Moses' interval: with c from the exact distribution, P(diff[c] <= shift <= diff[mn-1-c]) >= level.
    rng = random.Random(100 + seed)
    m, n = rng.randint(3, 12), rng.randint(3, 12)
    x = [rng.gauss(0, 1) for _ in range(m)]
    y = [rng.gauss(0, 1) for _ in range(n)]
    result = mann_whitney(x, y, confidence=0.9)
    counts = u_distribution(m, n)
    total = math.comb(m + n, m)
    differences = sorted(a - b for a in x for b in y)
    c = differences.index(result.confidence_low)
    assert differences[m * n - 1 - c] == result.confidence_high
    assert sum(counts[:c]) / total <= 0.05 < sum(counts[: c + 1]) / total
