"""How good was a hotspot map: flag its top units, count next period's incidents caught (hit rate, PAI, PEI).

Units (grid cells, hexagons) are flagged whole, in descending order of the map's score, until
their area reaches the share asked; the unit that crosses the share is flagged too, and so is
every unit tied with it on score, since the map cannot tell them apart. The share actually
flagged is reported beside the share asked. A flat map therefore flags everything: PAI 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

SHARES = (0.01, 0.05, 0.10)
COLUMNS = ["share", "share_used", "units_flagged", "caught", "hit_rate", "pai", "pei"]


def backtest(
    predicted: np.ndarray,
    observed: np.ndarray,
    area: np.ndarray,
    *,
    shares: Sequence[float] = SHARES,
) -> pd.DataFrame:
    """Hit rate, PAI and PEI of the map ``predicted`` against the incidents ``observed`` later.

    ``predicted``: the map's score per unit from the training period (a count, a KDE value);
    ``observed``: incidents per unit in the test period; ``area``: each unit's area in m².
    One row per share of the total area: ``share_used`` (what was flagged), ``units_flagged``,
    ``caught`` (test incidents in the flagged units), ``hit_rate`` = caught / all test
    incidents, ``pai`` = hit_rate / share_used (Chainey's predictive accuracy index: 1 is
    chance), ``pei`` = caught / the most any set of units of the same area could catch (Hunt's
    predictive efficiency index). That best is counted with the units richest in test
    incidents per m² and the last one pro rata, so it is exact for equal cells and never below
    what a whole-unit choice could catch: 0 <= PEI <= 1. No test incidents: NaN rates.
    """
    score, count, size = _validated(predicted, observed, area)
    if not all(0 < share <= 1 for share in shares):
        raise ValueError(f"area shares must be in (0, 1]: {shares}")
    total_area, total = size.sum(), count.sum()
    order = np.argsort(-score, kind="stable")
    rows = []
    for share in shares:
        flagged = _top_units(score[order], size[order], share * total_area)
        used_area = size[order][:flagged].sum()
        caught = count[order][:flagged].sum()
        share_used = used_area / total_area
        hit_rate = caught / total if total else np.nan
        best = _most_catchable(count, size, used_area)
        rows.append({"share": share, "share_used": share_used, "units_flagged": flagged, "caught": caught,
                     "hit_rate": hit_rate, "pai": hit_rate / share_used,
                     "pei": caught / best if total else np.nan})
    return pd.DataFrame(rows, columns=COLUMNS)


def explain(table: pd.DataFrame, *, what: str = "incidents") -> list[str]:
    """One plain sentence per row of ``backtest``'s table."""
    return [_sentence(row, what) for _, row in table.iterrows()]


def _validated(predicted: np.ndarray, observed: np.ndarray, area: np.ndarray) -> tuple[np.ndarray, ...]:
    score, count, size = (np.asarray(a, dtype=float) for a in (predicted, observed, area))
    if not (score.ndim == 1 and score.shape == count.shape == size.shape and score.size):
        raise ValueError("predicted, observed and area must be equally long 1-D arrays, not empty")
    if not np.isfinite(score).all() or (count < 0).any() or not (size > 0).all():
        raise ValueError("scores must be finite, counts non-negative, areas positive")
    return score, count, size


def _top_units(sorted_score: np.ndarray, sorted_area: np.ndarray, wanted_area: float) -> int:
    """How many of the units, best first, to flag: up to the one whose area reaches the wanted area,
    and on through every unit tied with it."""
    # The relative slack keeps 5 of 100 equal cells at 5 % when 0.05 * total rounds a hair above 5 cells.
    reached = np.searchsorted(np.cumsum(sorted_area), wanted_area * (1 - 1e-9))
    crossing = min(int(reached), len(sorted_area) - 1)
    return int(np.searchsorted(-sorted_score, -sorted_score[crossing], side="right"))


def _most_catchable(count: np.ndarray, size: np.ndarray, area: float) -> float:
    """The incidents in ``area`` filled with the densest units first, the last one pro rata."""
    order = np.argsort(-(count / size), kind="stable")
    filled = np.minimum(np.cumsum(size[order]), area)
    taken = np.diff(filled, prepend=0.0) / size[order]
    return float((taken * count[order]).sum())


def _sentence(row: pd.Series, what: str) -> str:
    asked, used = (f"{100 * row[c]:.3g} %" for c in ("share", "share_used"))
    share = f"the top {asked} of the area" + (f" ({used} in whole units, ties kept together)" if used != asked
                                               else "")
    if np.isnan(row["hit_rate"]):
        return f"Flagging {share}: there were no {what} in the test period, so nothing to catch and no score."
    chance = (f"{row['pai']:.1f} times better than chance (PAI)" if row["pai"] >= 1
              else f"worse than chance (PAI {row['pai']:.2f})")
    return (f"Flagging {share} would have caught {_percent(row['hit_rate'])} of the next period's {what}: "
            f"{chance}, {_percent(row['pei'])} of the best possible (PEI).")


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.0f} %" if 100 * fraction >= 10 or fraction == 0 else f"{100 * fraction:.2g} %"
