"""Per-type validation of vital readings, and the reminder schedule across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.reminders import schedule
from domain.vitals import VitalProblem, VitalType, validate_reading

V = VitalType


@pytest.mark.parametrize(
    ("vital_type", "value", "unit", "canonical"),
    [
        (
            V.BLOOD_PRESSURE,
            {"systolic": 120, "diastolic": 80},
            "mmHg",
            {"systolic": 120, "diastolic": 80},
        ),
        (V.HEART_RATE, 72, "bpm", {"value": 72}),
        (V.GLUCOSE, 5.4, "mmol/L", {"value": 5.4}),
        (V.GLUCOSE, 90, "mg/dL", {"value": 4.9957}),
        (V.WEIGHT, 70.5, "kg", {"value": 70.5}),
        (V.WEIGHT, 154, "lb", {"value": 69.8533}),
        (V.TEMPERATURE, 36.8, "Cel", {"value": 36.8}),
        (V.TEMPERATURE, 98.6, "°F", {"value": 37.0}),
        (V.SPO2, 97, "%", {"value": 97}),
    ],
)
def test_plausible_readings_are_accepted_and_normalised(
    vital_type: V, value: Any, unit: str, canonical: dict[str, float]
) -> None:
    reading = validate_reading(vital_type, value, unit)
    assert reading.canonical == pytest.approx(canonical, abs=1e-3)


@pytest.mark.parametrize(
    ("vital_type", "value", "unit", "field"),
    [
        (V.BLOOD_PRESSURE, {"systolic": 80, "diastolic": 120}, "mmHg", "value.diastolic"),
        (V.BLOOD_PRESSURE, {"systolic": 400, "diastolic": 80}, "mmHg", "value.systolic"),
        (V.BLOOD_PRESSURE, 120, "mmHg", "value"),
        (V.BLOOD_PRESSURE, {"systolic": 120}, "mmHg", "value"),
        (V.BLOOD_PRESSURE, {"systolic": 120, "diastolic": 80}, "kPa", "unit"),
        (V.HEART_RATE, 0, "/min", "value"),
        (V.HEART_RATE, 72, "kg", "unit"),
        (V.HEART_RATE, True, "/min", "value"),
        (V.HEART_RATE, "72", "/min", "value"),
        (V.HEART_RATE, {"value": 72}, "/min", "value"),
        (V.GLUCOSE, 90, "mmol/L", "value"),  # 90 mmol/L: a mg/dL figure in the wrong unit
        (V.TEMPERATURE, 98.6, "Cel", "value"),
        (V.TEMPERATURE, float("nan"), "Cel", "value"),
        (V.TEMPERATURE, float("inf"), "Cel", "value"),
        (V.SPO2, 101, "%", "value"),
        (V.WEIGHT, -3, "kg", "value"),
    ],
)
def test_implausible_readings_name_the_field(
    vital_type: V, value: Any, unit: str, field: str
) -> None:
    with pytest.raises(VitalProblem) as info:
        validate_reading(vital_type, value, unit)
    assert info.value.field == field


def test_schedule_keeps_local_times_across_spring_forward() -> None:
    ny = ZoneInfo("America/New_York")
    doses = schedule(times=[8 * 60, 20 * 60], tz=ny, start_date=date(2026, 3, 7), days=3)
    assert [d.due_at.astimezone(ny).strftime("%d %H:%M") for d in doses] == [
        "07 08:00",
        "07 20:00",
        "08 08:00",
        "08 20:00",
        "09 08:00",
        "09 20:00",
    ]
    # 08:00 EST is 13:00Z; 08:00 EDT is 12:00Z.
    assert doses[0].due_at == datetime(2026, 3, 7, 13, tzinfo=UTC)
    assert doses[2].due_at == datetime(2026, 3, 8, 12, tzinfo=UTC)


def test_schedule_inside_the_gap_and_the_repeated_hour() -> None:
    ny = ZoneInfo("America/New_York")
    spring = schedule(times=[2 * 60 + 30], tz=ny, start_date=date(2026, 3, 8), days=1)
    assert spring[0].due_at == datetime(2026, 3, 8, 7, tzinfo=UTC)  # 03:00 EDT, end of the gap
    autumn = schedule(times=[60 + 30], tz=ny, start_date=date(2026, 11, 1), days=1)
    assert len(autumn) == 1
    assert autumn[0].due_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # first 01:30 (EDT)


def test_schedule_drops_duplicate_times() -> None:
    doses = schedule(times=[480, 480], tz=ZoneInfo("UTC"), start_date=date(2026, 1, 1), days=2)
    assert len(doses) == 2
