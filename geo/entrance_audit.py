"""The entrances a burglar would choose: unmanaged, ungated or unwatched, ranked by risk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from geo.cameras import seen_by_any

REASONS = ("unmanaged", "no_access_control", "no_camera")


@dataclass(frozen=True)
class RiskWeights:
    """risk = households x households + living_alone x residents living alone + burglaries x burglaries near."""

    households: float = 1.0
    living_alone: float = 2.0
    burglaries: float = 3.0

    def describe(self, burglary_radius_m: float, burglary_days: int) -> str:
        return (f"{self.households:g} x households behind the entrance + {self.living_alone:g} x residents "
                f"living alone there + {self.burglaries:g} x burglaries within {burglary_radius_m:g} m "
                f"in the last {burglary_days} days")


def count_within(x: np.ndarray, y: np.ndarray, other_x: np.ndarray, other_y: np.ndarray,
                 radius: float) -> np.ndarray:
    """For each point, how many of the other points lie within ``radius``."""
    counts = np.zeros(len(x), dtype=int)
    if not len(x) or not len(other_x):
        return counts
    tree = STRtree(shapely.points(other_x, other_y))
    i, _ = tree.query(shapely.points(x, y), predicate="dwithin", distance=radius)
    np.add.at(counts, i, 1)
    return counts


def entrance_audit(
    entrances: pd.DataFrame,
    cameras: pd.DataFrame,
    burglaries: pd.DataFrame,
    passes: np.ndarray,
    *,
    burglary_radius_m: float,
    weights: RiskWeights = RiskWeights(),
) -> pd.DataFrame:
    """Every entrance with at least one reason, with its risk, ranked (riskiest, then unpassed, first).

    ``entrances``: id, x, y, managed, access_control, households, living_alone;
    ``cameras``: x, y, direction_deg, fov_deg, range_m (working ones);
    ``burglaries``: x, y (already limited to the period that counts);
    ``passes``: patrol passes of each entrance in the window, aligned with ``entrances``.
    All coordinates in one metric CRS.
    """
    x, y = entrances["x"].to_numpy(), entrances["y"].to_numpy()
    watched = seen_by_any(x, y, *(cameras[c].to_numpy(dtype=float)
                                  for c in ("x", "y", "direction_deg", "fov_deg", "range_m")))
    reasons = np.column_stack([~entrances["managed"].to_numpy(bool),
                               ~entrances["access_control"].to_numpy(bool), ~watched])
    near = count_within(x, y, burglaries["x"].to_numpy(), burglaries["y"].to_numpy(), burglary_radius_m)
    table = entrances.assign(
        reasons=[[r for r, on in zip(REASONS, row) if on] for row in reasons],
        passes=np.asarray(passes, dtype=int),
        passed=np.asarray(passes) > 0,
        burglaries_near=near,
    )
    table["risk"] = (weights.households * table["households"] + weights.living_alone * table["living_alone"]
                     + weights.burglaries * table["burglaries_near"]).astype(float)
    listed = table[reasons.any(axis=1)]
    return listed.sort_values(["risk", "passed", "id"], ascending=[False, True, True], kind="stable") \
                 .reset_index(drop=True)

