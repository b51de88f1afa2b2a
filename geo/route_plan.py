"""Tonight's patrol route: the most value a patrol can collect within a time budget.

An orienteering problem (prize-collecting routing under a hard time limit): from a start to an
end, visit some of the targets in some order, staying at each for its service time, so that the
visited targets' values add up to the most while the whole route fits the budget. OR-Tools'
routing solver searches, warm-started from a greedy route; a linear relaxation with subtour cuts
bounds the best value from above, so every plan says at most how far from the best it can be.

Pure: a travel-time matrix in seconds between the nodes [start, end, target_0 .. target_n-1]
(pgRouting's cost matrix for the mode, foot or car), the targets' values and service times in, a
plan out. Row i is from where node i is left and column j to where node j is begun, so the matrix
need not be symmetric and a street part walked end to end is one target whose service time is the
walk. Unreachable pairs are inf, or any time longer than the budget. Start and end may be the
same place: two rows of the matrix all the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2
from scipy.optimize import linprog
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

START, END = 0, 1  # the first two nodes of the matrix; target i is node i + 2
COST_UNITS = 1000  # search cost units a second, so that penalties are priced to a millisecond
VALUE_LEVELS = 10**4  # in the polish, a ten-thousandth of the largest value outweighs any time
LP_TOLERANCE = 1e-6  # relative: the bound is raised by this, and a route this close meets it

Greedy = Literal["value_per_second", "nearest"]


@dataclass(frozen=True)
class Stop:
    """A target on the route: when the patrol gets there and leaves, in seconds from the start."""

    target: int
    arrival_s: float
    departure_s: float


@dataclass(frozen=True)
class RoutePlan:
    """A route from start to end through ``stops``, and how good it is.

    ``share`` is of the value of all the targets, reachable or not: the share of tonight's gaps
    the route covers. ``bound`` is at least the value of the best route, so the best route is at
    most ``optimality_gap`` better than this one; ``greedy_value`` is what the greedy warm start
    collected. A greedy route has neither (None).
    """

    stops: tuple[Stop, ...]
    total_s: float
    budget_s: float
    value: float
    share: float
    solver: str
    bound: float | None = None
    greedy_value: float | None = None

    @property
    def order(self) -> list[int]:
        return [stop.target for stop in self.stops]

    @property
    def optimality_gap(self) -> float | None:
        """(bound - value) / bound: 0 when the route is provably the best."""
        if self.bound is None:
            return None
        return max(0.0, (self.bound - self.value) / self.bound) if self.bound > 0 else 0.0


@dataclass(frozen=True)
class _Problem:
    travel: np.ndarray  # seconds between nodes, inf where unreachable
    values: np.ndarray  # per target
    service: np.ndarray  # seconds per target
    budget: float


@dataclass(frozen=True)
class _WholeSeconds:
    """The problem as the solvers see it: times rounded up to whole seconds, hopeless targets gone.

    Rounding up means a route that fits here fits in the exact times too; what it costs is up to a
    second a leg. Nodes are [start, end, kept targets]; ``service`` is 0 at start and end.
    """

    travel: np.ndarray
    service: np.ndarray
    values: np.ndarray
    targets: np.ndarray  # the target index of each node from 2 on
    budget: int


def plan_route(travel_s, values, service_s, *, budget_s: float, time_limit_s: float = 2.0,
               bound_time_s: float = 1.0) -> RoutePlan:
    """The route collecting the most value within ``budget_s`` that OR-Tools finds in
    ``time_limit_s``, and an upper bound on the best route's value, sought for ``bound_time_s``.

    One vehicle from start to end, a time dimension of capacity the budget whose transit is the
    travel plus the service at the node left, and every target optional at a penalty of its value;
    guided local search from the greedy value-per-second route, so never worse than that. Half
    the time limit explores with value priced at the greedy route's own seconds per unit of value:
    time and value then weigh alike, so the search can give up a target for a while to reach
    better ones. The other half polishes the best route found with value weighing more than any
    time (see ``_search``). Of two routes of equal value the shorter wins. When the greedy route
    already reaches the bound it is the best, and the search is skipped.
    """
    problem = _problem(travel_s, values, service_s, budget_s)
    bound = _lp_bound(problem, bound_time_s)
    seconds = _whole_seconds(problem)
    greedy = _greedy(seconds, "value_per_second")
    greedy_value = float(seconds.values[greedy].sum())
    # Greedy takes a target worth something whenever one is in reach, so if it collects nothing
    # there is nothing to collect.
    if greedy_value == 0 or greedy_value >= bound * (1 - 2 * LP_TOLERANCE):
        order, solver = greedy, "greedy, value per second: meets the bound"
    else:
        explored = _search(seconds, greedy, time_limit_s / 2, polish=False)
        order = _search(seconds, explored, time_limit_s / 2, polish=True)
        solver = f"OR-Tools guided local search, {time_limit_s:g} s"
    return _plan(problem, seconds.targets[order], solver, bound=bound, greedy_value=greedy_value)


def greedy_route(travel_s, values, service_s, *, budget_s: float,
                 by: Greedy = "value_per_second") -> RoutePlan:
    """A greedy route: again and again go on to the best target from which the end is still in time.

    ``by="value_per_second"`` takes the highest value per second of getting there and serving it,
    ``by="nearest"`` the quickest to get to. Targets worth nothing are not visited.
    """
    problem = _problem(travel_s, values, service_s, budget_s)
    seconds = _whole_seconds(problem)
    nodes = _greedy(seconds, by)
    return _plan(problem, seconds.targets[nodes], f"greedy, {by.replace('_', ' ')}")


def value_bound(travel_s, values, service_s, *, budget_s: float, time_s: float = 1.0) -> float:
    """An upper bound on the value of any route within ``budget_s`` (see ``_lp_bound``)."""
    return _lp_bound(_problem(travel_s, values, service_s, budget_s), time_s)


def _problem(travel_s, values, service_s, budget_s: float) -> _Problem:
    travel = np.asarray(travel_s, dtype=float)
    values = np.asarray(values, dtype=float)
    service = np.asarray(service_s, dtype=float)
    if travel.ndim != 2 or travel.shape[0] != travel.shape[1] or len(travel) < 2:
        raise ValueError(f"the travel-time matrix must be square, [start, end, targets...]; "
                         f"got shape {travel.shape}")
    if values.ndim != 1 or service.shape != values.shape:
        raise ValueError(f"values and service times must be one per target; got {values.shape} "
                         f"values and {service.shape} service times")
    if len(travel) != len(values) + 2:
        raise ValueError(f"the matrix has {len(travel)} nodes: start, end and {len(travel) - 2} "
                         f"targets, but there are {len(values)} values")
    if np.isnan(travel).any() or (travel < 0).any():
        raise ValueError("travel times must not be negative or NaN; mark unreachable pairs inf")
    for name, numbers in (("values", values), ("service times", service)):
        if not np.isfinite(numbers).all() or (numbers < 0).any():
            raise ValueError(f"{name} must be finite and not negative")
    if not 0 < budget_s < np.inf:
        raise ValueError(f"the budget must be a positive number of seconds; got {budget_s}")
    # pgRouting's matrix holds shortest paths, so going straight to the end is the quickest way.
    if travel[START, END] > budget_s:
        raise ValueError(f"a budget of {budget_s:g} s is too short to get from the start to the "
                         f"end, which takes at least {travel[START, END]:g} s")
    return _Problem(travel, values, service, float(budget_s))


def _reachable(travel: np.ndarray, service: np.ndarray, budget: float) -> np.ndarray:
    """The targets a route can visit at all: start -> target, service, target -> end in budget."""
    return travel[START, 2:] + service + travel[2:, END] <= budget


def _lp_bound(problem: _Problem, time_s: float) -> float:
    """The linear relaxation of the route as a flow, tightened by subtour cuts for ``time_s``.

    A route is one unit of flow from the start to the end: x_ij = 1 if it goes from i to j,
    y_k = 1 if it visits target k. The flow out of the start and into the end is 1, into and out
    of each target y_k, and the legs' times and the targets' service times add up to at most the
    budget. Let x and y take any value in [0, 1] and the most value sum(v_k y_k) is an upper bound
    on any route's. On its own the relaxation spends little on far targets by sending part of the
    flow round a cheap loop among them, cut off from the start; so each round finds such loops (a
    set S of targets that the solution's arcs join and the start does not) and adds the cut every
    route keeps, arcs within S <= sum(y over S) - y_k for the k in S with the most flow, until none
    is left or ``time_s`` has passed (no round starts after that). Each round's value is a bound,
    each a little tighter; the last is raised by a millionth, well over the LP solver's tolerance,
    so that no route's value can pass it by a rounding. The cuts
    are the generalised subtour elimination constraints of Fischetti, Salazar-González and Toth
    (1998) for the orienteering problem.
    """
    started = time.perf_counter()
    kept = np.flatnonzero(_reachable(problem.travel, problem.service, problem.budget))
    if not problem.values[kept].any():
        return 0.0
    nodes = np.concatenate([[START, END], kept + 2])
    travel = problem.travel[np.ix_(nodes, nodes)]
    service = np.concatenate([[0.0, 0.0], problem.service[kept]])
    # Only legs that some route within the budget could take: the rest would only loosen the bound.
    # (The matrix's own diagonal may say anything, inf included; staying put takes no time.)
    from_start, to_end = travel[START].copy(), travel[:, END].copy()
    from_start[START] = to_end[END] = 0.0
    usable = (from_start[:, None] + service[:, None] + travel + service + to_end
              <= problem.budget)
    np.fill_diagonal(usable, False)
    usable[END, :] = usable[:, START] = False
    tail, head = np.nonzero(usable)
    n_arcs, n_nodes, n_targets = len(tail), len(nodes), len(kept)
    y = n_arcs + np.arange(n_targets)  # the columns of the targets' y, after the arcs' x
    arcs = np.arange(n_arcs)
    flow = coo_array((np.concatenate([np.ones(2 * n_arcs), -np.ones(2 * n_targets)]),
                      (np.concatenate([tail, n_nodes + head, 2 + np.arange(n_targets),
                                       n_nodes + 2 + np.arange(n_targets)]),
                       np.concatenate([arcs, arcs, y, y]))),
                     shape=(2 * n_nodes, n_arcs + n_targets)).tocsr()
    flow_rhs = np.zeros(2 * n_nodes)
    flow_rhs[START] = flow_rhs[n_nodes + END] = 1  # rows: out of each node, then into each
    rows = [(np.concatenate([arcs, y]), np.concatenate([travel[tail, head], service[2:]]))]
    limits = [problem.budget]
    within_targets = (tail >= 2) & (head >= 2)
    while True:
        cuts = coo_array((np.concatenate([v for _, v in rows]),
                          (np.repeat(np.arange(len(rows)), [len(c) for c, _ in rows]),
                           np.concatenate([c for c, _ in rows]))),
                         shape=(len(rows), n_arcs + n_targets)).tocsr()
        answer = linprog(np.concatenate([np.zeros(n_arcs), -problem.values[kept]]), A_ub=cuts,
                         b_ub=limits, A_eq=flow, b_eq=flow_rhs, bounds=(0, 1), method="highs")
        if answer.status != 0:
            raise RuntimeError(f"the bound's linear programme failed: {answer.message}")
        x, visit = answer.x[:n_arcs], answer.x[n_arcs:]
        loose = within_targets & (x > 1e-6)
        _, label = connected_components(coo_array((x[loose], (tail[loose] - 2, head[loose] - 2)),
                                                  shape=(n_targets, n_targets)), directed=False)
        group = np.concatenate([[-1, -1], label])  # of each node; start and end in none
        added = 0
        for s in np.unique(label):
            members = np.flatnonzero(label == s)
            if len(members) < 2:
                continue
            inside = np.flatnonzero((group[tail] == s) & (group[head] == s))
            k = members[np.argmax(visit[members])]
            if x[inside].sum() > visit[members].sum() - visit[k] + 1e-6:
                others = y[members[members != k]]
                rows.append((np.concatenate([inside, others]),
                             np.concatenate([np.ones(len(inside)), -np.ones(len(others))])))
                limits.append(0.0)
                added += 1
        if not added or time.perf_counter() - started > time_s:
            return float(-answer.fun) * (1 + LP_TOLERANCE)


def _whole_seconds(problem: _Problem) -> _WholeSeconds:
    budget = int(np.floor(problem.budget))
    # Any leg longer than the budget is as good as impossible; capping it keeps sums in int64.
    travel = np.ceil(np.minimum(problem.travel, budget + 1)).astype(np.int64)
    service = np.ceil(problem.service).astype(np.int64)
    kept = np.flatnonzero(_reachable(travel, service, budget))
    nodes = np.concatenate([[START, END], kept + 2])
    return _WholeSeconds(travel=travel[np.ix_(nodes, nodes)],
                         service=np.concatenate([[0, 0], service[kept]]),
                         values=np.concatenate([[0.0, 0.0], problem.values[kept]]),
                         targets=np.concatenate([[-1, -1], kept]), budget=budget)


def _greedy(seconds: _WholeSeconds, by: Greedy) -> list[int]:
    """The nodes of the greedy route, in order (see ``greedy_route``)."""
    travel, service = seconds.travel, seconds.service
    unvisited = seconds.values > 0
    here, elapsed, route = START, 0, []
    while True:
        cost = travel[here] + service
        fits = unvisited & (elapsed + cost + travel[:, END] <= seconds.budget)
        if not fits.any():
            return route
        if by == "nearest":
            score = -travel[here].astype(float)
        else:
            score = np.divide(seconds.values, cost, out=np.full(len(cost), np.inf), where=cost > 0)
        here = int(np.flatnonzero(fits)[np.argmax(score[fits])])
        elapsed += int(cost[here])
        unvisited[here] = False
        route.append(here)


def _search(seconds: _WholeSeconds, warm: list[int], time_limit_s: float, *,
            polish: bool) -> list[int]:
    """The nodes of the route of most value OR-Tools passes through, searched from ``warm``.

    The search minimises the route's time + a price x the value left out. With value weighing
    far more than any time, guided local search cannot give up a target even for a moment, and
    stalls on the first route with no room for another; at ``warm``'s own seconds per unit of
    value it roams, but its own best may then trade value for time. So every route it passes
    through is weighed by its value, then by its time, and the best kept. The budget is a hard
    limit on every one of them.

    To ``polish`` is to search with value outweighing time, adding OR-Tools' inactive LNS, which
    takes out a stretch of the route and finds the best targets to put back exactly: on tiny
    instances it closes the last few cases where the best route was missed, and on large ones it
    is too slow to explore with.
    """
    price_s = ((seconds.budget + 1) * VALUE_LEVELS / seconds.values.max() if polish
               else seconds.budget / seconds.values[warm].sum())
    penalties = np.rint(seconds.values * price_s * COST_UNITS).astype(np.int64)
    legs = seconds.travel + seconds.service[:, None]
    manager = pywrapcp.RoutingIndexManager(len(legs), 1, [START], [END])
    routing = pywrapcp.RoutingModel(manager)
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(
        (legs * COST_UNITS).tolist()))
    routing.AddDimension(routing.RegisterTransitMatrix(legs.tolist()), 0, seconds.budget, True,
                         "time")
    arrival = routing.GetDimensionOrDie("time").CumulVar(routing.End(0))
    for node in range(2, len(legs)):
        routing.AddDisjunction([manager.NodeToIndex(node)], int(penalties[node]))

    def route() -> list[int]:
        nodes, index = [], routing.NextVar(routing.Start(0)).Value()
        while not routing.IsEnd(index):
            nodes.append(manager.IndexToNode(index))
            index = routing.NextVar(index).Value()
        return nodes

    def weigh() -> None:
        # The cost is the route's time in cost units plus the penalties of the targets left out.
        seconds_taken = arrival.Value()
        collected = int(penalties.sum()) - (routing.CostVar().Value() - seconds_taken * COST_UNITS)
        if [collected, -seconds_taken] > best[:2]:
            best[:] = [collected, -seconds_taken, route()]

    best = [int(penalties[warm].sum()), -int(legs[[START, *warm], [*warm, END]].sum()), warm]
    routing.AddAtSolutionCallback(weigh)
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    if polish:
        parameters.local_search_operators.use_inactive_lns = optional_boolean_pb2.BOOL_TRUE
    parameters.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    routing.CloseModelWithParameters(parameters)
    start = routing.ReadAssignmentFromRoutes([[manager.NodeToIndex(n) for n in warm]], True)
    routing.SolveFromAssignmentWithParameters(start, parameters)
    return best[2]


def _plan(problem: _Problem, order, solver: str, *, bound: float | None = None,
          greedy_value: float | None = None) -> RoutePlan:
    """The plan of visiting the targets in ``order``, timed in the exact (unrounded) seconds."""
    order = [int(target) for target in order]
    stops, here, clock = [], START, 0.0
    for target in order:
        arrival = clock + problem.travel[here, target + 2]
        clock = arrival + problem.service[target]
        stops.append(Stop(target, float(arrival), float(clock)))
        here = target + 2
    value = float(problem.values[order].sum())
    total = problem.values.sum()
    return RoutePlan(stops=tuple(stops), total_s=float(clock + problem.travel[here, END]),
                     budget_s=problem.budget, value=value,
                     share=value / total if total > 0 else 0.0, solver=solver, bound=bound,
                     greedy_value=greedy_value)
