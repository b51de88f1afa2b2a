"""A new division of an area into k contiguous, compact beats of about equal workload, and which
officer takes which new beat.

Pure: units (blocks or building groups: polygons in a metric CRS, or a neighbour graph with
centroids and areas) with the workload of each unit in; a beat per unit, the balance before and after and
the officers' new beats out.

How a division is made:

1. A start of k beats, each in one piece. From the current beats when given: a beat in pieces
   keeps its heaviest piece and the rest join neighbouring beats; then the lightest beat joins
   its lightest neighbour, or the heaviest beats are cut, until there are k. Cutting is as
   ReCom does in redistricting: a random spanning tree of the beat, cut at the edge that leaves
   each side nearest its share of the load; either side of a tree cut is one piece. A fresh
   start is a balanced power diagram (k-means whose cells grow or shrink until their loads are
   about equal): convex cells, so compact ones.
2. A local search moves boundary units to a neighbouring beat while that lowers the spread of
   the loads (squared deviations from the mean beat) plus ``compactness`` x how far the beats
   are from discs (their moment of inertia against a disc's). A move that would split the beat
   it leaves, or raise the max/min ratio above a ceiling, is not made: the ceiling is the
   start's ratio (for a fresh start, the target if that is higher), and it comes down with the
   ratio as far as the target. So a plan is never less balanced than its start (the current
   beats, once mended into k whole beats), and compactness is bought only within the target.
3. Single moves from the current beats can stall short of the target (a heavy beat with no light
   unit to give away); the fresh plan is then taken if it is better balanced.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely
from libpysal.graph import Graph
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree

from geo.hotspots import contiguity_weights
from geo.workload import balance

TARGET_RATIO = 1.2
# Against the spread of the loads: at 0.1 a district's beats come within a few % of the mean
# load, and larger weights give little more compactness for the balance they cost.
COMPACTNESS = 0.1
# A tree cut within this share of a beat's load of its aim is taken at once; otherwise the best
# cut of CUT_TRIES random trees (a region of a few heavy units may have no closer cut at all).
CUT_TOLERANCE = 0.02
CUT_TRIES = 10
# A fresh start: POWER_ROUNDS moves of the centres, each after POWER_STEPS of balancing.
POWER_ROUNDS = 20
POWER_STEPS = 10
# Each sweep visits every unit once; the search stops earlier when a sweep moves nothing.
MAX_SWEEPS = 500

Neighbours = Graph | sparse.sparray | sparse.spmatrix


@dataclass(frozen=True)
class BeatPlan:
    """A proposed division, with how it compares with the current one."""

    labels: np.ndarray  # the new beat of each unit, 0..k-1
    beats: pd.DataFrame  # per new beat: see ``beat_table``
    beats_before: pd.DataFrame | None  # per current beat, when they were given
    balance: pd.DataFrame  # before and after side by side, one row per figure
    target_ratio: float
    ratio_floor: float  # no division of these units into k beats has a lower max/min ratio
    target_reached: bool
    note: str  # the ratio reached against the target, or why the target cannot be reached
    officers: pd.DataFrame | None  # see ``reassign_officers``, when officers were given


def plan_beats(
    units: gpd.GeoSeries | gpd.GeoDataFrame,
    loads: np.ndarray | pd.Series,
    k: int,
    *,
    current: np.ndarray | pd.Series | None = None,
    officers: Mapping[Hashable, Hashable] | pd.Series | None = None,
    neighbours: Neighbours | None = None,
    afresh: bool = False,
    target_ratio: float = TARGET_RATIO,
    compactness: float = COMPACTNESS,
    seed: int = 0,
) -> BeatPlan:
    """Divide polygon units into ``k`` beats of about equal load, and compare with ``current``.

    ``loads`` is the workload of each unit, in the units' order. ``neighbours`` defaults to rook
    contiguity (a shared edge: a beat joined only at a corner is not one piece on the ground);
    units that do not tile need a graph of their own, such as ``distance_weights``.
    ``current`` is the beat of each unit today (None for a unit in none): the plan starts from it
    and stays near it, unless ``afresh``; either way it is the "before". ``officers`` maps each
    officer to a current beat; they are given new beats by ``reassign_officers``, by the load
    they keep. See ``divide`` for ``compactness`` and ``seed``.
    """
    if officers is not None and current is None:
        raise ValueError("officers are placed by their current beats: give current too")
    geometry = units.geometry if isinstance(units, gpd.GeoDataFrame) else gpd.GeoSeries(units)
    geometry = geometry.reset_index(drop=True)
    if geometry.crs is not None and not geometry.crs.is_projected:
        raise ValueError(f"units must be in a metric CRS, not {geometry.crs.name}")
    if neighbours is None:
        neighbours = contiguity_weights(geometry, rook=True)
    loads = np.asarray(loads, dtype=float)
    centroids = shapely.get_coordinates(geometry.centroid.to_numpy())
    labels = divide(neighbours, loads, centroids, geometry.area.to_numpy(), k,
                    start=None if afresh else current, target_ratio=target_ratio,
                    compactness=compactness, seed=seed)

    after = beat_table(labels, loads, geometry)
    before = None
    if current is not None:
        known = pd.notna(np.asarray(current, dtype=object))
        before = beat_table(np.asarray(current, dtype=object)[known], loads[known], geometry[known])
    ratio = balance(after["load"].to_numpy())["max_min_ratio"]
    floor = ratio_floor(loads, k)
    moved = None if officers is None else reassign_officers(officers, current, labels, weights=loads)
    return BeatPlan(labels, after, before, side_by_side(before, after), target_ratio, floor,
                    ratio is not None and ratio < target_ratio,
                    _verdict(ratio, floor, loads, k, target_ratio), moved)


def _verdict(ratio: float | None, floor: float, loads: np.ndarray, k: int, target: float) -> str:
    if ratio is not None and ratio < target:
        return f"max/min {ratio:.3f}, under the target {target:g}"
    if floor >= target:
        heaviest = int(np.argmax(loads))
        return (f"target {target:g} unreachable: unit {heaviest} alone carries "
                f"{loads[heaviest] / (loads.sum() / k):.2f} x the mean beat, so no division into "
                f"{k} beats has max/min below {floor:.3f}; reached {ratio}")
    return (f"max/min {ratio}, not under the target {target:g} (the heaviest unit alone allows "
            f"{floor:.3f}): the units may be too coarse for {k} beats")


def joined_blocks(blocks: gpd.GeoSeries) -> sparse.csr_matrix:
    """Rook contiguity of blocks, with every block cut off from the largest piece joined to its
    nearest block in it.

    Blocks cut by real streets do not always share an edge with the rest: a block meets its
    neighbours only at a corner, or lies across a gap the street lines leave. On the ground
    such a block is still walked to from the nearest one, so it is linked there rather than
    refused as an island.
    """
    blocks = blocks.reset_index(drop=True)
    adjacency = sparse.lil_matrix(contiguity_weights(blocks, rook=True).sparse)
    pieces, piece = connected_components(adjacency, directed=False)
    if pieces > 1:
        main = np.flatnonzero(piece == np.bincount(piece).argmax())
        apart = np.flatnonzero(piece != piece[main[0]])
        geometry = blocks.to_numpy()
        nearest = shapely.STRtree(geometry[main]).query_nearest(geometry[apart], all_matches=False)[1]
        adjacency[apart, main[nearest]] = 1
        adjacency[main[nearest], apart] = 1
    return adjacency.tocsr()


def divide(
    neighbours: Neighbours,
    loads: np.ndarray,
    centroids: np.ndarray,
    areas: np.ndarray,
    k: int,
    *,
    start: np.ndarray | pd.Series | None = None,
    target_ratio: float = TARGET_RATIO,
    compactness: float = COMPACTNESS,
    seed: int = 0,
) -> np.ndarray:
    """The beat (0..k-1) of each unit: k connected beats of about equal load, compact.

    ``neighbours`` says which units touch (a libpysal Graph whose ids are the units' positions,
    or an n x n sparse matrix); ``centroids`` (x, y) and ``areas`` of the units, in metres,
    measure compactness. ``start`` is a current beat per unit (any labels; None or NaN for a unit
    in none). Deterministic for a given ``seed``.

    ``compactness`` weighs, against the sum over beats of (load / mean load - 1)^2, the sum over
    beats of their moment of inertia against a disc's of the same area (1 for a disc, 1.05 for
    a square, 5.3 for a strip ten times as long as it is wide).
    """
    loads = np.asarray(loads, dtype=float)
    n = len(loads)
    adjacency = _adjacency(neighbours, n)
    _check(adjacency, loads, k)
    centroids = np.asarray(centroids, dtype=float)
    areas = np.asarray(areas, dtype=float)
    if centroids.shape != (n, 2) or areas.shape != (n,):
        raise ValueError(f"{n} units need {n} x 2 centroids and {n} areas, not {centroids.shape} "
                         f"and {areas.shape}")
    if not (areas > 0).all():
        raise ValueError(f"areas must be positive: units {_some(np.flatnonzero(~(areas > 0)))}")
    rng = np.random.default_rng(seed)
    # Scaled so that the heaviest unit weighs 1: the same plan, and tiny loads cannot underflow.
    loads = loads / loads.max()
    # Each unit counts by its area; a beat's inertia is its units' about the beat's centre plus
    # their own, taken as a disc's (so that a beat of one unit is not a point).
    xy = centroids - np.average(centroids, axis=0, weights=areas)
    own = areas * (xy**2).sum(axis=1) + areas**2 / (2 * np.pi)
    search = {"adjacency": adjacency, "loads": loads, "areas": areas, "xy": xy, "own": own,
              "k": k, "compactness": compactness, "target_ratio": target_ratio, "rng": rng}
    if start is None:
        return _search(_power_cells(xy, loads, areas, k, rng), fresh=True, **search)
    labels = _search(_codes(start, n), fresh=False, **search)
    if _ratio(labels, loads, k) >= target_ratio:
        # Moving one unit at a time from the current beats can stall short of the target (a
        # heavy beat with no light unit to give away): a fresh division is taken if it does better.
        fresh = _search(_power_cells(xy, loads, areas, k, rng), fresh=True, **search)
        if _ratio(fresh, loads, k) < _ratio(labels, loads, k):
            return fresh
    return labels


def _search(codes: np.ndarray, *, fresh: bool, adjacency: sparse.csr_matrix, loads: np.ndarray,
            areas: np.ndarray, xy: np.ndarray, own: np.ndarray, k: int, compactness: float,
            target_ratio: float, rng: np.random.Generator) -> np.ndarray:
    """The start made of ``codes`` (k connected beats), then improved by the local search. The
    ceiling is the start's ratio, or the target if higher when the start is ``fresh`` (ours)."""
    labels = _split_to(adjacency, loads, _merge_to(adjacency, loads, _whole(adjacency, loads, codes),
                                                    k), k, rng)
    ratio = _ratio(labels, loads, k)
    ceiling = max(target_ratio, ratio) if fresh else ratio
    order = rng.permutation(len(labels)).astype(np.int64)
    _improve(adjacency.indptr.astype(np.int64), adjacency.indices.astype(np.int64), loads, areas,
             xy[:, 0].copy(), xy[:, 1].copy(), own, labels, int(k), order, float(compactness),
             float(ceiling), float(target_ratio), MAX_SWEEPS)
    return labels


def reassign_officers(
    officers: Mapping[Hashable, Hashable] | pd.Series,
    current: np.ndarray | pd.Series,
    labels: np.ndarray,
    *,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Which new beat each officer takes: the assignment keeping the most of their old beats.

    ``officers`` maps officer to current beat; ``current`` and ``labels`` are the old and new
    beat of each unit; ``weights`` (a load or an area per unit, else unit counts) measure how
    much of an old beat lies in a new one. Beats are shared out evenly: with more officers than
    beats each beat takes the floor or the ceiling of officers / beats. The officers' total share
    kept is maximised (scipy's ``linear_sum_assignment``). Returns, indexed by officer,
    ``old_beat``, ``new_beat`` and ``kept``: the share of the old beat that lies in the new one.
    """
    officers = pd.Series(officers, dtype=object)
    current = np.asarray(current, dtype=object)
    labels = np.asarray(labels)
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    known = pd.notna(current)
    old_names = pd.unique(current[known])
    unknown = sorted(set(officers) - set(old_names), key=str)
    if unknown:
        raise ValueError(f"officers' beats {unknown} are no unit's current beat")
    old = pd.Index(old_names).get_indexer(current[known])
    beats = int(labels.max()) + 1
    overlap = np.zeros((len(old_names), beats))
    counts = np.zeros_like(overlap)
    np.add.at(overlap, (old, labels[known]), weights[known])
    np.add.at(counts, (old, labels[known]), 1.0)
    # An old beat weighing nothing (all its units zero) is shared by its units instead.
    overlap = np.where(overlap.sum(axis=1, keepdims=True) > 0, overlap, counts)
    share = overlap / overlap.sum(axis=1, keepdims=True)

    mine = share[pd.Index(old_names).get_indexer(officers.to_numpy())]
    slots = -(-len(officers) // beats)
    # The first floor(officers / beats) places of every beat come first: a bonus above any total
    # of shares makes every optimum fill them.
    bonus = np.repeat((np.arange(slots) < len(officers) // beats) * (len(officers) + 1.0), beats)
    rows, columns = linear_sum_assignment(np.tile(mine, slots) + bonus, maximize=True)
    new = columns % beats
    return pd.DataFrame({"old_beat": officers.to_numpy()[rows], "new_beat": new,
                         "kept": mine[rows, new]}, index=officers.index[rows]).rename_axis("officer")


def beat_table(labels: np.ndarray, loads: np.ndarray, geometry: gpd.GeoSeries | None = None
               ) -> pd.DataFrame:
    """Per beat: ``load``, ``share_of_mean`` (1.0 is the mean beat), ``units``, and with geometry
    ``area_km2`` and ``polsby_popper`` (4 pi area / perimeter^2 of the beat's union: 1 for a
    disc, 0.785 for a square, near 0 for a long strip)."""
    frame = pd.DataFrame({"beat": labels, "load": np.asarray(loads, dtype=float), "units": 1})
    table = frame.groupby("beat").sum()
    table.insert(1, "share_of_mean", table["load"] / table["load"].mean())
    if geometry is not None:
        shapes = [shapely.union_all(part) for _, part in
                  pd.Series(np.asarray(geometry), index=frame.index).groupby(frame["beat"].to_numpy())]
        table["area_km2"] = shapely.area(shapes) / 1e6
        table["polsby_popper"] = 4 * np.pi * shapely.area(shapes) / shapely.length(shapes) ** 2
    return table


def side_by_side(before: pd.DataFrame | None, after: pd.DataFrame) -> pd.DataFrame:
    """Figures of two ``beat_table``s in columns ``before`` and ``after``."""
    def figures(table: pd.DataFrame | None) -> dict:
        if table is None:
            return {}
        shares = table["share_of_mean"]
        row = {"beats": len(table), **balance(table["load"].to_numpy()),
               "heaviest_share_of_mean": round(float(shares.max()), 3),
               "lightest_share_of_mean": round(float(shares.min()), 3)}
        if "polsby_popper" in table:
            row["mean_polsby_popper"] = round(float(table["polsby_popper"].mean()), 3)
        return row

    return pd.DataFrame({"before": pd.Series(figures(before), dtype=object),
                         "after": pd.Series(figures(after), dtype=object)})


def ratio_floor(loads: np.ndarray, k: int) -> float:
    """A max/min ratio no division into k beats goes below: the heaviest unit's beat weighs at
    least that unit, and the lightest of the other k - 1 beats at most their mean."""
    loads = np.asarray(loads, dtype=float)
    if k == 1:
        return 1.0
    heaviest = loads.max()
    rest = (loads.sum() - heaviest) / (k - 1)
    return float(max(1.0, heaviest / rest)) if rest > 0 else float("inf")


def _adjacency(neighbours: Neighbours, n: int) -> sparse.csr_matrix:
    """Symmetric 0/1 adjacency without self-links."""
    if isinstance(neighbours, Graph):
        if not np.array_equal(neighbours.unique_ids, np.arange(n)):
            raise ValueError("the graph's ids must be the units' positions 0..n-1")
        neighbours = neighbours.sparse
    edges = sparse.coo_matrix(neighbours)
    if edges.shape != (n, n):
        raise ValueError(f"the neighbour matrix is {edges.shape}, not {n} x {n} for {n} loads")
    # libpysal keeps an island as a zero-weight link to itself.
    link = (edges.row != edges.col) & (edges.data != 0)
    rows, cols = edges.row[link], edges.col[link]
    matrix = sparse.csr_matrix((np.ones(2 * len(rows)), (np.r_[rows, cols], np.r_[cols, rows])),
                               shape=(n, n))
    matrix.data[:] = 1.0
    return matrix


def _check(adjacency: sparse.csr_matrix, loads: np.ndarray, k: int) -> None:
    n = len(loads)
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if k > n:
        raise ValueError(f"{k} beats from {n} units: a beat needs at least one unit")
    if np.isnan(loads).any():
        raise ValueError(f"loads must be numbers; units {_some(np.flatnonzero(np.isnan(loads)))} "
                         "have none")
    if (loads < 0).any():
        raise ValueError(f"loads must not be negative: units {_some(np.flatnonzero(loads < 0))}")
    if loads.sum() == 0:
        raise ValueError("every load is zero: there is nothing to balance")
    pieces, piece = connected_components(adjacency, directed=False)
    if pieces > 1:
        islands = np.flatnonzero(piece != np.argmax(np.bincount(piece)))
        raise ValueError(f"the units are in {pieces} pieces: units {_some(islands)} are not joined "
                         "to the rest by the neighbour graph; add the links that join them (a "
                         "bridge, a ferry) or plan the pieces apart")


def _some(positions: np.ndarray, shown: int = 10) -> str:
    listed = ", ".join(str(p) for p in positions[:shown])
    return f"[{listed}{', ...' if len(positions) > shown else ''}] ({len(positions)})"


def _power_cells(xy: np.ndarray, loads: np.ndarray, areas: np.ndarray, k: int,
                 rng: np.random.Generator) -> np.ndarray:
    """A fresh start: k cells of a power diagram of about equal load, about their centres.

    Lloyd's k-means (units weighed by area, seeded as k-means++) in which a unit goes to the
    centre of least squared distance less the centre's shift, and the shifts grow for light
    cells and shrink for heavy ones until the loads even out: the cells are convex, so compact,
    and mostly in one piece on the graph (``_whole`` mends the rest). After Cohen-Addad, Klein
    and Young, balanced centroidal power diagrams for redistricting (2018).
    """
    n = len(loads)
    picked = [rng.choice(n, p=areas / areas.sum())]
    nearest = np.full(n, np.inf)
    for _ in range(k - 1):
        nearest = np.minimum(nearest, ((xy - xy[picked[-1]]) ** 2).sum(axis=1))
        odds = nearest * areas
        # Units on top of each other leave no odds: any unit not yet a centre will do.
        picked.append(rng.choice(n, p=odds / odds.sum()) if odds.sum() > 0
                      else int(np.setdiff1d(np.arange(n), picked)[0]))
    centres = xy[picked].astype(float)
    shift = np.zeros(k)
    mean = loads.sum() / k
    reach = areas.sum() / k / np.pi  # the squared radius of a disc of the mean beat's area
    for _ in range(POWER_ROUNDS):
        for _ in range(POWER_STEPS):
            labels = (((xy[:, None, :] - centres[None]) ** 2).sum(axis=2) - shift).argmin(axis=1)
            shift += 0.5 * reach * (1 - np.bincount(labels, weights=loads, minlength=k) / mean)
        mass = np.bincount(labels, weights=areas, minlength=k)
        held = mass > 0
        centres[held, 0] = np.bincount(labels, weights=areas * xy[:, 0], minlength=k)[held] / mass[held]
        centres[held, 1] = np.bincount(labels, weights=areas * xy[:, 1], minlength=k)[held] / mass[held]
    return labels.astype(np.int64)


def _codes(start: np.ndarray | pd.Series, n: int) -> np.ndarray:
    """Current beats as 0..m-1 (sorted labels), -1 for a unit in none."""
    start = np.asarray(start, dtype=object)
    if start.shape != (n,):
        raise ValueError(f"start must give one beat for each of the {n} units")
    codes, _ = pd.factorize(start, sort=True)
    return codes.astype(np.int64)


def _whole(adjacency: sparse.csr_matrix, loads: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Every beat in one piece: its heaviest piece stays, other pieces and units in no beat join
    the lightest beat they touch. A start with no beat at all becomes one beat; beats with no
    unit are dropped."""
    if (codes < 0).all():
        return np.zeros(len(codes), dtype=np.int64)
    codes = np.where(codes >= 0, np.unique(codes, return_inverse=True)[1] - (codes < 0).any(), -1)
    edges = adjacency.tocoo()
    same = (codes[edges.row] == codes[edges.col]) & (codes[edges.row] >= 0)
    inner = sparse.csr_matrix((np.ones(same.sum()), (edges.row[same], edges.col[same])),
                              shape=adjacency.shape)
    _, piece = connected_components(inner, directed=False)
    frame = pd.DataFrame({"code": codes, "piece": piece, "load": loads, "units": 1})[codes >= 0]
    pieces = frame.groupby(["code", "piece"], as_index=False).sum()
    kept = pieces.sort_values(["load", "units", "piece"], ascending=[False, False, True],
                              kind="stable").drop_duplicates("code")["piece"]
    # Each beat keeps one piece, so the labels stay 0..m-1.
    labels = np.where(np.isin(piece, kept.to_numpy()), codes, -1)
    region_load = np.bincount(labels[labels >= 0], weights=loads[labels >= 0])
    while (labels < 0).any():
        for u in np.flatnonzero(labels < 0):
            near = labels[adjacency.indices[adjacency.indptr[u]:adjacency.indptr[u + 1]]]
            near = near[near >= 0]
            if len(near):
                labels[u] = near[np.argmin(region_load[near])]
                region_load[labels[u]] += loads[u]
    return labels.astype(np.int64)


def _merge_to(adjacency: sparse.csr_matrix, loads: np.ndarray, labels: np.ndarray, k: int
              ) -> np.ndarray:
    """Fewer beats, down to k: the lightest joins its lightest neighbour (two touching pieces
    make one piece)."""
    labels = labels.copy()
    while labels.max() + 1 > k:
        region_load = np.bincount(labels, weights=loads)
        lightest = int(np.argmin(region_load))
        inside = np.flatnonzero(labels == lightest)
        near = np.unique(labels[adjacency[inside].indices])
        near = near[near != lightest]
        labels[inside] = near[np.argmin(region_load[near])]
        labels[labels > lightest] -= 1
    return labels


def _split_to(adjacency: sparse.csr_matrix, loads: np.ndarray, labels: np.ndarray, k: int,
              rng: np.random.Generator) -> np.ndarray:
    """More beats, up to k: the extra beats go to the heaviest (D'Hondt: the highest load per
    part next, never more parts than units), and each is cut by spanning trees."""
    labels = labels.copy()
    regions = labels.max() + 1
    region_load = np.bincount(labels, weights=loads)
    units = np.bincount(labels)
    parts = np.ones(regions, dtype=np.int64)
    for _ in range(k - regions):
        parts[np.argmax(np.where(parts < units, region_load / parts, -np.inf))] += 1
    for region in np.flatnonzero(parts > 1):
        pieces = _cut(adjacency, loads, np.flatnonzero(labels == region), int(parts[region]), rng)
        for piece in pieces[1:]:
            labels[piece] = regions
            regions += 1
    return labels


def _cut(adjacency: sparse.csr_matrix, loads: np.ndarray, nodes: np.ndarray, parts: int,
         rng: np.random.Generator) -> list[np.ndarray]:
    """``nodes`` (connected) as ``parts`` connected pieces of about equal load."""
    if parts == 1:
        return [nodes]
    side, side_parts = _tree_cut(adjacency[nodes][:, nodes], loads[nodes], parts, rng)
    return (_cut(adjacency, loads, nodes[side], side_parts, rng)
            + _cut(adjacency, loads, nodes[~side], parts - side_parts, rng))


def _tree_cut(adjacency: sparse.csr_matrix, loads: np.ndarray, parts: int,
              rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One side of the best edge cut of random spanning trees, and how many of ``parts`` it is
    to hold: the side's load closest to a whole number of parts' shares, each side with at least
    as many units as parts; among cuts within tolerance the most even in parts (fewer levels)."""
    n = len(loads)
    total = loads.sum()
    upper = sparse.triu(adjacency, k=1).tocoo()
    best = (np.inf, None, 0)
    for _ in range(CUT_TRIES):
        random = sparse.csr_matrix((rng.uniform(1.0, 2.0, upper.nnz), (upper.row, upper.col)),
                                   shape=(n, n))
        order, parent = breadth_first_order(minimum_spanning_tree(random), 0, directed=False)
        below, count = _subtree_sums(order, parent, loads)
        below, count, tops = below[order[1:]], count[order[1:]], order[1:]
        # In parts: a subtree of share s holds round(s) parts, bounded by its units and the rest's.
        share = below / total * parts if total > 0 else count / n * parts
        side_parts = np.clip(np.rint(share), np.maximum(1, parts - (n - count)),
                             np.minimum(count, parts - 1))
        error = np.abs(share - side_parts)
        close = error <= CUT_TOLERANCE
        if close.any():
            pick = np.flatnonzero(close)[np.argmin(np.abs(side_parts[close] - parts / 2))]
            return _subtree(order, parent, tops[pick], n), int(side_parts[pick])
        pick = int(np.argmin(error))
        if error[pick] < best[0]:
            best = (error[pick], _subtree(order, parent, tops[pick], n), int(side_parts[pick]))
    return best[1], best[2]


def _subtree(order: np.ndarray, parent: np.ndarray, top: int, n: int) -> np.ndarray:
    """Which nodes lie in the subtree under ``top`` (the order is breadth first: parents first)."""
    inside = np.zeros(n, dtype=bool)
    inside[top] = True
    for v in order[np.flatnonzero(order == top)[0] + 1:]:
        inside[v] = inside[parent[v]]
    return inside


@numba.njit(cache=True)
def _subtree_sums(order, parent, values):
    below = values.copy()
    count = np.ones(len(values))
    for i in range(len(order) - 1, 0, -1):
        v = order[i]
        below[parent[v]] += below[v]
        count[parent[v]] += count[v]
    return below, count


def _ratio(labels: np.ndarray, loads: np.ndarray, k: int) -> float:
    region_load = np.bincount(labels, weights=loads, minlength=k)
    lightest = region_load.min()
    with np.errstate(over="ignore"):  # a beat next to nothing is as bad as an empty one
        return float(region_load.max() / lightest) if lightest > 0 else float("inf")


@numba.njit(cache=True)
def _spread(w, sx, sy, sq):
    """A beat's moment of inertia about its centre against a disc's of its area (w^2 / 2 pi)."""
    return 2 * np.pi * (sq - (sx * sx + sy * sy) / w) / (w * w)


@numba.njit(cache=True)
def _improve(indptr, indices, loads, areas, x, y, own, labels, k, order, compactness, ceiling,
             target, max_sweeps):
    """Move boundary units (in ``order``, sweep after sweep) to the neighbouring beat that lowers
    the objective most, in place, until a sweep moves none."""
    n = len(labels)
    load = np.zeros(k)
    w = np.zeros(k)
    sx = np.zeros(k)
    sy = np.zeros(k)
    sq = np.zeros(k)
    count = np.zeros(k, np.int64)
    for u in range(n):
        r = labels[u]
        load[r] += loads[u]
        w[r] += areas[u]
        sx[r] += areas[u] * x[u]
        sy[r] += areas[u] * y[u]
        sq[r] += own[u]
        count[r] += 1
    spread = np.zeros(k)
    for r in range(k):
        spread[r] = _spread(w[r], sx[r], sy[r], sq[r])
    mean = load.sum() / k
    scale = 1.0 / (mean * mean)
    seen = np.zeros(n, np.int64)
    near = np.zeros(n, np.int64)
    queue = np.empty(n, np.int64)
    visit = 0
    for _ in range(max_sweeps):
        moved = 0
        for u in order:
            a = labels[u]
            if count[a] == 1:
                continue
            m, mx, my, mq = areas[u], areas[u] * x[u], areas[u] * y[u], own[u]
            la = load[a] - loads[u]
            sa = _spread(w[a] - m, sx[a] - mx, sy[a] - my, sq[a] - mq)
            best, to, best_ratio = -1e-12, -1, 0.0
            for p in range(indptr[u], indptr[u + 1]):
                b = labels[indices[p]]
                if b == a:
                    continue
                lb = load[b] + loads[u]
                sb = _spread(w[b] + m, sx[b] + mx, sy[b] + my, sq[b] + mq)
                change = (scale * ((la - mean) ** 2 + (lb - mean) ** 2 - (load[a] - mean) ** 2
                                   - (load[b] - mean) ** 2)
                          + compactness * (sa + sb - spread[a] - spread[b]))
                if change < best:
                    heaviest, lightest = max(la, lb), min(la, lb)
                    for r in range(k):
                        if r != a and r != b:
                            heaviest = max(heaviest, load[r])
                            lightest = min(lightest, load[r])
                    ratio = heaviest / lightest if lightest > 0 else np.inf
                    if ratio <= ceiling * (1 + 1e-9):
                        best, to, best_ratio = change, b, ratio
            if to < 0:
                continue
            visit += 1
            if not _stays_whole(u, a, labels, indptr, indices, seen, near, queue, visit):
                continue
            labels[u] = to
            load[a], load[to] = la, load[to] + loads[u]
            w[a] -= m
            sx[a] -= mx
            sy[a] -= my
            sq[a] -= mq
            w[to] += m
            sx[to] += mx
            sy[to] += my
            sq[to] += mq
            count[a] -= 1
            count[to] += 1
            spread[a] = _spread(w[a], sx[a], sy[a], sq[a])
            spread[to] = _spread(w[to], sx[to], sy[to], sq[to])
            ceiling = min(ceiling, max(target, best_ratio))
            moved += 1
        if moved == 0:
            break


@numba.njit(cache=True)
def _stays_whole(u, a, labels, indptr, indices, seen, near, queue, visit):
    """Whether beat ``a`` without unit ``u`` is still one piece: a search from one of u's
    neighbours in ``a``, not through u, reaches all the others (it is enough: the rest of the
    beat was joined, and only through u could it come apart)."""
    wanted = 0
    first = -1
    for p in range(indptr[u], indptr[u + 1]):
        v = indices[p]
        if labels[v] == a:
            near[v] = visit
            wanted += 1
            first = v
    if wanted <= 1:
        return True
    seen[u] = visit
    seen[first] = visit
    queue[0] = first
    head, tail, found = 0, 1, 1
    while head < tail:
        v = queue[head]
        head += 1
        for p in range(indptr[v], indptr[v + 1]):
            t = indices[p]
            if labels[t] == a and seen[t] != visit:
                seen[t] = visit
                queue[tail] = t
                tail += 1
                if near[t] == visit:
                    found += 1
                    if found == wanted:
                        return True
    return False
