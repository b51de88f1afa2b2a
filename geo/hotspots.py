"""Hot and cold spots of incident counts over areal units: Getis-Ord Gi* with a false-discovery-rate cut.

The units are hexagons, grid cells, beats or street segments in one metric CRS; their
neighbours come from libpysal's ``Graph`` (the successor of ``W``), and Gi* from esda.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from esda.getisord import G_Local
from libpysal.graph import Graph
from scipy import sparse
from scipy.stats import false_discovery_control

LABELS = ("hot", "cold", "not significant")
COLUMNS = ["z", "p", "p_adjusted", "label"]

Units = gpd.GeoSeries | Sequence[shapely.Geometry]


def contiguity_weights(units: Units, *, rook: bool = False, snap_m: float = 0.01) -> Graph:
    """Neighbours by contiguity: polygons sharing a vertex (queen) or an edge (``rook=True``);
    street segments that touch.

    Vertices are first snapped to a ``snap_m`` grid: hexagons computed one by one with cos and
    sin differ in the last digits where they meet, and libpysal would see no neighbour at all.
    Polygons then use libpysal's vertex-set method, which expects a coverage (a hexagon or
    square grid, beats from one topology); polygons with gaps between them need
    ``distance_weights``. Segments use the strict method, shapely's ``touches``: two segments
    are neighbours when they meet at an end, including a T-junction without a shared vertex,
    while a bridge or tunnel crossing a street without a junction is not (fuzzy contiguity
    would link those, and close parallel streets too). Units without a neighbour are islands,
    which ``gi_star`` does not test. Ids follow the index of a GeoSeries, else 0..n-1.
    """
    series = _metric(units).set_precision(snap_m)
    kinds = set(series.geom_type)
    if kinds <= {"Polygon", "MultiPolygon"}:
        return Graph.build_contiguity(series, rook=rook, strict=False)
    if kinds <= {"LineString", "MultiLineString"}:
        return Graph.build_contiguity(series, rook=False, strict=True)
    raise ValueError(f"contiguity needs all polygons or all lines, not {sorted(kinds)}")


def distance_weights(units: Units, *, threshold_m: float) -> Graph:
    """Neighbours whose centroids are at most ``threshold_m`` apart (binary): the fallback for
    units that do not tile, such as scattered premises or a street network with gaps."""
    series = _metric(units)
    return Graph.build_distance_band(series.centroid, threshold_m, binary=True)


def adjust_fdr(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values; NaN (a unit not tested) stays NaN and is not counted
    among the tests."""
    p = np.asarray(p, dtype=float)
    adjusted = np.full_like(p, np.nan)
    tested = ~np.isnan(p)
    adjusted[tested] = false_discovery_control(p[tested], method="bh")
    return adjusted


def gi_star(
    values: np.ndarray | pd.Series,
    weights: Graph,
    *,
    alpha: float = 0.05,
    fdr: bool = True,
    permutations: int = 0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Getis-Ord Gi* of non-negative values (counts, rates) per unit, labelled hot, cold or not.

    ``values`` are in the order of ``weights``' ids (a Series is aligned by its index). Returns
    a frame indexed by those ids with ``z`` (the Gi* z-score), ``p`` (two-sided), ``p_adjusted``
    (Benjamini-Hochberg across the tested units when ``fdr``, else ``p``) and ``label``: hot
    when z > 0 and p_adjusted < alpha, cold when z < 0 and p_adjusted < alpha (with
    permutations: by the tail the neighbours fell in).

    The weights are binarised and each unit is its own neighbour (esda's ``transform="B"``,
    ``star=True``): that is Ord and Getis' Gi*, and esda's moments are its moments. (With
    ``transform="R"`` esda's variance ignores how many neighbours a unit has.) ``p`` is twice
    esda's one-sided ``p_norm``. With ``permutations`` it is a two-sided pseudo p-value from
    conditional randomisation instead (``_permutation_p``), never below 2 / (permutations + 1):
    under the FDR cut over many units, use 999 or more.

    Not tested, so NaN z and p and "not significant": islands (no neighbour; their Gi* would
    only restate their own value), units whose neighbourhood is the whole area (variance 0),
    and every unit when the values do not vary (including all zero, or no units).
    """
    y = _aligned(values, weights)
    if (y < 0).any() or np.isnan(y).any():
        raise ValueError("Gi* needs non-negative values without NaN")
    # esda gives every unit a self-weight of 1; one the caller put in would be counted as a neighbour.
    weights = weights.assign_self_weight(0).eliminate_zeros().transform("B")
    card = weights.cardinalities.reindex(weights.unique_ids).to_numpy()
    tested = (len(y) > 0 and np.ptp(y) > 0) & (card > 0) & (card + 1 < len(y))
    z, p, high = np.full(len(y), np.nan), np.full(len(y), np.nan), np.zeros(len(y), dtype=bool)
    if tested.any():
        local = _g_local(y, weights)
        z[tested] = local.Zs[tested]
        if permutations:
            p, high = _permutation_p(y, weights.sparse, card, tested, permutations=permutations, seed=seed)
        else:
            p[tested], high = 2.0 * local.p_norm[tested], z > 0
    p_adjusted = adjust_fdr(p) if fdr else p
    significant = p_adjusted < alpha
    label = np.where(significant & high, "hot", np.where(significant & ~high, "cold", LABELS[2]))
    return pd.DataFrame({"z": z, "p": p, "p_adjusted": p_adjusted, "label": label},
                        index=weights.unique_ids)[COLUMNS]


def _aligned(values: np.ndarray | pd.Series, weights: Graph) -> np.ndarray:
    if isinstance(values, pd.Series):
        if len(values) != weights.n or not values.index.isin(weights.unique_ids).all():
            raise ValueError("the values' index must be the ids of the weights")
        values = values.reindex(weights.unique_ids)
    y = np.asarray(values, dtype=float)
    if y.shape != (weights.n,):
        raise ValueError(f"{y.shape[0] if y.ndim else 0} values for {weights.n} units")
    return y


def _g_local(y: np.ndarray, weights: Graph) -> G_Local:
    # A unit whose neighbourhood is the whole area has variance 0, and esda divides 0 by 0 for it;
    # the caller does not test such units, so the floating-point warning is noise.
    with np.errstate(divide="ignore", invalid="ignore"):
        return G_Local(y, weights, transform="B", star=True, permutations=0)


def _permutation_p(y: np.ndarray, adjacency: sparse.sparray, card: np.ndarray, tested: np.ndarray, *,
                   permutations: int, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided pseudo p-values by conditional randomisation, as esda's: each unit keeps its own
    value and its k neighbours' values are drawn from the other n - 1 units without replacement.
    So it asks whether the neighbours are unusual around this unit; the analytical p also
    counts the unit's own value, and a lone high unit amid ordinary ones can pass that alone.

    Not esda's ``permutations``: G_Local cannot choose its ``alternative`` (the default, a
    "directed" p, is deprecated and warns), its directed p counts a tie as not larger, so a
    neighbourhood of zeros that shuffles to zeros again reads as extreme, and its numba kernel
    takes about 20 s to compile in every new process: the first request of an API worker.
    Returns the p-values (NaN where not tested) and whether the neighbours were high.
    """
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.choice(len(y) - 1, card[tested].max(), replace=False) for _ in range(permutations)])
    # Gi* of a unit is (its value + its neighbours' sum) / the total: only the neighbours' sum moves.
    observed = adjacency @ y
    p, high = np.full(len(y), np.nan), np.zeros(len(y), dtype=bool)
    for i in np.flatnonzero(tested):
        others = draws[:, :card[i]]
        simulated = y[others + (others >= i)].sum(axis=1)  # skip unit i itself
        at_least, at_most = (simulated >= observed[i]).sum(), (simulated <= observed[i]).sum()
        p[i] = min(1.0, 2 * (min(at_least, at_most) + 1) / (permutations + 1))
        high[i] = at_least < at_most
    return p, high


def _metric(units: Units) -> gpd.GeoSeries:
    series = gpd.GeoSeries(units)
    if series.crs is not None and not series.crs.is_projected:
        raise ValueError(f"units must be in a metric CRS, not {series.crs.name}")
    return series
