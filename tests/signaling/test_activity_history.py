"""The admin's activity history: sampled on the server once per interval (one point per slot
however many nodes run), kept for half an hour, served by ``GET /admin/activity``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.activity import (
    HISTORY_SECONDS,
    SAMPLE_SECONDS,
    ActivitySample,
    oldest_kept,
    sample_of,
    slot_of,
)
from domain.appointments import Appointment, AppointmentKind, AppointmentStatus
from domain.consultation import JoinWindow, Room, Seat, SeatState
from domain.users import Role
from server import keys
from server.activity.history import MemoryActivityHistory
from server.settings import RedisSettings, Settings
from tests.clock import FakeClock
from tests.conftest import long_sessions
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import joined

T0 = datetime(2026, 3, 3, 2, 0, 3, tzinfo=UTC)


def _room(appointment_id: str, *connected: bool) -> Room:
    appointment = Appointment(
        id=appointment_id,
        patient_id="p",
        doctor_id="d",
        start=T0,
        end=T0 + timedelta(minutes=30),
        kind=AppointmentKind.VIDEO,
        reason="",
        status=AppointmentStatus.WAITING,
        created_at=T0,
        updated_at=T0,
    )
    room = Room.open(
        appointment,
        doctor_name="D",
        patient_name="P",
        window=JoinWindow(early=timedelta(minutes=10), grace=timedelta(minutes=10)),
        now=T0,
    )
    seats = tuple(
        Seat(str(i), Role.PATIENT, "P", SeatState.WAITING, sid=f"s{i}" if c else None)
        for i, c in enumerate(connected)
    )
    return Room(**{**{f: getattr(room, f) for f in room.__slots__}, "seats": seats})


def test_every_node_computes_the_same_slot_and_counts_connected_seats() -> None:
    assert slot_of(T0) == slot_of(T0 + timedelta(seconds=SAMPLE_SECONDS - 4))
    assert slot_of(T0 + timedelta(seconds=SAMPLE_SECONDS)) == slot_of(T0) + SAMPLE_SECONDS
    assert slot_of(T0) % SAMPLE_SECONDS == 0
    sample = sample_of([_room("a", True, False), _room("b", True, True)], at=slot_of(T0))
    assert (sample.rooms, sample.people) == (2, 3)
    assert oldest_kept(T0) == slot_of(T0) - HISTORY_SECONDS
    with pytest.raises(ValueError, match="from zero"):
        ActivitySample(at=0, rooms=-1, people=0)


async def test_in_process_history_keeps_one_sample_per_slot_for_half_an_hour() -> None:
    history = MemoryActivityHistory()
    first = slot_of(T0)
    assert await history.record(ActivitySample(first, 1, 2))
    assert not await history.record(ActivitySample(first, 5, 5))  # that slot is taken
    later = first + HISTORY_SECONDS + SAMPLE_SECONDS
    assert await history.record(ActivitySample(later, 0, 0))
    assert await history.since(0) == [ActivitySample(later, 0, 0)]  # the first one fell out


@pytest.mark.redis
async def test_two_nodes_share_one_series_served_to_admins(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    # A fresh database name gives a fresh Redis prefix: no other test's series. The clock
    # starts at the real time: the Redis registry's keys expire at the rooms' closing times.
    clock = FakeClock()
    shared = long_sessions(settings).with_(redis=RedisSettings(redis_url=redis_url))
    one = await make_clinic(shared, clock=clock)
    two = await make_clinic(shared, clock=clock)
    patient = await one.user(Role.PATIENT)
    doctor = await one.user(Role.DOCTOR)
    admin = await two.user(Role.ADMIN)
    appointment = await one.appointment(patient, doctor)
    await joined(one, patient, appointment)  # on node one: one room, one person

    samplers = [one.client.app[keys.ACTIVITY], two.client.app[keys.ACTIVITY]]
    slots = []
    for _ in range(3):
        clock.advance(seconds=SAMPLE_SECONDS)
        slots.append(slot_of(clock.now))
        recorded = [await s.sample_once() for s in samplers]
        assert sum(recorded) <= 1  # never both: one point per slot (the loop may be first)

    async def history(node_user: dict[str, object], clinic: object) -> dict[str, object]:
        response = await clinic.client.get(  # type: ignore[attr-defined]
            "/api/v1/admin/activity",
            headers={"Authorization": f"Bearer {node_user['access_token']}"},
        )
        assert response.status == 200, await response.text()
        body: dict[str, object] = await response.json()
        return body

    body = await history(admin, one)  # admin signed in on node two, asking node one
    assert body["interval_seconds"] == SAMPLE_SECONDS
    assert body["window_seconds"] == HISTORY_SECONDS
    points = body["samples"]
    assert isinstance(points, list)
    seen = {
        int(datetime.fromisoformat(p["at"].replace("Z", "+00:00")).timestamp()): p for p in points
    }
    assert len(seen) == len(points)  # one per slot
    for slot in slots:
        assert (seen[slot]["rooms"], seen[slot]["people"]) == (1, 1)
    assert await history(admin, two) == body  # the same series from either node

    # Half an hour later the old points have fallen out.
    clock.advance(seconds=HISTORY_SECONDS + SAMPLE_SECONDS)
    await samplers[1].sample_once()
    later = await history(admin, two)
    assert isinstance(later["samples"], list)
    assert all(
        int(datetime.fromisoformat(p["at"].replace("Z", "+00:00")).timestamp()) not in slots
        for p in later["samples"]
    )

    refused = await one.client.get(
        "/api/v1/admin/activity", headers={"Authorization": f"Bearer {patient['access_token']}"}
    )
    assert refused.status == 403
