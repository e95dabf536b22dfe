"""The Mann-Whitney U test (Wilcoxon rank-sum) of a candidate sample against a baseline sample, in
pure Python: numpy/scipy do not fit the Lambda layer's size budget (docs/adr, ``make bench``).

What it computes, as R's ``wilcox.test(x, y, conf.int = TRUE)`` and scipy's ``mannwhitneyu`` do:

- ``u``: the candidate's U statistic, ``R_x - n_x (n_x + 1) / 2`` over mid-ranks.
- ``p_value``: two-sided. *Exact* (the null distribution of U counted by its generating function)
  when both samples are smaller than ``EXACT_LIMIT`` and there are no ties; otherwise the normal
  approximation with the tie correction of the variance and a continuity correction of 0.5.
- ``estimate``: the Hodges-Lehmann estimate of the shift candidate - baseline (median of all
  pairwise differences), and its distribution-free confidence interval (Moses): order statistics of
  the pairwise differences at the test's critical value (exact or normal, as the p-value).
"""

from __future__ import annotations

import math
from statistics import NormalDist, median

from mlcp.records import record_class

#: Both samples below this size and no ties: exact p-value (R's rule for wilcox.test).
EXACT_LIMIT = 50

_NORMAL = NormalDist()


@record_class
class MannWhitneyResult:
    """One two-sample test: candidate ``x`` vs baseline ``y``."""

    u: float
    p_value: float
    method: str  # "exact" | "normal"
    estimate: float
    confidence_low: float
    confidence_high: float
    confidence_level: float
    n_x: int
    n_y: int


def midranks(values: list[float]) -> tuple[list[float], list[int]]:
    """Ranks 1..N of ``values`` (ties share their mean rank) and the sizes of the tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def u_statistic(x: list[float], y: list[float]) -> tuple[float, list[int]]:
    """U of ``x`` (how often an x exceeds a y, ties counting one half) and the tie group sizes."""
    ranks, ties = midranks([*x, *y])
    rank_sum = sum(ranks[: len(x)])
    return rank_sum - len(x) * (len(x) + 1) / 2, ties


def u_distribution(m: int, n: int) -> list[int]:
    """How many of the C(m+n, m) rankings give U = 0..m*n (no ties).

    The generating function is the Gaussian binomial coefficient
    ``prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i)``: multiply by ``1 - q^(n+i)`` then divide by
    ``1 - q^i`` (a running sum with stride i), exactly in integers.
    """
    size = m * n + 1
    counts = [0] * size
    counts[0] = 1
    for i in range(1, m + 1):
        shift = n + i
        for k in range(size - 1, shift - 1, -1):
            counts[k] -= counts[k - shift]
        for k in range(i, size):
            counts[k] += counts[k - i]
    return counts


def _exact_p(u: float, m: int, n: int) -> tuple[float, list[int]]:
    counts = u_distribution(m, n)
    total = math.comb(m + n, m)
    k = int(u)
    below = sum(counts[: k + 1])  # P(U <= u)
    above = sum(counts[k:])  # P(U >= u)
    return min(1.0, 2 * min(below, above) / total), counts


def _normal_p(u: float, m: int, n: int, ties: list[int]) -> float:
    big_n = m + n
    tie_term = sum(t**3 - t for t in ties) / (big_n * (big_n - 1)) if big_n > 1 else 0.0
    variance = m * n / 12 * ((big_n + 1) - tie_term)
    if variance <= 0:  # every value equal: no evidence of a difference
        return 1.0
    delta = u - m * n / 2
    z = (abs(delta) - 0.5) / math.sqrt(variance) if abs(delta) >= 0.5 else 0.0
    return min(1.0, 2 * (1 - _NORMAL.cdf(z)))


def _critical_rank(m: int, n: int, confidence: float, counts: list[int] | None) -> int:
    """The largest c with P(U < c) <= alpha/2: the interval is diffs[c] .. diffs[mn-1-c] (0-based)."""
    alpha = 1 - confidence
    if counts is not None:
        total = math.comb(m + n, m)
        cumulative, c = 0, 0
        while c < len(counts) and (cumulative + counts[c]) / total <= alpha / 2:
            cumulative += counts[c]
            c += 1
        return c
    z = _NORMAL.inv_cdf(1 - alpha / 2)
    c = math.floor(m * n / 2 - z * math.sqrt(m * n * (m + n + 1) / 12))
    return max(c, 0)


def mann_whitney(x: list[float], y: list[float], *, confidence: float = 0.95) -> MannWhitneyResult:
    """Two-sided Mann-Whitney U test of candidate ``x`` against baseline ``y`` (both non-empty)."""
    if not x or not y:
        raise ValueError("both samples need at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence} is not in (0, 1)")
    m, n = len(x), len(y)
    u, ties = u_statistic(x, y)
    counts: list[int] | None = None
    if m < EXACT_LIMIT and n < EXACT_LIMIT and not ties:
        p_value, counts = _exact_p(u, m, n)
        method = "exact"
    else:
        p_value = _normal_p(u, m, n, ties)
        method = "normal"
    differences = sorted(a - b for a in x for b in y)
    c = min(_critical_rank(m, n, confidence, counts), (len(differences) - 1) // 2)
    return MannWhitneyResult(
        u=u,
        p_value=p_value,
        method=method,
        estimate=float(median(differences)),
        confidence_low=differences[c],
        confidence_high=differences[len(differences) - 1 - c],
        confidence_level=confidence,
        n_x=m,
        n_y=n,
    )
