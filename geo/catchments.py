"""Walking catchments on a street network: which parts of the streets lie within a walk of a
start, and the area those parts serve.

Pure: street lines in metres with the walk to each end in, lines and polygons out. The walk to
each vertex comes from the router (pgRouting's ``pgr_drivingDistance``), which only names the
vertices within the budget; this module adds the stretch of every street one can still walk
into from a reached end, so a 250 m walk along 100 m blocks ends halfway down the third block,
not at its start.

Why the catchment is the reached streets buffered by ``reach_m`` rather than a concave hull of
the reached vertices: a hull of vertices on one street, or on a tree of streets, is a line or a
sliver with no area, and over a grid it spans blocks that walking does not reach (across a
railway, a river, a walled estate). A household belongs to a station's catchment when its door
is within a short stretch of a street one can walk to; the buffer says exactly that.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.ops import substring

# The last stretch from a street to a door: a household's point (its unit or entrance) within
# this distance of a reached street is in the catchment.
REACH_M = 50.0


def reached_parts(lines, lengths_m, to_source_m, to_target_m, budget_m: float) -> list[shapely.LineString]:
    """The parts of the streets within ``budget_m`` of walking.

    Parameters
    ----------
    lines
        Each street as a LineString in metres, drawn from its source vertex to its target.
    lengths_m
        Each street's length in metres, as the router measured it (the parts are fractions of it).
    to_source_m, to_target_m
        Metres walked to reach each street's source and target vertex; ``inf`` (or NaN) where
        the vertex is not reached.
    budget_m
        The walk.

    Returns
    -------
    list of LineString
        A whole street where the walks in from its two ends meet or overlap, else the stretch
        walked in from each reached end (none from a vertex reached with no metres to spare).
    """
    if budget_m < 0:
        raise ValueError(f"the walk must not be negative, not {budget_m}")
    parts = []
    for line, length, to_source, to_target in zip(lines, lengths_m, to_source_m, to_target_m, strict=True):
        if not length > 0:
            raise ValueError(f"a street must have a positive length, not {length}")
        head = _share(budget_m, to_source, length)
        tail = _share(budget_m, to_target, length)
        if head + tail >= 1.0:
            parts.append(line)
            continue
        if head > 0:
            parts.append(substring(line, 0.0, head, normalized=True))
        if tail > 0:
            parts.append(substring(line, 1.0 - tail, 1.0, normalized=True))
    return parts


def _share(budget_m: float, walked_m: float, length_m: float) -> float:
    """The share of a street one can still walk into from an end reached after ``walked_m``."""
    if walked_m is None or math.isnan(walked_m) or walked_m > budget_m:
        return 0.0
    return min(1.0, (budget_m - walked_m) / length_m)


def catchment_area(parts, reach_m: float = REACH_M) -> shapely.Geometry:
    """The area within ``reach_m`` of the reached street parts (an empty polygon if none)."""
    if reach_m <= 0:
        raise ValueError(f"reach_m must be positive, not {reach_m}")
    if len(parts) == 0:
        return shapely.Polygon()
    return shapely.union_all(shapely.buffer(np.asarray(parts, dtype=object), reach_m))


def merged_lines(parts) -> shapely.Geometry:
    """The reached parts as one geometry, joined where they meet end to end."""
    if len(parts) == 0:
        return shapely.MultiLineString()
    return shapely.line_merge(shapely.multilinestrings(np.asarray(parts, dtype=object)))
