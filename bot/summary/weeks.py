"""ISO-week arithmetic: parsing "2026-W48", week boundaries and the weekly posting slot (UTC).

A weekly post belongs to the ISO week in which it is scheduled. It covers the seven days that
end at its scheduled time, so a Monday 09:00 post covers Monday 09:00 to Monday 09:00 and a
Friday post covers Friday to Friday, whatever day the operator chose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
WEEK = timedelta(days=7)


class WeekError(ValueError):
    """A malformed ISO week, with a message for the user."""


@dataclass(frozen=True, order=True, slots=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        last = date(self.year, 12, 28).isocalendar().week  # Dec 28 is always in the last week
        if not 1 <= self.week <= last:
            raise WeekError(f"{self.year} has ISO weeks 1 to {last}, not {self.week}")

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        m = _WEEK_RE.match(text.strip())
        if not m:
            raise WeekError(f"not an ISO week: {text!r} (expected YYYY-Www, e.g. 2026-W48)")
        try:
            return cls(int(m.group(1)), int(m.group(2)))
        except ValueError as exc:  # year 0000 and the like
            raise WeekError(f"not an ISO week: {text!r}: {exc}") from exc

    @classmethod
    def of(cls, when: datetime) -> IsoWeek:
        cal = as_utc(when).isocalendar()
        return cls(cal.year, cal.week)

    def start(self) -> datetime:
        """Monday 00:00 UTC."""
        monday = date.fromisocalendar(self.year, self.week, 1)
        return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)

    def shift(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.start() + timedelta(weeks=weeks))

    def slot(self, weekday: int, hour: int) -> datetime:
        """The scheduled posting time in this week: ``weekday`` 0 = Monday, ``hour`` UTC."""
        if not 0 <= weekday <= 6:
            raise WeekError(f"summary weekday must be 0 (Monday) to 6 (Sunday), not {weekday}")
        if not 0 <= hour <= 23:
            raise WeekError(f"summary hour must be 0 to 23 (UTC), not {hour}")
        return self.start() + timedelta(days=weekday, hours=hour)


def as_utc(when: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the store keeps UTC)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def due_week(now: datetime, weekday: int, hour: int) -> IsoWeek:
    """The latest week whose posting slot is at or before ``now``."""
    week = IsoWeek.of(now)
    return week if week.slot(weekday, hour) <= as_utc(now) else week.shift(-1)


def window(week: IsoWeek, weekday: int, hour: int) -> tuple[datetime, datetime]:
    """The seven days a week's post covers: (slot - 7 days, slot)."""
    end = week.slot(weekday, hour)
    return end - WEEK, end
