"""The waiting room as the people in it see it: pure functions over the hub's rooms.

A doctor's queue is the rooms of that doctor whose patient is waiting and connected, first
come first served (the order of ``waiting_since``, the one the clinic console shows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.appointments import AppointmentStatus
from domain.consultation import Room
from domain.users import Role


@dataclass(frozen=True, slots=True)
class QueuePlace:
    position: int | None  # 1 = next; None when this patient is not waiting now
    waiting: int  # patients waiting for this doctor, this one included
    doctor_busy: bool  # the doctor is in another consultation in progress
    waiting_since: datetime | None


def _order(room: Room) -> tuple[datetime, str]:
    return (room.waiting_since or room.opened_at, room.appointment_id)


def current_consultation_start(
    rooms: list[Room], appointment_id: str, doctor_id: str
) -> datetime | None:
    """When the doctor's consultation in progress (another than this one) started; None when
    the doctor is free. The earliest, should a doctor hold two."""
    starts = [
        r.started_at or r.opened_at
        for r in rooms
        if r.doctor.id == doctor_id
        and r.appointment_id != appointment_id
        and r.status is AppointmentStatus.IN_PROGRESS
    ]
    return min(starts, default=None)


def doctor_rooms(rooms: list[Room], doctor_id: str) -> list[Room]:
    """The doctor's open rooms, those with a waiting patient first in arrival order."""
    mine = [r for r in rooms if r.doctor.id == doctor_id]
    return sorted(mine, key=lambda r: (not r.patient_waiting, *_order(r)))


def queue_place(rooms: list[Room], appointment_id: str, doctor_id: str) -> QueuePlace:
    mine = [r for r in rooms if r.doctor.id == doctor_id]
    waiting = sorted((r for r in mine if r.patient_waiting), key=_order)
    ids: list[str] = [r.appointment_id for r in waiting]
    this = next((r for r in mine if r.appointment_id == appointment_id), None)
    busy = any(
        r.appointment_id != appointment_id
        and r.status is AppointmentStatus.IN_PROGRESS
        and any(s.role is Role.DOCTOR and s.connected for s in r.seats)
        for r in mine
    )
    return QueuePlace(
        position=ids.index(appointment_id) + 1 if appointment_id in ids else None,
        waiting=len(ids),
        doctor_busy=busy,
        waiting_since=this.waiting_since if this is not None else None,
    )
