from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.summary.weeks import IsoWeek, WeekError, due_week, window


def test_parse_and_format_round_trip() -> None:
    assert str(IsoWeek.parse("2026-W05")) == "2026-W05"
    assert IsoWeek.parse(" 2026-W48 ") == IsoWeek(2026, 48)


@pytest.mark.parametrize("bad", ["2026-48", "2026-W5", "W48", "", "2026-W00", "2025-W53", "x"])
def test_bad_weeks_are_refused_with_a_message(bad: str) -> None:
    with pytest.raises(WeekError):
        IsoWeek.parse(bad)


def test_year_with_53_weeks_and_year_boundaries() -> None:
    assert IsoWeek.parse("2026-W53").start() == datetime(2026, 12, 28, tzinfo=UTC)
    assert IsoWeek(2026, 53).shift(1) == IsoWeek(2027, 1)
    # 2027-01-01 is a Friday: still ISO week 53 of 2026.
    assert IsoWeek.of(datetime(2027, 1, 1, 12, tzinfo=UTC)) == IsoWeek(2026, 53)


def test_slot_and_due_week() -> None:
    w = IsoWeek(2026, 48)  # Monday 2026-11-23
    assert w.slot(0, 9) == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert w.slot(4, 17) == datetime(2026, 11, 27, 17, tzinfo=UTC)
    assert due_week(datetime(2026, 11, 23, 8, 59, tzinfo=UTC), 0, 9) == IsoWeek(2026, 47)
    assert due_week(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), 0, 9) == w
    assert due_week(datetime(2026, 11, 29, 23, 0, tzinfo=UTC), 0, 9) == w
    # Times in other zones are converted, naive ones taken as UTC.
    cet = timezone(timedelta(hours=1))
    assert due_week(datetime(2026, 11, 23, 10, 0, tzinfo=cet), 0, 9) == w
    assert due_week(datetime(2026, 11, 23, 9, 0), 0, 9) == w


def test_window_is_the_seven_days_before_the_slot() -> None:
    since, until = window(IsoWeek(2026, 48), 4, 17)
    assert until - since == timedelta(days=7)
    assert until == datetime(2026, 11, 27, 17, tzinfo=UTC)


def test_bad_schedule_settings() -> None:
    with pytest.raises(WeekError):
        IsoWeek(2026, 1).slot(7, 9)
    with pytest.raises(WeekError):
        IsoWeek(2026, 1).slot(0, 24)
