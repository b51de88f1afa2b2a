"""How heavy each beat is: several measures, each against its mean over the beats, weighted.

Pure: a frame of measures per beat in, the workload index and the balance out.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

MEASURES = ("households", "residents_to_visit", "premises_due", "sites_due", "incidents", "open_disputes",
            "street_km")


def workload(measures: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """The measures with a ``workload`` column: sum of weight x measure / its mean over the beats,
    divided by the sum of the weights, so that the average beat is 1.0 and a beat of 1.3 carries
    30 % more than the average.

    Each measure is taken against its own mean, so households (hundreds) and open disputes
    (a few) count by their weights, not by their units. A measure that is 0 in every beat
    says nothing about balance: it is left out, weight and all.
    """
    unknown = set(weights) - set(MEASURES)
    if unknown:
        raise ValueError(f"unknown measures {sorted(unknown)}; weigh some of {', '.join(MEASURES)}")
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must not be negative")
    used = {k: float(w) for k, w in weights.items() if w > 0 and measures[k].mean() > 0}
    index = np.zeros(len(measures))
    if used:
        for k, w in used.items():
            index += w * measures[k].to_numpy(dtype=float) / measures[k].mean()
        index /= sum(used.values())
    return measures.assign(workload=index)


def balance(index: np.ndarray) -> dict:
    """How even the beats are: the heaviest against the lightest, and the spread."""
    index = np.asarray(index, dtype=float)
    if not len(index) or index.max() == 0:
        return {"max_min_ratio": None, "coefficient_of_variation": None}
    lightest = index.min()
    return {"max_min_ratio": round(float(index.max() / lightest), 3) if lightest > 0 else None,
            "coefficient_of_variation": round(float(index.std() / index.mean()), 3)}
