"""Patrol tracks from raw GPS fixes: clean the fixes, then split them into timed lines.

Pure: frames in, frames out. Fixes have ``officer_id``, ``recorded_at`` (tz-aware),
``x``, ``y`` (metres in a metric CRS) and ``accuracy_m`` (NaN when unknown); other
columns ride along. A track's vertices keep their fix times as the M coordinate
(epoch seconds, UTC), so "where was the patrol at 02:10" stays answerable.

Cleaning and splitting share ``max_gap_s``: fixes further apart than that belong to
different tracks, so no speed is judged across such a gap, and every segment of
every track is at most ``max_speed_mps`` fast.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import shapely

FIX_COLUMNS = ("officer_id", "recorded_at", "x", "y", "accuracy_m")

# ISO WKB of a LINESTRING M: little-endian byte order, type 2002, vertex count.
_WKB_LINESTRING_M = struct.Struct("<BII")
_ISO_LINESTRING_M = 2002


@dataclass(frozen=True)
class CleaningReport:
    """What cleaning and splitting did to the fixes, counted.

    ``input = duplicates + poor_accuracy + speed_jumps + kept``; the kept fixes all go
    into tracks except ``single_fix_dropped``. ``tracks`` and ``single_fix_dropped``
    are None until the fixes have been split (see ``with_tracks``).
    """

    input: int
    duplicates: int
    poor_accuracy: int
    speed_jumps: int
    kept: int
    tracks: int | None = None
    single_fix_dropped: int | None = None

    def with_tracks(self, tracks: pd.DataFrame) -> CleaningReport:
        """This report completed with the tracks that ``split_tracks`` made of the kept fixes."""
        return replace(
            self,
            tracks=len(tracks),
            single_fix_dropped=self.kept - int(tracks["n_fixes"].sum()),
        )

    def __str__(self) -> str:
        said = (
            f"{self.input} fixes: {self.duplicates} duplicates, {self.poor_accuracy} of poor"
            f" accuracy and {self.speed_jumps} impossible jumps dropped, {self.kept} kept"
        )
        if self.tracks is None:
            return said
        return f"{said}; {self.tracks} tracks ({self.single_fix_dropped} lone fixes left out)"


def clean_fixes(
    fixes: pd.DataFrame,
    *,
    max_accuracy_m: float = 50.0,
    max_speed_mps: float = 15.0,
    max_gap_s: float = 300.0,
) -> tuple[pd.DataFrame, CleaningReport]:
    """The fixes worth drawing, ordered by officer and time, and what was dropped.

    In turn: of fixes of one officer at the same instant only the most accurate is
    kept (unknown accuracy counts as worst); fixes whose accuracy is worse than
    ``max_accuracy_m`` are dropped (unknown accuracy is kept); then a fix is dropped
    when reaching it from the officer's last kept fix would take more than
    ``max_speed_mps``. Judging from the last *kept* fix, not the previous one, lets a
    lone spike go without taking the good fix after it.

    A fix with no kept fix of its officer within ``max_gap_s`` before it starts a run
    (a future track) and has nothing behind it to be judged by, so it is judged by
    what follows: it is kept if the next fix is within reach, or if the fix after
    that is within reach of it but not of the next one (the next one is then the
    spike). Otherwise it is dropped and the next fix is tried as the run's first. So
    a spike as the first fix of a shift is dropped too, not the fixes after it.

    Parameters
    ----------
    fixes : DataFrame
        Columns ``FIX_COLUMNS``, ``recorded_at`` tz-aware, ``x``/``y`` in metres.
    max_accuracy_m, max_speed_mps, max_gap_s : float
        The thresholds; ``max_gap_s`` should be the one the fixes are split with.

    Returns
    -------
    clean : DataFrame
        The kept rows, all columns, sorted by officer and time, on a fresh index.
    report : CleaningReport
        With ``tracks`` still None.
    """
    _check_fixes(fixes)
    seconds = epoch_seconds(fixes["recorded_at"])
    officer = fixes["officer_id"].to_numpy()
    accuracy = fixes["accuracy_m"].to_numpy(dtype=float, na_value=np.nan)
    order, duplicate = _order_most_accurate_first(officer, seconds, accuracy)
    poor = ~duplicate & (accuracy[order] > max_accuracy_m)
    candidates = order[~duplicate & ~poor]
    jump = _speed_jumps(
        officer[candidates],
        seconds[candidates],
        fixes["x"].to_numpy(dtype=float)[candidates],
        fixes["y"].to_numpy(dtype=float)[candidates],
        max_speed_mps=max_speed_mps,
        max_gap_s=max_gap_s,
    )
    kept = candidates[~jump]
    report = CleaningReport(
        input=len(fixes),
        duplicates=int(duplicate.sum()),
        poor_accuracy=int(poor.sum()),
        speed_jumps=int(jump.sum()),
        kept=len(kept),
    )
    return fixes.iloc[kept].reset_index(drop=True), report


def split_tracks(clean: pd.DataFrame, *, max_gap_s: float = 300.0) -> pd.DataFrame:
    """One track per run of an officer's fixes with no gap longer than ``max_gap_s``.

    Expects cleaned fixes (one per officer and instant). A run of a single fix makes
    no line and is left out (``CleaningReport.with_tracks`` counts those).

    Parameters
    ----------
    clean : DataFrame
        Columns ``FIX_COLUMNS`` (accuracy is not used), and ``synthetic`` if the fixes
        have it. ``x``/``y`` are taken as they are: splitting measures only time, so
        they may be in any CRS.
    max_gap_s : float
        The longest silence inside a track, in seconds.

    Returns
    -------
    DataFrame
        ``officer_id``, ``started_at``, ``ended_at``, ``n_fixes``, ``geom`` (a shapely
        LINESTRING M of x, y, epoch seconds) and, if the fixes have it, ``synthetic``
        (true when all the track's fixes are). Sorted by officer and start.
    """
    _check_fixes(clean)
    seconds = epoch_seconds(clean["recorded_at"])
    officer = clean["officer_id"].to_numpy()
    order = np.lexsort((seconds, officer))
    officer, seconds = officer[order], seconds[order]
    breaks = (officer[1:] != officer[:-1]) | (np.diff(seconds) > max_gap_s)
    first = np.flatnonzero(np.r_[len(order) > 0, breaks])
    counts = np.diff(np.r_[first, len(order)])
    lines = counts >= 2
    on_line = np.repeat(lines, counts)
    vertices = np.column_stack(
        [
            clean["x"].to_numpy(dtype=float)[order],
            clean["y"].to_numpy(dtype=float)[order],
            seconds,
        ]
    )[on_line]
    start, end = first[lines], first[lines] + counts[lines] - 1
    times = clean["recorded_at"].iloc[order].reset_index(drop=True)
    tracks = pd.DataFrame(
        {
            "officer_id": officer[start],
            "started_at": times.iloc[start].reset_index(drop=True),
            "ended_at": times.iloc[end].reset_index(drop=True),
            "n_fixes": counts[lines],
            "geom": linestrings_m(vertices, np.r_[0, np.cumsum(counts[lines])]),
        }
    )
    if "synthetic" in clean and len(order):
        synthetic = clean["synthetic"].to_numpy(dtype=bool)[order]
        tracks["synthetic"] = np.logical_and.reduceat(synthetic, first)[lines]
    return tracks


def linestrings_m(vertices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """LINESTRING M geometries: line i from rows ``offsets[i]:offsets[i + 1]`` of (x, y, m).

    Shapely reads, writes and keeps M (GEOS 3.12+), but its constructors make Z of a
    third coordinate, so the lines are written as ISO WKB and read back.
    """
    values = np.ascontiguousarray(vertices, dtype="<f8")
    wkb = [
        _WKB_LINESTRING_M.pack(1, _ISO_LINESTRING_M, end - start) + values[start:end].tobytes()
        for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
    ]
    return shapely.from_wkb(np.array(wkb, dtype=object))


def epoch_seconds(times: pd.Series) -> np.ndarray:
    """Seconds since 1970-01-01 UTC of tz-aware times, to the microsecond."""
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise ValueError("fix times must be tz-aware (UTC)")
    return times.to_numpy(dtype="datetime64[us]").view(np.int64) / 1e6


def _check_fixes(fixes: pd.DataFrame) -> None:
    missing = [c for c in FIX_COLUMNS if c not in fixes]
    if missing:
        raise ValueError(f"fixes lack the column(s) {missing}")


def _order_most_accurate_first(
    officer: np.ndarray, seconds: np.ndarray, accuracy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The order by officer and time, the most accurate first among fixes of one instant,
    and which places in that order repeat the instant before them.

    Only the few repeated instants are ordered by accuracy: a third sort key over all
    the fixes would triple the time of a sort that is nearly free on fixes read in order.
    """
    order = np.lexsort((seconds, officer))
    repeats = (officer[order][1:] == officer[order][:-1]) & (
        seconds[order][1:] == seconds[order][:-1]
    )
    duplicate = np.r_[False, repeats]
    tied = np.flatnonzero(duplicate | np.r_[repeats, False])
    instant = np.cumsum(~duplicate)[tied]
    unknown_last = np.nan_to_num(accuracy[order[tied]], nan=np.inf)
    order[tied] = order[tied][np.lexsort((unknown_last, instant))]
    return order, duplicate


def _speed_jumps(
    officer: np.ndarray,
    seconds: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    max_speed_mps: float,
    max_gap_s: float,
) -> np.ndarray:
    """Which fixes (sorted by officer and time, one per instant) are impossible jumps.

    Where each fix is within reach of the one before (the usual case), all are kept
    and nothing is walked; a Python pass walks only from each exception until the
    kept fixes are back in step with the fixes, as described in ``clean_fixes``.
    """
    n = len(seconds)
    dropped = np.zeros(n, dtype=bool)

    def within_reach(a: int, b: int) -> bool:
        metres = np.hypot(x[b] - x[a], y[b] - y[a])
        return bool(metres <= max_speed_mps * (seconds[b] - seconds[a]))

    def opens_a_run(k: int) -> bool:
        """Whether fix k, with no kept fix behind it, is kept as the first of a run."""
        after = [j for j in (k + 1, k + 2) if j < n and officer[j] == officer[k]
                 and seconds[j] - seconds[k] <= max_gap_s]
        if not after or within_reach(k, after[0]):
            return True
        return (len(after) == 2 and within_reach(k, after[1])
                and not within_reach(after[0], after[1]))

    dt = np.diff(seconds)
    in_step = np.r_[
        False,
        (officer[1:] == officer[:-1])
        & (dt <= max_gap_s)
        & (np.hypot(np.diff(x), np.diff(y)) <= max_speed_mps * dt),
    ]
    walked_to = 0
    for start in np.flatnonzero(~in_step).tolist():
        if start < walked_to:
            continue
        # Every fix before ``start`` not yet walked is in step, hence kept.
        last, k = start - 1, start
        while k < n:
            anchored = (last >= 0 and officer[last] == officer[k]
                        and seconds[k] - seconds[last] <= max_gap_s)
            keep = within_reach(last, k) if anchored else opens_a_run(k)
            if keep:
                last = k
            else:
                dropped[k] = True
            k += 1
            if keep and (k == n or in_step[k]):
                break
        walked_to = k
    return dropped
