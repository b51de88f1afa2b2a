"""Where to put k new cameras or access-control gates: the sites that cover the most risk-weighted
demand not yet covered (a maximal covering location problem with existing facilities).

Pure: demand and candidate sites in, the chosen sites with the weight each adds out. What a
new camera would guard (the demand) is defined here too, once, for the plan of one place
(``api/siting.py``) and for the city cut into tiles (``beatbook/city_siting.py``).

The problem is kept sparse from the start. Only (site, demand point) pairs within reach are
made, demand the existing cameras already see is dropped (a new site adds nothing there), and
demand points that the very same sites reach are merged into one group with their weights
summed: the model only ever needs to know which sites reach a group, not where its points are.
It is solved exactly by HiGHS (``scipy.optimize.milp``), with a lazy greedy choice as the
comparison, the fallback and a second upper bound.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geo.cameras import pairs_in_view, seen_by_any
from geo.entrance_audit import RiskWeights, entrance_audit

BURGLARY_RADIUS_M = 100.0  # burglaries this near an entrance add to its audit risk
CAMERA_COLUMNS = ("x", "y", "direction_deg", "fov_deg", "range_m")
# What a new camera could guard, in the order demand is listed: a burglary is demand twice,
# once as an incident and once more for being a burglary.
KINDS = ("entrance", "incident", "burglary")


@dataclass(frozen=True)
class DemandWeights:
    """What each thing a new camera or gate could guard weighs."""

    entrance: float = 1.0  # an unmanaged or ungated entrance, times (1 + its audit risk)
    incident: float = 1.0  # an incident of the period
    burglary: float = 2.0  # added to a burglary's weight as an incident

    def describe(self) -> str:
        risk = RiskWeights()
        return (f"{self.entrance:g} x (1 + audit risk) per unmanaged or ungated entrance, the audit risk being "
                f"{risk.households:g} x households behind it + {risk.living_alone:g} x residents living alone "
                f"+ {risk.burglaries:g} x burglaries within {BURGLARY_RADIUS_M:g} m in the period; "
                f"{self.incident:g} per incident, {self.incident + self.burglary:g} per burglary")


@dataclass(frozen=True)
class Coverage:
    """Which candidate sites would newly cover which demand; demand the same sites reach is merged.

    ``sites`` is a (groups x candidates) boolean matrix; ``group`` gives each demand point's
    group, or -1 if it is already covered or out of every candidate's reach. Weights of all
    demand points, reachable or not, count in ``total_weight``, so that shares are of all demand.
    """

    sites: sparse.csr_array
    weight: np.ndarray  # of each group
    group: np.ndarray  # of each demand point
    total_weight: float
    already_covered: float  # weight covered before any new site

    @property
    def n_candidates(self) -> int:
        return self.sites.shape[1]

    def newly_covered(self, chosen) -> np.ndarray:
        """For each demand point: whether a ``chosen`` candidate covers it and none did before."""
        chosen = np.asarray(chosen, dtype=np.int64)
        reached = _covered(self.sites.T.tocsr(), chosen, len(self.weight))
        newly = np.zeros(len(self.group), dtype=bool)
        open_ = self.group >= 0
        newly[open_] = reached[self.group[open_]]
        return newly


@dataclass(frozen=True)
class Siting:
    """Chosen candidate sites, each with the weight it adds, and how close to the best that is.

    ``sites`` are candidate positions ordered greedily within the chosen set: first the one
    that covers the most weight, then the one that adds the most to that, and so on; ``gains``
    are those additions, so they never increase and sum to the newly covered weight. A site
    that would add nothing is left out, so fewer than k may be listed. ``bound`` is an upper
    bound on the weight any k sites could newly cover.
    """

    sites: np.ndarray
    gains: np.ndarray
    total_weight: float
    already_covered: float
    bound: float
    status: str  # "optimal" (within the solver's gap), "time limit" or "greedy"

    @property
    def newly_covered(self) -> float:
        return float(self.gains.sum())

    @property
    def covered_share(self) -> float:
        """Of all demand weight: what the existing and the chosen sites cover together."""
        return _share(self.already_covered + self.newly_covered, self.total_weight)

    @property
    def already_share(self) -> float:
        return _share(self.already_covered, self.total_weight)

    @property
    def newly_share(self) -> float:
        return _share(self.newly_covered, self.total_weight)

    @property
    def gap(self) -> float:
        """How far below the bound the newly covered weight is, as a share of the bound."""
        return (self.bound - self.newly_covered) / self.bound if self.bound > 0 else 0.0


def coverage_from_pairs(site, point, weight, already_covered, *, n_candidates: int) -> Coverage:
    """The coverage of (candidate ``site[i]`` covers demand ``point[i]``) pairs.

    ``weight`` and ``already_covered`` are per demand point. The pairs may come from anywhere,
    e.g. a PostGIS ``ST_DWithin`` join; repeated pairs count once.
    """
    weight = np.asarray(weight, dtype=float)
    already_covered = np.asarray(already_covered, dtype=bool)
    site, point = np.asarray(site, dtype=np.int64), np.asarray(point, dtype=np.int64)
    if weight.shape != already_covered.shape or site.shape != point.shape:
        raise ValueError("weight and already_covered, and site and point, must have equal lengths")
    if not np.isfinite(weight).all() or (weight < 0).any():
        raise ValueError("demand weights must be finite and not negative")
    if len(site) and (site.min() < 0 or site.max() >= n_candidates
                      or point.min() < 0 or point.max() >= len(weight)):
        raise ValueError("a pair names a candidate or demand point that does not exist")

    open_ = ~already_covered[point]
    site, point = site[open_], point[open_]
    order = np.lexsort((site, point))
    site, point = site[order], point[order]
    new = (np.diff(point, prepend=-1) != 0) | (np.diff(site, prepend=-1) != 0)
    site, point = site[new], point[new]

    reached, starts = np.unique(point, return_index=True)
    reach = np.split(site, starts[1:]) if len(site) else []
    keys: dict[bytes, int] = {}
    group_of_reached = np.array([keys.setdefault(s.tobytes(), len(keys)) for s in reach],
                                dtype=np.int64)
    group = np.full(len(weight), -1, dtype=np.int64)
    group[reached] = group_of_reached

    # Groups are numbered in order of first appearance, so this is each group's first member.
    first = np.unique(group_of_reached, return_index=True)[1]
    members = [reach[i] for i in first]
    indptr = np.r_[0, np.cumsum([len(m) for m in members], dtype=np.int64)]
    indices = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
    sites = sparse.csr_array((np.ones(len(indices), dtype=bool), indices, indptr),
                             shape=(len(members), n_candidates))
    return Coverage(sites=sites,
                    weight=np.bincount(group_of_reached, weights=weight[reached],
                                       minlength=len(members)),
                    group=group,
                    total_weight=float(weight.sum()),
                    already_covered=float(weight[already_covered].sum()))


def camera_coverage(demand: pd.DataFrame, candidates: pd.DataFrame, *, range_m) -> Coverage:
    """Which candidate camera sites would see which demand.

    ``demand``: x, y, weight, already_covered (by existing cameras: ``geo.cameras.seen_by_any``);
    ``candidates``: x, y and, optionally, direction_deg and fov_deg (NaN direction or a 360
    degree field of view sees all round; a missing column means all round). ``range_m`` is one
    range for all candidates or one per candidate. All coordinates in one metric CRS.
    """
    cx, cy = candidates["x"].to_numpy(dtype=float), candidates["y"].to_numpy(dtype=float)
    n = len(cx)
    range_m = np.broadcast_to(np.asarray(range_m, dtype=float), (n,))
    if not (np.isfinite(range_m) & (range_m > 0)).all():
        raise ValueError("range_m must be positive")
    point, site = pairs_in_view(demand["x"], demand["y"], cx, cy, _column(candidates, "direction_deg", np.nan),
                                _column(candidates, "fov_deg", 360.0), range_m)
    return coverage_from_pairs(site, point, demand["weight"], demand["already_covered"],
                               n_candidates=n)


def points_along(lines, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidate sites every ``spacing_m`` along lines (streets, in a metric CRS), both ends
    included; a point where lines meet is one candidate, not one per line."""
    if not spacing_m > 0:
        raise ValueError(f"spacing_m must be positive, not {spacing_m}")
    lines = np.asarray(lines, dtype=object)
    steps = np.maximum(1, np.ceil(shapely.length(lines) / spacing_m).astype(np.int64))
    which = np.repeat(np.arange(len(lines)), steps + 1)
    share = np.concatenate([np.linspace(0, 1, n + 1) for n in steps]) if len(lines) else np.zeros(0)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(lines[which], share, normalized=True))
    # A centimetre grid merges the shared ends of touching lines.
    xy = np.unique(np.round(xy, 2), axis=0)
    return xy[:, 0], xy[:, 1]


def all_round(x, y) -> pd.DataFrame:
    """Candidate sites at these points that see all round: sites of our own making have no
    direction to point in."""
    return pd.DataFrame({"x": x, "y": y, "direction_deg": np.nan, "fov_deg": 360.0})


def street_sites(lines, spacing_m: float) -> pd.DataFrame:
    """Candidate sites every ``spacing_m`` along streets (``points_along``), seeing all round."""
    return all_round(*points_along(lines, spacing_m))


def unguarded_entrances(entrances: pd.DataFrame, cameras: pd.DataFrame, burglaries: pd.DataFrame) -> pd.DataFrame:
    """The entrances the audit (``geo.entrance_audit``) lists as unmanaged or ungated, with their
    risk and reasons; ``burglaries`` (x, y) are those of the period near them."""
    listed = entrance_audit(entrances, cameras, burglaries, np.zeros(len(entrances), dtype=int),
                            burglary_radius_m=BURGLARY_RADIUS_M)
    return listed[listed["reasons"].map(lambda rs: "unmanaged" in rs or "no_access_control" in rs).to_numpy(bool)]


def entrance_demand(doors: pd.DataFrame, weights: DemandWeights) -> pd.DataFrame:
    """Unguarded entrances (``unguarded_entrances``) as demand: 1 + risk each, weighted, already
    covered when a camera sees them."""
    return _demand(np.repeat(["entrance"], len(doors)), doors["id"].to_numpy(dtype=np.int64),
                   doors["x"].to_numpy(dtype=float), doors["y"].to_numpy(dtype=float),
                   weights.entrance * (1 + doors["risk"].to_numpy(dtype=float)),
                   ~doors["reasons"].map(lambda rs: "no_camera" in rs).to_numpy(dtype=bool))


def incident_demand(incidents, burglaries, cameras: pd.DataFrame, weights: DemandWeights) -> pd.DataFrame:
    """The incidents of the period and, once more, the burglaries among them (each with x and y
    arrays: ``db.incidents.Incidents``, a frame), already covered when one of the ``cameras``
    (``CAMERA_COLUMNS``) sees them. Incidents are known by their position alone (id -1): those at
    one place weigh alike and are seen alike, so which is which never matters."""
    n, m = len(incidents.x), len(burglaries.x)
    x = np.r_[np.asarray(incidents.x, dtype=float), np.asarray(burglaries.x, dtype=float)]
    y = np.r_[np.asarray(incidents.y, dtype=float), np.asarray(burglaries.y, dtype=float)]
    return _demand(np.repeat(["incident", "burglary"], [n, m]), np.full(n + m, -1, dtype=np.int64), x, y,
                   np.r_[np.full(n, weights.incident), np.full(m, weights.burglary)],
                   seen_by_any(x, y, *(cameras[c].to_numpy(dtype=float) for c in CAMERA_COLUMNS)))


def camera_demand(doors: pd.DataFrame, incidents, burglaries, cameras: pd.DataFrame,
                  weights: DemandWeights) -> pd.DataFrame:
    """Everything a new camera could guard, in canonical order (``canonical_order``): kind, id,
    x, y, weight and already_covered of the unguarded entrances ``doors`` and of the incidents
    and burglaries of the period (``incident_demand``)."""
    demand = pd.concat([entrance_demand(doors, weights), incident_demand(incidents, burglaries, cameras, weights)],
                       ignore_index=True)
    return demand.iloc[canonical_order(demand)].reset_index(drop=True)


def canonical_order(demand: pd.DataFrame) -> np.ndarray:
    """The order demand is listed in, whoever gathered it and how: entrances by id, then
    incidents and then burglaries by position.

    The order matters beyond looks: demand reached by the same sites is summed in this order,
    so sums, gains and the ties between equal gains come out the same only in the same order.
    """
    return np.lexsort((demand["y"].to_numpy(), demand["x"].to_numpy(),
                       demand["kind"].cat.codes.to_numpy()))


def _demand(kind, ids, x, y, weight, already_covered) -> pd.DataFrame:
    return pd.DataFrame({"kind": pd.Categorical(kind, categories=KINDS, ordered=True), "id": ids, "x": x, "y": y,
                         "weight": weight, "already_covered": already_covered})


def gate_coverage(buildings: pd.DataFrame) -> Coverage:
    """A gate at a building's entrance covers that building's demand, and nothing else.

    ``buildings``: weight (e.g. its unmanaged entrances, households or incidents, weighted) and
    access_control (already gated, so already covered). Candidates are the buildings.
    """
    n = len(buildings)
    return coverage_from_pairs(np.arange(n), np.arange(n), buildings["weight"],
                               buildings["access_control"], n_candidates=n)


def greedy_sites(coverage: Coverage, k: int) -> Siting:
    """Up to ``k`` sites taken one at a time, each the one adding the most weight (lazy greedy).

    Its bound: coverage is submodular, so no k sites can add more than what greedy covered
    plus the k largest gains still on offer after it.
    """
    _check_k(k)
    by_site = coverage.sites.T.tocsr()
    sites, gains = _take_greedily(by_site, coverage.weight, k)
    left = by_site @ np.where(_covered(by_site, sites, len(coverage.weight)), 0.0, coverage.weight)
    on_offer = np.sort(left)[::-1][:k].sum()
    return Siting(sites=sites, gains=gains, total_weight=coverage.total_weight,
                  already_covered=coverage.already_covered, bound=float(gains.sum() + on_offer),
                  status="greedy")


def choose_sites(coverage: Coverage, k: int, *, time_limit_s: float = 10.0,
                 mip_rel_gap: float = 1e-4) -> Siting:
    """The ``k`` sites that newly cover the most weight, by mixed-integer programming.

    Maximise the sum of w_g y_g over demand groups subject to y_g <= sum of x_j over the sites
    j reaching g, sum of x_j <= k, x binary and y in [0, 1] (integral at the optimum). HiGHS
    stops within ``mip_rel_gap`` of its bound or after ``time_limit_s`` with the best set it
    found; if greedy found better, greedy's set is returned. The bound is the smaller of the two.
    HiGHS checks its time limit only between presolve passes, so on a very large model (some
    hundred thousand site-group pairs) it can run over.
    """
    greedy = greedy_sites(coverage, k)
    if greedy.gap == 0:
        return replace(greedy, status="optimal")
    chosen, bound, solved = _solve_exactly(_without_dominated_sites(coverage), k,
                                           time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    best = greedy
    if chosen is not None:
        sites, gains = _take_greedily(coverage.sites.T.tocsr(), coverage.weight, len(chosen),
                                      among=chosen)
        if gains.sum() > greedy.newly_covered:
            best = replace(greedy, sites=sites, gains=gains)
    return replace(best, bound=max(min(bound, greedy.bound), best.newly_covered),
                   status="optimal" if solved else "time limit")


def what_each_adds(coverage: Coverage, sites) -> Iterator[np.ndarray]:
    """For each of the ``sites`` in turn: which demand points it covers that neither the
    existing cameras nor the sites before it do."""
    before = np.zeros(len(coverage.group), dtype=bool)
    for rank in range(1, len(sites) + 1):
        covered = coverage.newly_covered(sites[:rank])
        yield covered & ~before
        before = covered


def chosen_sites(result: Siting, candidates: pd.DataFrame, demand: pd.DataFrame, coverage: Coverage) -> pd.DataFrame:
    """The chosen camera sites in order (rank from 1): where (x, y, direction_deg, fov_deg), the
    weight each adds and its share of all demand, and how many entrances and incidents it adds
    (a burglary counts once, as an incident)."""
    sites = candidates.iloc[result.sites]
    kinds = demand["kind"].to_numpy()
    added = list(what_each_adds(coverage, result.sites))
    return pd.DataFrame({"rank": np.arange(1, len(sites) + 1), "x": sites["x"].to_numpy(dtype=float),
                         "y": sites["y"].to_numpy(dtype=float),
                         "direction_deg": sites["direction_deg"].to_numpy(dtype=float),
                         "fov_deg": sites["fov_deg"].to_numpy(dtype=float), "gain": result.gains,
                         "gain_share": result.gains / result.total_weight,
                         "entrances": np.array([(kinds[a] == "entrance").sum() for a in added], dtype=np.int64),
                         "incidents": np.array([(kinds[a] == "incident").sum() for a in added], dtype=np.int64)})


def _without_dominated_sites(coverage: Coverage) -> Coverage:
    """The coverage without sites that reach only groups some other site reaches too.

    Such a site can always be swapped for the other without losing weight, so an optimum
    exists among the rest (of sites reaching the very same groups, the first is kept). Groups
    reached by the same remaining sites are merged again. On clustered demand this drops about
    a third of the sites and more than half of the model's nonzeros, and HiGHS's presolve, slow
    on large covering models, gains most from it.
    """
    by_site = coverage.sites.T.astype(np.int32).tocsr()
    size = np.diff(by_site.indptr)
    overlap = (by_site @ by_site.T).tocoo()
    a, b = overlap.row, overlap.col
    inside = (overlap.data == size[a]) & (a != b) & ((size[b] > size[a]) | (b < a))
    keep = np.ones(len(size), dtype=bool)
    keep[a[inside]] = False
    pairs = coverage.sites.tocoo()
    kept = keep[pairs.col]
    return coverage_from_pairs(pairs.col[kept], pairs.row[kept], coverage.weight,
                               np.zeros(len(coverage.weight), dtype=bool),
                               n_candidates=coverage.n_candidates)


def _solve_exactly(model: Coverage, k: int, *, time_limit_s: float,
                   mip_rel_gap: float) -> tuple[np.ndarray | None, float, bool]:
    """HiGHS's best set of sites (None if it found none), its bound, and whether it proved it.

    A group that a single site reaches needs no y: its weight goes straight onto that site's x.
    """
    cover = model.sites
    useful = np.flatnonzero(np.diff(cover.tocsc().indptr))
    cover = cover[:, useful].tocsr()
    scale = model.weight.max()  # HiGHS finds costs far below 1 too small
    weight = model.weight / scale
    single = np.diff(cover.indptr) == 1
    on_site = np.bincount(cover.indices[cover.indptr[:-1][single]], weights=weight[single],
                          minlength=len(useful))
    shared = cover[~single]
    n_x, n_y = len(useful), shared.shape[0]
    rows = sparse.vstack([sparse.hstack([-shared.astype(float), sparse.eye_array(n_y)]),
                          sparse.hstack([np.ones((1, n_x)), sparse.csr_array((1, n_y))])]).tocsr()
    res = milp(-np.r_[on_site, weight[~single]],
               integrality=np.r_[np.ones(n_x), np.zeros(n_y)],
               bounds=Bounds(0, 1),
               constraints=LinearConstraint(rows, -np.inf, np.r_[np.zeros(n_y), k]),
               options={"time_limit": time_limit_s, "mip_rel_gap": mip_rel_gap})
    if res.status not in (0, 1):
        raise RuntimeError(f"the siting model could not be solved: {res.message}")
    chosen = None if res.x is None else useful[res.x[:n_x] > 0.5]
    bound = np.inf if res.mip_dual_bound is None else -res.mip_dual_bound * scale
    return chosen, bound, res.status == 0


def _take_greedily(by_site: sparse.csr_array, weight: np.ndarray, k: int,
                   among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Up to k sites (of ``among``, else all), each adding the most weight; ties to the lower index.

    Lazy: a site's gain only shrinks as others are taken, so a stale gain is an upper bound and
    a site whose fresh gain still tops every stale one is the best.
    """
    gain = by_site @ weight
    candidates = np.arange(by_site.shape[0]) if among is None else np.asarray(among)
    heap = [(-gain[j], j) for j in candidates if gain[j] > 0]
    heapq.heapify(heap)
    covered = np.zeros(len(weight), dtype=bool)
    sites, gains = [], []
    while heap and len(sites) < k:
        _, j = heapq.heappop(heap)
        reach = by_site.indices[by_site.indptr[j]:by_site.indptr[j + 1]]
        fresh = weight[reach[~covered[reach]]].sum()
        if fresh <= 0:
            continue
        if heap and (-fresh, j) > heap[0]:
            heapq.heappush(heap, (-fresh, j))
            continue
        covered[reach] = True
        sites.append(j)
        gains.append(fresh)
    return np.array(sites, dtype=np.int64), np.array(gains, dtype=float)


def _covered(by_site: sparse.csr_array, sites: np.ndarray, n_groups: int) -> np.ndarray:
    covered = np.zeros(n_groups, dtype=bool)
    covered[by_site[sites].indices] = True
    return covered


def _column(frame: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), default)
    return frame[name].to_numpy(dtype=float)


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")


def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else 0.0
