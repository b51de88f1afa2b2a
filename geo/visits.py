"""How often each household is visited at home (走访), and which visits are due or overdue.

Pure: a frame of households (their residents' categories and flags as counts, and the date of
the last visit) and a date in; each household's cycle, next due date and days overdue out.

The cycle of a household is the shortest that any of these rules gives it:

===============  =====  ==================================================================
rule             days   applies when
===============  =====  ==================================================================
``elder_alone``  14     a resident who reaches ``ELDER_AGE`` (70) in the year of ``as_of``
                        (age by birth year: the schema keeps no birth date) lives alone
``temporary``    30     a resident is temporary (暂住) or floating (流动)
``home_service`` 30     a resident needs home service (cannot travel)
``regular``      90     every other household, one with no residents registered included
===============  =====  ==================================================================

The next visit is due one cycle after the last visit (``last_visited + cycle_days``); it is due
on that day and overdue after it. A household never visited is due at once: it has no next due
date and no days overdue, and ``due`` is true whatever the date.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

ELDER_AGE = 70
CYCLES = {"elder_alone": 14, "temporary": 30, "home_service": 30, "regular": 90}

# The columns the households frame must have; counts are of the household's residents.
COLUMNS = (
    "temporary",          # residents in the temporary category
    "floating",           # residents in the floating category
    "home_service",       # residents who need home service
    "oldest_alone_born",  # the earliest birth year of a resident living alone; NA if none
    "last_visited",       # the local date of the last visit; None / NaT if never visited
)


def visit_cycles(households: pd.DataFrame, *, as_of: date) -> pd.DataFrame:
    """Each household's visit cycle: ``cycle_days`` and the ``cycle_rule`` that set it.

    Parameters
    ----------
    households
        One row per household with the counts of ``COLUMNS`` (``last_visited`` is not used).
    as_of
        The date whose year decides who is an elder.

    Returns
    -------
    pandas.DataFrame
        ``cycle_days`` (int) and ``cycle_rule`` (a key of ``CYCLES``), on the same index.
    """
    _check(households)
    born = pd.to_numeric(households["oldest_alone_born"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        elder_alone = as_of.year - born >= ELDER_AGE  # NaN (nobody lives alone) compares false
    temporary = (_counts(households, "temporary") + _counts(households, "floating")) > 0
    home_service = _counts(households, "home_service") > 0
    # Shortest first: the first rule that applies sets the cycle.
    rule = np.select([elder_alone, temporary, home_service],
                     ["elder_alone", "temporary", "home_service"], default="regular")
    days = np.array([CYCLES[r] for r in rule], dtype=np.int64).reshape(len(households))
    return pd.DataFrame({"cycle_days": days, "cycle_rule": rule.astype(object)}, index=households.index)


def visits_due(households: pd.DataFrame, *, as_of: date) -> pd.DataFrame:
    """The households with their cycle, next due date and whether the visit is due on ``as_of``.

    Parameters
    ----------
    households
        One row per household with the columns of ``COLUMNS``; other columns are kept.
    as_of
        The day asked about (local date).

    Returns
    -------
    pandas.DataFrame
        The input with ``cycle_days``, ``cycle_rule``, ``next_due`` (a date, None if never
        visited), ``days_overdue`` (Int64: as_of - next_due, 0 on the due day, negative while
        not yet due, NA if never visited) and ``due`` (bool: never visited, or next_due <= as_of).

    Examples
    --------
    >>> frame = pd.DataFrame({"temporary": [1, 0], "floating": [0, 0], "home_service": [0, 0],
    ...                       "oldest_alone_born": [pd.NA, pd.NA],
    ...                       "last_visited": [date(2026, 1, 1), None]})
    >>> due = visits_due(frame, as_of=date(2026, 2, 5))
    >>> due["next_due"].tolist(), due["days_overdue"].tolist(), due["due"].tolist()
    ([datetime.date(2026, 1, 31), None], [5, <NA>], [True, True])
    """
    cycles = visit_cycles(households, as_of=as_of)
    last = pd.to_datetime(households["last_visited"]).to_numpy(dtype="datetime64[D]")
    never = np.isnat(last)
    next_due = last + cycles["cycle_days"].to_numpy().astype("timedelta64[D]")
    overdue = (np.datetime64(as_of, "D") - next_due).astype(np.int64)
    days_overdue = pd.array(overdue, dtype="Int64")
    days_overdue[never] = pd.NA
    next_dates = next_due.astype(object)
    next_dates[never] = None
    return households.assign(
        cycle_days=cycles["cycle_days"],
        cycle_rule=cycles["cycle_rule"],
        next_due=pd.Series(next_dates, index=households.index, dtype=object),
        days_overdue=pd.Series(days_overdue, index=households.index),
        due=never | (overdue >= 0),
    )


def _counts(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").fillna(0).to_numpy(dtype=float)


def _check(households: pd.DataFrame) -> None:
    missing = [c for c in COLUMNS if c not in households]
    if missing:
        raise ValueError(f"the households frame lacks {', '.join(missing)}")
