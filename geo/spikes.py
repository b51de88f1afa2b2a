"""Spike alerts for small counts: units with more incidents this period than their history makes likely."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import poisson

from geo.hotspots import adjust_fdr

COLUMNS = ["current", "expected", "ratio", "p", "p_adjusted", "flagged"]


def spikes(
    current: np.ndarray | pd.Series,
    history: np.ndarray | pd.DataFrame,
    *,
    alpha: float = 0.01,
    min_count: int = 3,
    fdr: bool = True,
) -> pd.DataFrame:
    """A one-sided Poisson test of this period's count per unit against its recent past.

    ``current``: counts per unit (hexagon, beat) this period; ``history``: counts per unit in
    each of the previous k periods (units x k). ``expected`` is the mean of the history, but at
    least half an incident over the whole history (0.5 / k): a unit that never had one is
    unlikely to, not unable to, so 0 before and 5 now is a spike rather than a division by zero.
    ``p`` = P(X >= current) for X ~ Poisson(expected); ``p_adjusted`` is Benjamini-Hochberg
    across the units when ``fdr``, else ``p``; ``flagged`` = current >= min_count and
    p_adjusted < alpha. Indexed like ``current`` when it is a Series.

    Incident counts are usually more variable than Poisson, which makes this test too eager;
    the low default alpha and the minimum count keep the alerts worth reading.
    """
    now, past, index = _validated(current, history)
    expected = np.maximum(past.mean(axis=1), 0.5 / past.shape[1])
    p = poisson.sf(now - 1, expected)
    p_adjusted = adjust_fdr(p) if fdr else p
    return pd.DataFrame({
        "current": now, "expected": expected, "ratio": now / expected, "p": p,
        "p_adjusted": p_adjusted, "flagged": (now >= min_count) & (p_adjusted < alpha),
    }, index=index)[COLUMNS]


def _validated(current: np.ndarray | pd.Series,
               history: np.ndarray | pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    now, past = np.asarray(current), np.asarray(history)
    if now.ndim != 1 or past.ndim != 2 or past.shape[0] != now.shape[0] or past.shape[1] < 1:
        raise ValueError(f"current must be per unit and history units x periods (k >= 1), "
                         f"not {now.shape} and {past.shape}")
    if not (np.isfinite(now).all() and np.isfinite(past).all() and (now >= 0).all() and (past >= 0).all()
            and (now == np.round(now)).all()):
        raise ValueError("counts must be non-negative, and this period's whole numbers")
    index = current.index if isinstance(current, pd.Series) else pd.RangeIndex(len(now))
    return now.astype(np.int64), past.astype(float), index
