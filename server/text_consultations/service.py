"""Use cases of text consultations over the repositories (the rules are in
``domain/text_consultations.py``). What a caller may not see is ``NotFound``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domain.appointments import Appointment, AppointmentStatus
from domain.clock import Clock
from domain.errors import Conflict, NotFound
from domain.text_consultations import (
    DEFAULT_VIDEO_MINUTES,
    QueueCounts,
    check_end,
    queue,
    text_sources_of,
    to_video,
)
from domain.users import Principal
from server.appointments.service import AppointmentService, AppointmentView
from storage.mongo import Repositories

# Tells both participants what changed (the hub's ``text:updated``).
Tell = Callable[[Appointment, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TextQueue:
    consultations: list[AppointmentView]
    counts: QueueCounts


class TextConsultationService:
    def __init__(
        self,
        repos: Repositories,
        appointments: AppointmentService,
        *,
        clock: Clock,
        tell: Tell,
    ) -> None:
        self._repos = repos
        self._appointments = appointments
        self._clock = clock
        self._tell = tell

    async def doctor_queue(self, principal: Principal, doctor_id: str) -> TextQueue:
        """The doctor's open text consultations, oldest question first (that doctor, or an
        admin)."""
        if not principal.is_admin and principal.user_id != doctor_id:
            raise NotFound("no such doctor")
        doctor = await self._appointments.doctor(doctor_id)
        now = self._clock()
        entries = queue(await self._repos.appointments.open_text(doctor_id=doctor.id), now)
        views = await self._appointments.views(principal, [e.appointment for e in entries])
        waiting = sum(1 for e in entries if e.appointment.status is AppointmentStatus.BOOKED)
        overdue = sum(1 for e in entries if e.overdue)
        return TextQueue(
            consultations=views,
            counts=QueueCounts(
                waiting=waiting, overdue=overdue, in_progress=len(entries) - waiting
            ),
        )

    async def counts(self) -> QueueCounts:
        waiting, overdue, in_progress = await self._repos.appointments.text_counts(self._clock())
        return QueueCounts(waiting=waiting, overdue=overdue, in_progress=in_progress)

    async def end(self, principal: Principal, appointment_id: str) -> AppointmentView:
        """Its doctor ends an answered text consultation; both participants hear it."""
        appointment = await self._get(appointment_id)
        check_end(appointment, principal.user_id)
        target = AppointmentStatus.COMPLETED
        moved = await self._repos.appointments.move_text(
            appointment.id, target, sources=text_sources_of(target), now=self._clock()
        )
        if moved is None:
            raise Conflict("the consultation changed meanwhile; reload it")
        await self._tell(moved, "ended")
        return await self._appointments.get(principal, moved.id)

    async def to_video(self, principal: Principal, appointment_id: str) -> AppointmentView:
        """Its doctor turns an open text consultation into a video consultation starting now;
        the patient hears it (and joins the waiting room)."""
        appointment = await self._get(appointment_id)
        now = self._clock()
        found = await self._repos.availability.get(appointment.doctor_id)
        call = to_video(
            appointment,
            principal.user_id,
            now=now,
            minutes=found.slot_minutes if found is not None else DEFAULT_VIDEO_MINUTES,
        )
        moved = await self._repos.appointments.convert_to_video(
            appointment.id, sources=call.sources, start=call.start, end=call.end, now=now
        )
        if moved is None:
            raise Conflict("the consultation changed meanwhile; reload it")
        await self._tell(moved, "video")
        return await self._appointments.get(principal, moved.id)

    async def _get(self, appointment_id: str) -> Appointment:
        appointment = await self._repos.appointments.get(appointment_id)
        if appointment is None:
            raise NotFound("no such text consultation")
        return appointment
