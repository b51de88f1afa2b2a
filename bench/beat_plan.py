"""Beat plans at district scale: Beatbook's balanced division against spopt's regionalisation.

    python bench/beat_plan.py --blocks 3000 --beats 20

Makes a synthetic district of ``--blocks`` Voronoi blocks over a square of ``--extent``
metres (blocks smaller towards the centre, as in a town), with a skewed workload per block
(lognormal, and ``--dense`` of the blocks five to fifteen times heavier: blocks of flats). Today's
beats are, first, ``--beats`` vertical strips of equal width (a bad division: long, and heavy in
the middle); second, last year's plan of two beats fewer, drawn by Beatbook on last year's loads
(each block's load times a lognormal factor), as when a district gains two officers. From each,
Beatbook's ``plan_beats`` draws ``--beats`` beats, from today's (keeping what it can of them) and
afresh, and moves one officer per beat of today to a new beat; each is the median of ``--runs``
runs.

The obvious alternative is spopt's regionalisation: Skater cuts a spanning tree of the blocks
into contiguous regions of similar blocks, with a floor on their number of blocks, and
``--region-kmeans`` adds RegionKMeansHeuristic (contiguous k-means, minutes on 3,000 blocks);
both are given the block centres, so they make compact regions, but neither balances a sum
of loads. Each runs once (install spopt to see them).

For each division: max/min of the beat loads, their coefficient of variation, the heaviest and
lightest beat against the mean, the mean Polsby-Popper score of the beats (4 pi area /
perimeter^2: 0.785 for a square), how many beats are in one piece, and the share of their old
beat's load the officers keep. No database is needed.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import geopandas as gpd
import numpy as np
import shapely
from bench_api import median_time
from scipy.sparse.csgraph import connected_components

from geo.beat_plan import beat_table, plan_beats, side_by_side
from geo.hotspots import contiguity_weights

CRS = "EPSG:32635"  # UTM zone 35N
ORIGIN = (380_000.0, 6_665_000.0)  # south-west of central Helsinki, in CRS metres


def synthetic_district(blocks: int, *, extent_m: float, dense: float, seed: int
                       ) -> tuple[gpd.GeoSeries, np.ndarray]:
    """Voronoi blocks, half of their seeds gathered round the centre, and a load per block."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(extent_m / 2, extent_m / 6, (blocks, 2))
    points = np.where(rng.random((blocks, 1)) < 0.5, centre, rng.uniform(0, extent_m, (blocks, 2)))
    points = np.clip(points, 1.0, extent_m - 1.0) + ORIGIN
    frame = shapely.box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + extent_m, ORIGIN[1] + extent_m)
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame, ordered=True)
    geometry = gpd.GeoSeries(shapely.intersection(shapely.get_parts(cells), frame), crs=CRS)
    loads = rng.lognormal(0.0, 0.6, blocks) * np.where(rng.random(blocks) < dense,
                                                       rng.uniform(5, 15, blocks), 1.0)
    return geometry, loads


def strips(geometry: gpd.GeoSeries, beats: int) -> np.ndarray:
    """Today's beats: vertical strips of equal width, by block centre."""
    x = geometry.centroid.x.to_numpy()
    return np.minimum(((x - x.min()) / (x.max() - x.min()) * beats).astype(int), beats - 1)


def one_piece(adjacency, labels: np.ndarray) -> int:
    return sum(connected_components(adjacency[labels == b][:, labels == b], directed=False)[0] == 1
               for b in np.unique(labels))


def spopt_divisions(geometry: gpd.GeoSeries, neighbours, beats: int, *, region_kmeans: bool):
    """(label, labels, seconds) of spopt's regionalisations, none if spopt is not installed."""
    try:
        from spopt.region import RegionKMeansHeuristic, Skater
    except ImportError:
        print("spopt is not installed: pip install spopt to compare with its regionalisation")
        return []
    centres = shapely.get_coordinates(geometry.centroid.to_numpy())
    frame = gpd.GeoDataFrame({"x": centres[:, 0], "y": centres[:, 1]}, geometry=geometry)
    w = neighbours.to_W()
    floor = len(geometry) // (2 * beats)
    runs = [(f"spopt Skater (x, y), floor {floor} blocks",
             lambda: Skater(frame, w, ["x", "y"], n_clusters=beats, floor=floor))]
    if region_kmeans:
        runs.append(("spopt RegionKMeansHeuristic (x, y)",
                     lambda: RegionKMeansHeuristic(centres, beats, w, seed=0)))
    divisions = []
    for label, model in runs:
        started = time.perf_counter()
        solved = model()
        solved.solve()
        divisions.append((label, np.asarray(solved.labels_), time.perf_counter() - started))
    return divisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=3_000)
    parser.add_argument("--beats", type=int, default=20)
    parser.add_argument("--extent", type=float, default=8_000.0, help="side of the district, m")
    parser.add_argument("--dense", type=float, default=0.03, help="share of heavy blocks")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--region-kmeans", action="store_true",
                        help="also spopt's RegionKMeansHeuristic (minutes)")
    args = parser.parse_args()

    geometry, loads = synthetic_district(args.blocks, extent_m=args.extent, dense=args.dense,
                                         seed=args.seed)
    print(f"{args.blocks:,} Voronoi blocks over {args.extent / 1000:g} km x "
          f"{args.extent / 1000:g} km, {args.dense:.0%} of them heavy; heaviest block "
          f"{loads.max() / (loads.sum() / args.beats):.2f} x the mean of {args.beats} beats; "
          f"median of {args.runs} runs")
    graph_s, neighbours = median_time(lambda: contiguity_weights(geometry, rook=True), args.runs)
    adjacency = neighbours.sparse.tocsr()
    last_year = loads * np.random.default_rng(args.seed + 1).lognormal(0.0, 0.5, len(loads))
    todays = [(f"{args.beats} vertical strips", strips(geometry, args.beats)),
              (f"last year's {args.beats - 2} beats",
               plan_beats(geometry, last_year, args.beats - 2, neighbours=neighbours,
                          seed=args.seed + 1).labels)]

    rows, plans = [], {}
    for name, today in todays:
        officers = {f"officer {b:02d}": b for b in np.unique(today)}
        rows.append((f"today: {name}", None, today, None))
        for how, afresh in (("from today's", False), ("afresh", True)):
            seconds, plan = median_time(partial(
                plan_beats, geometry, loads, args.beats, current=today, afresh=afresh,
                officers=officers, neighbours=neighbours, seed=args.seed), args.runs)
            rows.append((f"  Beatbook plan_beats, {how}", seconds, plan.labels,
                         plan.officers["kept"].mean()))
            plans[name, afresh] = plan
    for label, labels, seconds in spopt_divisions(geometry, neighbours, args.beats,
                                                  region_kmeans=args.region_kmeans):
        rows.append((label, seconds, labels, None))

    print()
    print(f"{'':44s} {'time':>6s} {'max/min':>8s} {'CV':>6s} {'heaviest':>9s} {'lightest':>9s} "
          f"{'Polsby-':>8s} {'beats in':>9s} {'officers':>9s}")
    print(f"{'':44s} {'s':>6s} {'':>8s} {'':>6s} {'x mean':>9s} {'x mean':>9s} "
          f"{'Popper':>8s} {'one piece':>9s} {'keep':>9s}")
    for label, seconds, labels, kept in rows:
        figures = side_by_side(None, beat_table(labels, loads, geometry))["after"]
        print(f"{label:44s} {'' if seconds is None else f'{seconds:6.2f}':>6s} "
              f"{figures['max_min_ratio']:8.3f} {figures['coefficient_of_variation']:6.3f} "
              f"{figures['heaviest_share_of_mean']:9.3f} {figures['lightest_share_of_mean']:9.3f} "
              f"{figures['mean_polsby_popper']:8.3f} "
              f"{f'{one_piece(adjacency, labels)}/{len(np.unique(labels))}':>9s} "
              f"{'' if kept is None else f'{kept:.0%}':>9s}")
    print()
    print(f"rook contiguity of the blocks (geo.hotspots.contiguity_weights): {graph_s:.2f} s, "
          "built once and given to each plan (in its time above otherwise)")
    print("officers keep: the mean share of an officer's beat of today (by load) that lies in the")
    print("    new beat they are given; spopt's regions have no officers moved.")
    for name, _ in todays:
        plan = plans[name, False]
        print()
        print(f"from today's {name}: {plan.note}")
        print(plan.balance.to_string())


if __name__ == "__main__":
    main()
