"""The waiting room's order, as patients and the clinic console see it (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from domain.appointments import AppointmentStatus
from domain.consultation import Person, Room, Seat, SeatState
from domain.ids import AppointmentId, UserId
from domain.users import Role
from server.consultations.queue import doctor_rooms, queue_place

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DOCTOR = Person(UserId("d" * 24), "Dr")


def room(
    n: int, *, waiting_minute: int | None, connected: bool = True, doctor: Person = DOCTOR
) -> Room:
    patient = Person(UserId(f"{n:024d}"), f"P{n}")
    seats: tuple[Seat, ...] = ()
    status = AppointmentStatus.BOOKED
    if waiting_minute is not None:
        status = AppointmentStatus.WAITING
        seats = (
            Seat(
                patient.id,
                Role.PATIENT,
                patient.name,
                SeatState.WAITING,
                "sid" if connected else None,
            ),
        )
    return Room(
        appointment_id=AppointmentId(f"a{n:023d}"),
        doctor=doctor,
        patient=patient,
        status=status,
        opened_at=T0,
        closes_at=T0 + timedelta(hours=1),
        waiting_since=T0 + timedelta(minutes=waiting_minute)
        if waiting_minute is not None
        else None,
        seats=seats,
    )


def in_progress(n: int) -> Room:
    r = room(n, waiting_minute=0)
    doctor_seat = Seat(DOCTOR.id, Role.DOCTOR, DOCTOR.name, SeatState.ADMITTED, "dsid")
    return replace(r, status=AppointmentStatus.IN_PROGRESS, seats=(doctor_seat,)).started(T0)


def test_first_come_first_served() -> None:
    rooms = [room(1, waiting_minute=5), room(2, waiting_minute=1), room(3, waiting_minute=3)]
    assert queue_place(rooms, rooms[1].appointment_id, DOCTOR.id).position == 1
    assert queue_place(rooms, rooms[2].appointment_id, DOCTOR.id).position == 2
    place = queue_place(rooms, rooms[0].appointment_id, DOCTOR.id)
    assert place.position == 3
    assert place.waiting == 3
    assert place.doctor_busy is False


def test_only_connected_waiting_patients_of_that_doctor_count() -> None:
    other = Person(UserId("e" * 24), "Other")
    rooms = [
        room(1, waiting_minute=1, connected=False),
        room(2, waiting_minute=2, doctor=other),
        room(3, waiting_minute=3),
        room(4, waiting_minute=None),
    ]
    place = queue_place(rooms, rooms[2].appointment_id, DOCTOR.id)
    assert (place.position, place.waiting) == (1, 1)
    assert queue_place(rooms, rooms[0].appointment_id, DOCTOR.id).position is None
    assert queue_place(rooms, "f" * 24, DOCTOR.id).position is None


def test_a_doctor_in_another_consultation_is_busy() -> None:
    rooms = [in_progress(1), room(2, waiting_minute=4)]
    place = queue_place(rooms, rooms[1].appointment_id, DOCTOR.id)
    assert place.doctor_busy is True
    assert place.position == 1
    assert queue_place(rooms, rooms[0].appointment_id, DOCTOR.id).doctor_busy is False


def test_console_order_puts_waiting_patients_first() -> None:
    rooms = [in_progress(1), room(2, waiting_minute=4), room(3, waiting_minute=2)]
    ordered = [r.appointment_id for r in doctor_rooms(rooms, DOCTOR.id)]
    assert ordered == [rooms[2].appointment_id, rooms[1].appointment_id, rooms[0].appointment_id]
