"""Tonight's patrol route: by hand, by property, and against every route on tiny instances."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.route_plan import greedy_route, plan_route, value_bound

QUICK = 0.2  # s of search: plenty for a handful of targets


def matrix(points) -> np.ndarray:
    """Travel seconds between points on the plane at 1 m/s, rounded to whole seconds."""
    points = np.asarray(points, dtype=float)
    return np.rint(np.hypot(*(points[:, None] - points[None]).transpose(2, 0, 1)))


def time_of(travel, service, order) -> float:
    """The route's time, start to end, recounted from the matrix."""
    nodes = [0, *(t + 2 for t in order), 1]
    return sum(travel[a, b] for a, b in itertools.pairwise(nodes)) + sum(service[t] for t in order)


def best_value(travel, values, service, budget) -> float:
    """The most any route can collect: every order of every set of targets that fits, tried."""
    best = 0.0

    def extend(here, clock, value, left):
        nonlocal best
        best = max(best, value)
        for t in left:
            leave = clock + travel[here, t + 2] + service[t]
            if leave + travel[t + 2, 1] <= budget:
                extend(t + 2, leave, value + values[t], left - {t})

    extend(0, 0.0, 0.0, frozenset(range(len(values))))
    return best


def assert_keeps_time(plan, travel, service, budget):
    assert len(set(plan.order)) == len(plan.order)
    clock, here = 0.0, 0
    for stop in plan.stops:
        assert stop.arrival_s == pytest.approx(clock + travel[here, stop.target + 2])
        assert stop.departure_s == pytest.approx(stop.arrival_s + service[stop.target])
        clock, here = stop.departure_s, stop.target + 2
    assert plan.total_s == pytest.approx(clock + travel[here, 1])
    assert plan.total_s == pytest.approx(time_of(travel, service, plan.order))
    assert time_of(travel, service, plan.order) <= budget


def test_of_two_targets_only_one_can_be_reached_and_the_more_valuable_is_taken():
    # Start and end at the station; A is 50 s away and worth 3, B 100 s away the other way and
    # worth 5. Both would take 300 s; in 220 s there is time for either. A is nearer and worth
    # more per second, so both greedy routes take it.
    travel = matrix([(0, 0), (0, 0), (50, 0), (-100, 0)])
    plan = plan_route(travel, [3, 5], [0, 0], budget_s=220, time_limit_s=QUICK)
    assert plan.order == [1]
    assert plan.value == 5 and plan.share == pytest.approx(5 / 8)
    assert [(s.arrival_s, s.departure_s) for s in plan.stops] == [(100, 100)]
    assert plan.total_s == 200
    assert plan.greedy_value == 3
    assert greedy_route(travel, [3, 5], [0, 0], budget_s=220, by="nearest").order == [0]
    assert greedy_route(travel, [3, 5], [0, 0], budget_s=220).order == [0]
    assert plan.value <= plan.bound


def test_all_targets_in_reach_are_all_visited():
    travel = matrix([(0, 0), (400, 0), (100, 0), (200, 10), (300, 0)])
    plan = plan_route(travel, [1, 2, 3], [60, 60, 60], budget_s=3600, time_limit_s=QUICK)
    assert sorted(plan.order) == [0, 1, 2]
    assert plan.share == 1 and plan.optimality_gap == pytest.approx(0, abs=1e-5)
    assert_keeps_time(plan, travel, [60, 60, 60], 3600)


def test_a_budget_with_no_slack_goes_straight_from_start_to_end():
    travel = matrix([(0, 0), (300, 0), (150, 40), (150, -60)])
    plan = plan_route(travel, [5, 5], [0, 0], budget_s=300, time_limit_s=QUICK)
    assert plan.stops == () and plan.total_s == 300 and plan.value == 0 and plan.bound == 0


def test_the_dwell_time_counts():
    # The target is on the way; staying 10 minutes there needs 10 minutes more than the walk.
    travel = matrix([(0, 0), (200, 0), (100, 0)])
    assert plan_route(travel, [1], [600], budget_s=799, time_limit_s=QUICK).order == []
    plan = plan_route(travel, [1], [600], budget_s=800, time_limit_s=QUICK)
    assert [(s.target, s.arrival_s, s.departure_s) for s in plan.stops] == [(0, 100, 700)]
    assert plan.total_s == 800


@pytest.mark.parametrize("unreachable", [np.inf, 1e9])
def test_an_unreachable_target_is_skipped(unreachable):
    travel = matrix([(0, 0), (0, 0), (100, 0), (0, 100)])
    travel[0, 3] = travel[2, 3] = unreachable  # the only ways into the second target
    plan = plan_route(travel, [1, 10], [0, 0], budget_s=3600, time_limit_s=QUICK)
    assert plan.order == [0] and plan.share == pytest.approx(1 / 11)
    assert plan.bound == pytest.approx(1)  # the unreachable target's value is no part of the bound


def test_a_budget_too_short_to_reach_the_end_says_how_much_is_needed():
    travel = matrix([(0, 0), (900, 0), (450, 0)])
    with pytest.raises(ValueError, match="900 s"):
        plan_route(travel, [1], [0], budget_s=600)
    travel[0, 1] = np.inf
    with pytest.raises(ValueError, match="too short"):
        plan_route(travel, [1], [0], budget_s=600)


@pytest.mark.parametrize(("travel", "values", "service", "budget", "message"), [
    (np.zeros((3, 2)), [1], [0], 60, "square"),
    (np.zeros((3, 3)), [1, 2], [0, 0], 60, "3 nodes"),
    (np.zeros((3, 3)), [1], [0, 0], 60, "one per target"),
    (-np.ones((3, 3)), [1], [0], 60, "negative"),
    (np.full((3, 3), np.nan), [1], [0], 60, "NaN"),
    (np.zeros((3, 3)), [-1], [0], 60, "values must be finite and not negative"),
    (np.zeros((3, 3)), [1], [-5], 60, "service times must be"),
    (np.zeros((3, 3)), [1], [0], 0, "positive"),
    (np.zeros((3, 3)), [1], [0], np.inf, "positive"),
])
def test_bad_input_is_refused(travel, values, service, budget, message):
    with pytest.raises(ValueError, match=message):
        plan_route(travel, values, service, budget_s=budget)


@st.composite
def instances(draw, *, max_targets, whole_seconds):
    """Targets on a 2 km square, the start and end the same or not, an occasional one-way gap."""
    n = draw(st.integers(0, max_targets))
    coordinate = st.integers(0, 2000) if whole_seconds else st.floats(0, 2000)
    points = draw(st.lists(st.tuples(coordinate, coordinate), min_size=n + 2, max_size=n + 2))
    if draw(st.booleans()):
        points[1] = points[0]
    travel = matrix(points) if whole_seconds else np.hypot(
        *(np.asarray(points)[:, None] - np.asarray(points)[None]).transpose(2, 0, 1))
    for a, b in draw(st.lists(st.tuples(st.integers(2, n + 1), st.integers(0, n + 1)), max_size=3)
                     if n else st.just([])):
        travel[a, b] = np.inf
    values = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    service = draw(st.lists(st.integers(0, 900), min_size=n, max_size=n))
    budget = travel[0, 1] + draw(st.integers(1, 6000))
    return travel, np.array(values, float), np.array(service, float), budget


@given(instances(max_targets=9, whole_seconds=False))
@settings(max_examples=60, deadline=None)
def test_the_route_keeps_to_the_budget_and_its_value_to_the_bound(instance):
    travel, values, service, budget = instance
    plan = plan_route(travel, values, service, budget_s=budget, time_limit_s=0.05)
    for route in (plan, greedy_route(travel, values, service, budget_s=budget),
                  greedy_route(travel, values, service, budget_s=budget, by="nearest")):
        assert_keeps_time(route, travel, service, budget)
        assert route.value == pytest.approx(values[route.order].sum())
        assert route.value <= plan.bound
    assert plan.value >= plan.greedy_value
    assert 0 <= plan.optimality_gap <= 1


@given(instances(max_targets=7, whole_seconds=True))
@settings(max_examples=60, deadline=None)
def test_on_tiny_instances_the_route_is_the_best_there_is(instance):
    travel, values, service, budget = instance
    plan = plan_route(travel, values, service, budget_s=budget, time_limit_s=QUICK)
    best = best_value(travel, values, service, budget)
    assert plan.value == best
    assert best <= value_bound(travel, values, service, budget_s=budget)


def test_where_greedy_falls_short_the_search_finds_the_best_route():
    # Hypothesis leans to small, easy instances that the greedy route already solves; these are
    # random ones where the search has work to do: 4-7 targets, each a few minutes' service.
    rng = np.random.default_rng(7)
    searched = 0
    while searched < 30:
        n = int(rng.integers(4, 8))
        travel = matrix(rng.integers(0, 2000, (n + 2, 2)))
        values = rng.integers(1, 21, n).astype(float)
        service = rng.integers(0, 901, n).astype(float)
        budget = travel[0, 1] + rng.integers(1000, 5000)
        plan = plan_route(travel, values, service, budget_s=budget, time_limit_s=QUICK)
        if plan.solver.startswith("OR-Tools"):
            searched += 1
            assert plan.value == best_value(travel, values, service, budget)
            assert_keeps_time(plan, travel, service, budget)


def test_the_matrix_diagonal_is_ignored():
    travel = matrix([(0, 0), (0, 0), (100, 0), (0, 100)])
    plan = plan_route(travel, [1, 2], [0, 0], budget_s=3600, time_limit_s=QUICK)
    np.fill_diagonal(travel, np.inf)
    same = plan_route(travel, [1, 2], [0, 0], budget_s=3600, time_limit_s=QUICK)
    assert sorted(same.order) == sorted(plan.order) == [0, 1] and same.bound == pytest.approx(3)
