"""Near repeats: the Knox test over space-time bands, in the manner of Ratcliffe's Near Repeat Calculator.

Every pair of events has a distance apart and a time apart. If one burglary raises the risk
nearby for a while, pairs close in both come more often than when the times are shuffled
among the same places. Bands are half-open, ``[from, to)``: 0-100 m holds 0 m and 99.9 m,
a pair exactly 100 m apart falls in 100-200 m; 0-7 days holds the same day and 6.9 days.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

Bands = tuple[tuple[float, float], ...]

SPACE_BANDS_M: Bands = ((0, 100), (100, 200), (200, 400))
TIME_BANDS_DAYS: Bands = ((0, 7), (7, 14), (14, 28))
COLUMNS = ["space_band", "time_band", "space_from_m", "space_to_m", "time_from_days", "time_to_days",
           "observed", "expected", "ratio", "p_value", "significant"]


def knox(
    x: np.ndarray,
    y: np.ndarray,
    t_days: np.ndarray,
    *,
    space_bands_m: Bands = SPACE_BANDS_M,
    time_bands_days: Bands = TIME_BANDS_DAYS,
    permutations: int = 99,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Observed and expected pairs of events per space band x time band, with Monte Carlo p-values.

    ``x``, ``y`` in metres, ``t_days`` in days. The times are permuted among the events
    ``permutations`` times; ``expected`` is the mean count over the permutations, ``ratio`` is
    observed / expected (the Knox ratio; NaN when nothing was expected), ``p_value`` is
    (number of permutations with at least the observed count + 1) / (permutations + 1), a
    one-sided test for more pairs than chance, and ``significant`` is p_value <= alpha (the
    rule under which a Monte Carlo test has exactly size alpha). As in the Near Repeat
    Calculator, the cells are not corrected for being tested together.

    Bands must be sorted and must not overlap (gaps are allowed). Only pairs closer than the
    largest space band are ever formed, so tens of thousands of events are fine.
    """
    space_edges, time_edges = _edges(space_bands_m), _edges(time_bands_days)
    if permutations < 1:
        raise ValueError("the Knox test needs at least one permutation")
    x, y, t = (np.asarray(a, dtype=float) for a in (x, y, t_days))
    if not (x.ndim == 1 and x.shape == y.shape == t.shape):
        raise ValueError("x, y and t_days must be equally long 1-D arrays")
    i, j, space_band = _close_pairs(x, y, space_edges)
    n_space = len(space_bands_m)
    observed = _count(i, j, space_band, t, time_edges, n_space)
    rng = np.random.default_rng(seed)
    simulated = np.stack([_count(i, j, space_band, t[rng.permutation(len(t))], time_edges, n_space)
                          for _ in range(permutations)])
    expected = simulated.mean(axis=0)
    p_value = ((simulated >= observed).sum(axis=0) + 1) / (permutations + 1)
    return _table(space_bands_m, time_bands_days, observed, expected, p_value, alpha)


def reading(table: pd.DataFrame, *, alpha: float = 0.05, what: str = "incidents") -> str:
    """The Knox table in plain language: the closest significant cell, what else was significant,
    and the advice it supports; or an honest sentence when no cell had more pairs than chance."""
    excess = table[(table["p_value"] <= alpha) & (table["ratio"] > 1)]
    if excess.empty:
        smallest = table["p_value"].min() if len(table) else float("nan")
        return (f"No combination of distance and time had more pairs of {what} than chance would give "
                f"(smallest p = {smallest:.2f}, at the {100 * alpha:g} % level): these data show no "
                f"near-repeat pattern. With few {what} that can mean too little data rather than no risk.")
    first = excess.sort_values(["space_from_m", "time_from_days"]).iloc[0]
    text = (f"{what.capitalize()} {_space_phrase(first)} an earlier one {_time_phrase(first)} happened "
            f"{first['ratio']:.1f} times as often as chance would give (p = {first['p_value']:.2f}): "
            f"a near-repeat pattern.")
    others = excess.drop(first.name)
    if len(others):
        text += " Also more often than chance: " + "; ".join(
            f"{_space_phrase(row)} it {_time_phrase(row)} "
            f"({row['ratio']:.1f} times, p = {row['p_value']:.2f})" for _, row in others.iterrows()) + "."
    reach_m, reach_days = excess["space_to_m"].max(), excess["time_to_days"].max()
    return text + f" Warn neighbours within {reach_m:g} m for {_days(reach_days)}."


def _edges(bands: Bands) -> np.ndarray:
    edges = np.asarray(bands, dtype=float).reshape(-1, 2)
    if (edges[:, 0] < 0).any() or (edges[:, 0] >= edges[:, 1]).any() or (edges[1:, 0] < edges[:-1, 1]).any():
        raise ValueError(f"bands must be sorted, non-negative and not overlap: {bands}")
    return edges


def _band(distance: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index of the band [from, to) holding each distance, -1 for none."""
    band = np.searchsorted(edges[:, 0], distance, side="right") - 1
    inside = (band >= 0) & (distance < edges[np.maximum(band, 0), 1])
    return np.where(inside, band, -1)


def _close_pairs(x: np.ndarray, y: np.ndarray, space_edges: np.ndarray) -> tuple[np.ndarray, ...]:
    """The pairs i < j in some space band, and that band."""
    if len(x) < 2:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, empty
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(space_edges[-1, 1], output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    band = _band(np.hypot(x[i] - x[j], y[i] - y[j]), space_edges)
    keep = band >= 0
    return i[keep], j[keep], band[keep]


@numba.njit(cache=True)
def _count(i, j, space_band, t, time_edges, n_space):
    """Pairs per (space band, time band) cell with the times ``t``: the observed count, and with
    the times shuffled one permutation's. Compiled: millions of pairs, a hundred times over."""
    n_time = len(time_edges)
    counts = np.zeros(n_space * n_time, np.int64)
    for k in range(len(i)):
        gap = abs(t[i[k]] - t[j[k]])
        for b in range(n_time):
            if time_edges[b, 0] <= gap < time_edges[b, 1]:
                counts[space_band[k] * n_time + b] += 1
                break
    return counts


def _table(space_bands: Bands, time_bands: Bands, observed: np.ndarray, expected: np.ndarray,
           p_value: np.ndarray, alpha: float) -> pd.DataFrame:
    space = np.repeat(np.asarray(space_bands, dtype=float).reshape(-1, 2), len(time_bands), axis=0)
    time = np.tile(np.asarray(time_bands, dtype=float).reshape(-1, 2), (len(space_bands), 1))
    # Nothing expected (no pairs that close at all): the ratio is undefined, not infinite.
    ratio = np.divide(observed, expected, out=np.full(len(expected), np.nan), where=expected > 0)
    return pd.DataFrame({
        "space_band": [f"{a:g}-{b:g} m" for a, b in space],
        "time_band": [f"{a:g}-{b:g} days" for a, b in time],
        "space_from_m": space[:, 0], "space_to_m": space[:, 1],
        "time_from_days": time[:, 0], "time_to_days": time[:, 1],
        "observed": observed, "expected": expected, "ratio": ratio,
        "p_value": p_value, "significant": p_value <= alpha,
    })[COLUMNS]


def _space_phrase(row: pd.Series) -> str:
    if row["space_from_m"] == 0:
        return f"within {row['space_to_m']:g} m of"
    return f"{row['space_from_m']:g}-{row['space_to_m']:g} m from"


def _time_phrase(row: pd.Series) -> str:
    if row["time_from_days"] == 0:
        return f"in the following {row['time_to_days']:g} days"
    return f"{row['time_from_days']:g}-{row['time_to_days']:g} days later"


def _days(days: float) -> str:
    if days % 7 == 0:
        weeks = int(days // 7)
        return "a week" if weeks == 1 else f"{weeks} weeks"
    return f"{days:g} days"
