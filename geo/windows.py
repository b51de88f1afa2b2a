"""Daily time windows in local time, such as the night 22:00-06:00 that crosses midnight."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

import numpy as np
import pandas as pd

DAY_S = 86_400
_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class DailyWindow:
    """Every day from ``start`` to ``end`` local time; ``end <= start`` runs past midnight.

    Equal start and end mean the whole day. A window belongs to the date it starts on:
    the night of 9 November runs from 22:00 on the 9th to 06:00 on the 10th.
    """

    start_s: int
    end_s: int

    @classmethod
    def parse(cls, text: str) -> DailyWindow:
        match = _PATTERN.match(text.strip())
        if not match:
            raise ValueError(f"window '{text}' must be HH:MM-HH:MM with hours 00-23, e.g. 22:00-06:00")
        h0, m0, h1, m1 = map(int, match.groups())
        return cls(h0 * 3600 + m0 * 60, h1 * 3600 + m1 * 60)

    @property
    def length_s(self) -> int:
        return (self.end_s - self.start_s) % DAY_S or DAY_S

    def __str__(self) -> str:
        return f"{time(self.start_s // 3600, self.start_s % 3600 // 60):%H:%M}-" \
               f"{time(self.end_s // 3600, self.end_s % 3600 // 60):%H:%M}"

    def _shifted(self, epoch_s: np.ndarray, tz: str) -> np.ndarray:
        """Local seconds since the epoch, moved back so that each window starts at a midnight."""
        stamps = pd.to_datetime(np.asarray(epoch_s, dtype=float), unit="s", utc=True).tz_convert(tz)
        local = stamps.tz_localize(None).to_numpy().astype("datetime64[ns]").astype(np.int64) / 1e9
        return local - self.start_s

    def locate(self, epoch_s: np.ndarray, tz: str) -> tuple[np.ndarray, np.ndarray]:
        """For each moment: whether it falls in a window, and the date that window started on."""
        shifted = self._shifted(epoch_s, tz)
        day = np.floor(shifted / DAY_S)
        inside = shifted - day * DAY_S < self.length_s
        dates = (day.astype("int64")).astype("datetime64[D]")
        return inside, dates

    def elapsed(self, epoch_s: np.ndarray, tz: str) -> np.ndarray:
        """Seconds of window time since the epoch: differences are gaps that skip the daytime."""
        shifted = self._shifted(epoch_s, tz)
        day = np.floor(shifted / DAY_S)
        return day * self.length_s + np.minimum(shifted - day * DAY_S, self.length_s)


def in_nights(epoch_s: np.ndarray, window: DailyWindow, tz: str, first: date, last: date) -> np.ndarray:
    """Moments inside a window that started on a date from ``first`` to ``last``."""
    inside, dates = window.locate(epoch_s, tz)
    return inside & (dates >= np.datetime64(first)) & (dates <= np.datetime64(last))
