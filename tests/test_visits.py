"""Home-visit cycles and what is due: by hand, and by property."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.visits import CYCLES, ELDER_AGE, visit_cycles, visits_due

AS_OF = date(2026, 6, 15)


def households(*rows) -> pd.DataFrame:
    """Rows of (temporary, floating, home_service, oldest_alone_born, last_visited)."""
    frame = pd.DataFrame(rows, columns=["temporary", "floating", "home_service", "oldest_alone_born",
                                        "last_visited"])
    return frame.astype({"oldest_alone_born": "Int64"})


def test_the_shortest_cycle_that_applies_wins():
    frame = households(
        (0, 0, 0, None, None),                      # nobody special: 90
        (1, 0, 0, None, None),                      # a temporary resident: 30
        (0, 2, 0, None, None),                      # floating residents: 30
        (0, 0, 1, None, None),                      # someone needing home service: 30
        (0, 0, 0, AS_OF.year - ELDER_AGE, None),    # turns 70 this year and lives alone: 14
        (0, 0, 0, AS_OF.year - ELDER_AGE + 1, None),  # 69, alone: not an elder yet, 90
        (1, 0, 1, 1940, None),                      # an elder alone with a temporary lodger: 14
    )
    cycles = visit_cycles(frame, as_of=AS_OF)
    assert cycles["cycle_days"].tolist() == [90, 30, 30, 30, 14, 90, 14]
    assert cycles["cycle_rule"].tolist() == ["regular", "temporary", "temporary", "home_service",
                                             "elder_alone", "regular", "elder_alone"]


def test_due_and_overdue_by_hand():
    frame = households(
        (1, 0, 0, None, date(2026, 5, 1)),   # 30 days: due 05-31, 15 days overdue
        (0, 0, 0, 1950, date(2026, 6, 1)),   # 14 days: due 06-15, the due day itself
        (0, 1, 0, None, date(2026, 6, 10)),  # 30 days: due 07-10, not yet
        (0, 0, 0, None, None),               # never visited: due at once
    )
    table = visits_due(frame, as_of=AS_OF)
    assert table["next_due"].tolist() == [date(2026, 5, 31), date(2026, 6, 15), date(2026, 7, 10), None]
    assert table["days_overdue"].tolist() == [15, 0, -25, pd.NA]
    assert table["due"].tolist() == [True, True, False, True]
    assert list(frame.columns) == list(table.columns[:5])  # the input is kept, and not changed
    assert "cycle_days" not in frame


def test_an_empty_frame_and_a_missing_column():
    empty = visits_due(households(), as_of=AS_OF)
    assert len(empty) == 0 and {"next_due", "days_overdue", "due"} <= set(empty.columns)
    with pytest.raises(ValueError, match="last_visited"):
        visits_due(households().drop(columns="last_visited"), as_of=AS_OF)


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
household = st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2),
                      st.one_of(st.none(), st.integers(1900, 2040)), st.one_of(st.none(), days))


@given(st.lists(household, min_size=1, max_size=30), days)
@settings(max_examples=200, deadline=None)
def test_next_due_is_the_last_visit_plus_the_cycle(rows, as_of):
    table = visits_due(households(*rows), as_of=as_of)
    for (temporary, floating, service, alone_born, last), row in zip(rows, table.itertuples(index=False)):
        applies = [CYCLES["regular"]]
        if temporary or floating:
            applies.append(CYCLES["temporary"])
        if service:
            applies.append(CYCLES["home_service"])
        if alone_born is not None and as_of.year - alone_born >= ELDER_AGE:
            applies.append(CYCLES["elder_alone"])
        assert row.cycle_days == min(applies)
        if last is None:  # never visited: due at once, whatever the day
            assert row.due and row.next_due is None and row.days_overdue is pd.NA
        else:
            assert row.next_due == last + timedelta(days=row.cycle_days)
            assert row.days_overdue == (as_of - row.next_due).days
            assert row.due == (as_of >= row.next_due)


@given(days, st.integers(0, 400))
@settings(max_examples=100, deadline=None)
def test_a_visit_today_is_never_due_and_a_household_never_visited_always_is(as_of, back):
    table = visits_due(households((1, 0, 0, None, as_of), (0, 0, 0, None, None),
                                  (0, 0, 0, None, as_of - timedelta(days=back))), as_of=as_of)
    assert table["due"].tolist() == [False, True, back >= CYCLES["regular"]]
    assert np.array_equal(table["cycle_days"].to_numpy(), [30, 90, 90])
