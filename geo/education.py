"""Where the next safety talk should be: buildings ranked by who is at risk there and what has
happened nearby, those a recent campaign already reached last.

Pure: a frame of buildings with their counts in, the same frame ranked with its score out.

The score is ``elderly`` x residents aged 70 and over + ``cases`` x incidents of the topic (fraud,
burglary) within the radius in the period. The elderly are the usual victims of phone and
door-to-door fraud; recent cases say the risk is live. A building within the radius of a
campaign on the same topic in the period keeps its score but goes after every building not yet
reached: a talk is not given twice to the same street while others have had none.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class TargetWeights:
    elderly: float = 1.0
    cases: float = 2.0

    def describe(self, topic: str, radius_m: float, days: int) -> str:
        return (f"{self.elderly:g} x residents aged 70 and over + {self.cases:g} x {topic} cases within "
                f"{radius_m:g} m in the last {days} days; buildings a {topic} campaign reached in that time last")


def rank_targets(buildings: pd.DataFrame, weights: TargetWeights = TargetWeights()) -> pd.DataFrame:
    """``buildings``: id, elderly, cases, reached (bool). Adds ``score`` and ``rank`` (1 first),
    keeping only buildings with a score above 0."""
    if weights.elderly < 0 or weights.cases < 0:
        raise ValueError("weights must not be negative")
    scored = buildings.assign(score=weights.elderly * buildings["elderly"] + weights.cases * buildings["cases"])
    scored = scored[scored["score"] > 0].sort_values(["reached", "score", "id"], ascending=[True, False, True],
                                                     kind="stable")
    return scored.assign(rank=range(1, len(scored) + 1)).reset_index(drop=True)
