"""Tonight's patrol route on a district-sized street grid: OR-Tools against greedy routes.

    python bench/route_plan.py --mode foot --budget-min 90 --targets 200

Makes a ``--side`` x ``--side`` grid of streets (100 x 100 crossings: 19,800 segments) whose
blocks are 40-120 m long at random, and ``--targets`` targets on it: priority street parts
(20 %, two to eight blocks walked end to end, worth 2-5), unmanaged entrances (50 %, a minute
each, worth 1-3) and hotspot cells (30 %, a 10-15 minute dwell, worth 3-8). The patrol starts
and ends at a station in the middle, on foot (1.3 m/s) or by car (8 m/s), with ``--budget-min``
minutes. The travel-time matrix comes from scipy's Dijkstra from the start and every target's
far end, as pgRouting's cost matrix would; its time is the median of ``--runs`` runs.

Then the upper bound on any route's value (``value_bound``, ``--bound-time`` seconds of subtour
cuts), and the routes: greedy to the nearest target that still leaves time to get back (the
baseline of the issue), greedy by value per second (OR-Tools' warm start), and ``plan_route``
with each of the ``--limits`` search time limits. Each row has the value collected, its share of
all the targets' value, the route's minutes, the stops, how far below the bound it may be, and
the wall time (matrix not included; ``plan_route``'s includes its own bound).

No database is needed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_api import median_time
from scipy.sparse import coo_array
from scipy.sparse.csgraph import dijkstra

from geo.route_plan import greedy_route, plan_route, value_bound

SPEED_M_S = {"foot": 1.3, "car": 8.0}


def street_grid(side: int, rng: np.random.Generator) -> tuple[coo_array, np.ndarray]:
    """The streets of a side x side grid of crossings (node = row * side + column), with their
    lengths in metres, as a symmetric sparse matrix; and the crossings' (x, y) in metres."""
    across = rng.uniform(40, 120, side - 1)  # block lengths east-west, the same on every row
    down = rng.uniform(40, 120, side - 1)
    x = np.concatenate([[0], np.cumsum(across)])
    y = np.concatenate([[0], np.cumsum(down)])
    node = np.arange(side * side).reshape(side, side)
    tail = np.concatenate([node[:, :-1].ravel(), node[:-1, :].ravel()])
    head = np.concatenate([node[:, 1:].ravel(), node[1:, :].ravel()])
    length = np.concatenate([np.broadcast_to(across, (side, side - 1)).ravel(),
                             np.broadcast_to(down[:, None], (side - 1, side)).ravel()])
    streets = coo_array((np.concatenate([length, length]),
                         (np.concatenate([tail, head]), np.concatenate([head, tail]))),
                        shape=(side * side, side * side))
    xy = np.column_stack([np.tile(x, side), np.repeat(y, side)])
    return streets, xy


def targets(side: int, xy: np.ndarray, n: int, rng: np.random.Generator, speed: float):
    """Where each target is entered and left, its value and its service seconds, and its kind."""
    kind = rng.choice(["street part", "entrance", "hotspot"], n, p=[0.2, 0.5, 0.3])
    enter = rng.integers(0, side * side, n)
    leave = enter.copy()
    value = np.empty(n)
    service = np.empty(n)
    for i in np.flatnonzero(kind == "street part"):
        row, column = divmod(int(enter[i]), side)
        blocks = int(rng.integers(2, 9))
        if column + blocks < side:
            leave[i] = enter[i] + blocks
        else:  # too near the east edge: walk it north instead (or south near the top)
            leave[i] = enter[i] + (blocks if row + blocks < side else -blocks) * side
        service[i] = np.abs(xy[leave[i]] - xy[enter[i]]).sum() / speed
        value[i] = rng.integers(2, 6)
    entrances = kind == "entrance"
    service[entrances], value[entrances] = 60, rng.integers(1, 4, entrances.sum())
    hotspots = kind == "hotspot"
    service[hotspots] = rng.uniform(600, 900, hotspots.sum())
    value[hotspots] = rng.integers(3, 9, hotspots.sum())
    return enter, leave, value, service, kind


def travel_matrix(streets: coo_array, station: int, enter: np.ndarray, leave: np.ndarray,
                  speed: float) -> np.ndarray:
    """Seconds from where each node is left to where each is entered: station, station, targets."""
    sources = np.concatenate([[station, station], leave])
    sinks = np.concatenate([[station, station], enter])
    metres = dijkstra(streets.tocsr(), directed=False, indices=np.unique(sources))
    rows = np.searchsorted(np.unique(sources), sources)
    return metres[np.ix_(rows, sinks)] / speed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=100, help="crossings along each side")
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--mode", choices=sorted(SPEED_M_S), default="foot")
    parser.add_argument("--budget-min", type=float, default=90.0)
    parser.add_argument("--limits", type=float, nargs="+", default=[1.0, 2.0, 5.0],
                        help="OR-Tools time limits, s")
    parser.add_argument("--bound-time", type=float, default=1.0, help="s of subtour cuts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    speed = SPEED_M_S[args.mode]
    streets, xy = street_grid(args.side, rng)
    enter, leave, values, service, kind = targets(args.side, xy, args.targets, rng, speed)
    station = (args.side // 2) * args.side + args.side // 2
    matrix_s, travel = median_time(
        lambda: travel_matrix(streets, station, enter, leave, speed), args.runs)
    budget = args.budget_min * 60
    extent = xy.max(axis=0) / 1000
    counts = ", ".join(f"{(kind == k).sum()} {k}s" for k in ("street part", "entrance", "hotspot"))
    print(f"{args.side} x {args.side} street grid ({streets.nnz // 2:,} segments, "
          f"{extent[0]:.1f} km x {extent[1]:.1f} km); {args.targets} targets ({counts}), total "
          f"value {values.sum():g}; {args.mode} at {speed:g} m/s, budget {args.budget_min:g} min "
          f"from and back to the station in the middle")
    reachable = (travel[0, 2:] + service + travel[2:, 1] <= budget).sum()
    print(f"travel-time matrix {len(travel)} x {len(travel)} by Dijkstra: {matrix_s:.3f} s "
          f"(median of {args.runs}); {reachable} targets can be visited on their own in budget")

    started = time.perf_counter()
    bound = value_bound(travel, values, service, budget_s=budget, time_s=args.bound_time)
    print(f"upper bound on any route's value: {bound:.1f} ({time.perf_counter() - started:.3f} s)")

    rows = []
    for by in ("nearest", "value_per_second"):
        started = time.perf_counter()
        plan = greedy_route(travel, values, service, budget_s=budget, by=by)
        rows.append((plan.solver, plan, time.perf_counter() - started))
    for limit in args.limits:
        started = time.perf_counter()
        plan = plan_route(travel, values, service, budget_s=budget, time_limit_s=limit,
                          bound_time_s=args.bound_time)
        rows.append((plan.solver, plan, time.perf_counter() - started))

    print()
    print(f"{'':38s} {'value':>6s} {'share':>6s} {'route':>6s} {'stops':>6s} {'gap':>6s} "
          f"{'time':>7s}")
    print(f"{'':38s} {'':>6s} {'':>6s} {'min':>6s} {'':>6s} {'<=':>6s} {'s':>7s}")
    for label, plan, seconds in rows:
        print(f"{label:38s} {plan.value:6g} {plan.share:6.1%} {plan.total_s / 60:6.1f} "
              f"{len(plan.stops):6d} {1 - plan.value / bound:6.1%} {seconds:7.3f}")
    nearest, best = rows[0][1], rows[-1][1]
    print()
    print(f"OR-Tools at {args.limits[-1]:g} s collects {best.value / nearest.value:.2f} x the "
          f"nearest-target route's value; gap is (bound - value) / bound: the best route is at "
          f"most that much better")
    dwell = {k: sum(s.departure_s - s.arrival_s for s in best.stops if kind[s.target] == k) / 60
             for k in ("street part", "entrance", "hotspot")}
    print("its minutes at targets: " + ", ".join(f"{k}s {m:.0f}" for k, m in dwell.items()))


if __name__ == "__main__":
    main()
