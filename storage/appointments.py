"""The ``appointments`` collection.

Double booking is impossible by construction: a unique partial index on (doctor_id, start)
covers every appointment that holds its slot (``holds_slot: true``); cancelling clears the
flag and so frees the slot. Concurrent bookings of one slot race on the index, not on a read.
A text consultation (kind ``text``) holds no slot: it waits on the doctor's text queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from domain.appointments import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    sources_of,
)
from domain.errors import Conflict
from domain.ids import AppointmentId, UserId, new_id
from storage.batches import find_by_ids
from storage.paging import After, Page, find_page

Document = dict[str, Any]


def to_appointment(doc: Document) -> Appointment:
    return Appointment(
        id=AppointmentId(doc["_id"]),
        patient_id=UserId(doc["patient_id"]),
        doctor_id=UserId(doc["doctor_id"]),
        start=doc["start"],
        end=doc["end"],
        kind=AppointmentKind(doc["kind"]),
        reason=doc.get("reason", ""),
        status=AppointmentStatus(doc["status"]),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        waiting_since=doc.get("waiting_since"),
        started_at=doc.get("started_at"),
        ended_at=doc.get("ended_at"),
        cancelled_by=doc.get("cancelled_by"),
        cancel_reason=doc.get("cancel_reason"),
        respond_by=doc.get("respond_by"),
        converted_at=doc.get("converted_at"),
    )


class AppointmentRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("doctor_id", ASCENDING), ("start", ASCENDING)],
            unique=True,
            partialFilterExpression={"holds_slot": True},
            name="one_booking_per_slot",
        )
        await self._c.create_index(
            [("patient_id", ASCENDING), ("start", DESCENDING)], name="patient"
        )
        await self._c.create_index([("doctor_id", ASCENDING), ("start", DESCENDING)], name="doctor")
        await self._c.create_index([("status", ASCENDING), ("start", ASCENDING)], name="status")
        await self._c.create_index(
            [("kind", ASCENDING), ("status", ASCENDING), ("doctor_id", ASCENDING)],
            partialFilterExpression={"kind": AppointmentKind.TEXT.value},
            name="text_queue",
        )

    async def insert(
        self,
        *,
        patient_id: UserId,
        doctor_id: UserId,
        start: datetime,
        end: datetime,
        kind: AppointmentKind,
        reason: str,
        now: datetime,
        respond_by: datetime | None = None,
    ) -> Appointment:
        """Book a slot; :class:`Conflict` if an active appointment already holds it. A text
        consultation (``respond_by`` given) holds no slot."""
        doc: Document = {
            "_id": new_id(),
            "patient_id": patient_id,
            "doctor_id": doctor_id,
            "start": start,
            "end": end,
            "kind": kind.value,
            "reason": reason,
            "status": AppointmentStatus.BOOKED.value,
            "created_at": now,
            "updated_at": now,
        }
        if respond_by is None:
            doc["holds_slot"] = True
        else:
            doc["respond_by"] = respond_by
        try:
            await self._c.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict("this slot has just been taken") from None
        return to_appointment(doc)

    async def get(self, appointment_id: str) -> Appointment | None:
        doc = await self._c.find_one({"_id": appointment_id})
        return to_appointment(doc) if doc else None

    async def get_many(self, appointment_ids: list[str]) -> dict[str, Appointment]:
        """These appointments by id (missing ones are absent)."""
        return {
            doc["_id"]: to_appointment(doc) async for doc in find_by_ids(self._c, appointment_ids)
        }

    async def transition(
        self,
        appointment_id: str,
        target: AppointmentStatus,
        *,
        now: datetime,
        extra: dict[str, Any] | None = None,
    ) -> Appointment | None:
        """Move to ``target`` only from a status allowed to reach it (compare-and-set).
        ``None`` when the appointment is missing or its status does not allow the move."""
        update: Document = {"status": target.value, "updated_at": now, **(extra or {})}
        if target is AppointmentStatus.WAITING:
            update.setdefault("waiting_since", now)
        elif target is AppointmentStatus.IN_PROGRESS:
            update.setdefault("started_at", now)
        elif target is AppointmentStatus.COMPLETED:
            update.setdefault("ended_at", now)
        changes: Document = {"$set": update}
        if target not in ACTIVE_STATUSES:
            changes["$unset"] = {"holds_slot": ""}
        doc = await self._c.find_one_and_update(
            {"_id": appointment_id, "status": {"$in": [s.value for s in sources_of(target)]}},
            changes,
            return_document=ReturnDocument.AFTER,
        )
        return to_appointment(doc) if doc else None

    async def move_text(
        self,
        appointment_id: str,
        target: AppointmentStatus,
        *,
        sources: Iterable[AppointmentStatus],
        now: datetime,
    ) -> Appointment | None:
        """A text consultation's move (domain/text_consultations.py), compare-and-set on its
        kind and status; ``None`` when it is not one or its status does not allow the move."""
        update: Document = {"status": target.value, "updated_at": now}
        if target is AppointmentStatus.IN_PROGRESS:
            update["started_at"] = now
        elif target is AppointmentStatus.COMPLETED:
            update["ended_at"] = now
        doc = await self._c.find_one_and_update(
            {
                "_id": appointment_id,
                "kind": AppointmentKind.TEXT.value,
                "status": {"$in": [s.value for s in sources]},
            },
            {"$set": update},
            return_document=ReturnDocument.AFTER,
        )
        return to_appointment(doc) if doc else None

    async def convert_to_video(
        self,
        appointment_id: str,
        *,
        sources: Iterable[AppointmentStatus],
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> Appointment | None:
        """A text consultation becomes a video consultation, booked from ``start`` (compare-and-
        set on its kind and status; ``None`` when it changed meanwhile). It holds no slot: it
        is the doctor's call now, outside the bookable week."""
        doc = await self._c.find_one_and_update(
            {
                "_id": appointment_id,
                "kind": AppointmentKind.TEXT.value,
                "status": {"$in": [s.value for s in sources]},
            },
            {
                "$set": {
                    "kind": AppointmentKind.VIDEO.value,
                    "status": AppointmentStatus.BOOKED.value,
                    "start": start,
                    "end": end,
                    "converted_at": now,
                    "updated_at": now,
                },
                "$unset": {"started_at": "", "waiting_since": ""},
            },
            return_document=ReturnDocument.AFTER,
        )
        return to_appointment(doc) if doc else None

    async def open_text(self, *, doctor_id: str | None, limit: int = 500) -> list[Appointment]:
        """Open (booked or in progress) text consultations, the oldest question first: one
        doctor's queue, or with ``doctor_id=None`` everyone's (the admin's counts)."""
        query: Document = {
            "kind": AppointmentKind.TEXT.value,
            "status": {
                "$in": [AppointmentStatus.BOOKED.value, AppointmentStatus.IN_PROGRESS.value]
            },
        }
        if doctor_id is not None:
            query["doctor_id"] = doctor_id
        cursor = self._c.find(query).sort([("start", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [to_appointment(d) async for d in cursor]

    async def claim_overdue_text(self, now: datetime, *, limit: int = 100) -> list[Appointment]:
        """Text consultations unanswered past their ``respond_by`` that nobody was told of yet,
        marked told (``overdue_told``) one by one, compare-and-set: each is claimed once."""
        claimed: list[Appointment] = []
        for _ in range(limit):
            doc = await self._c.find_one_and_update(
                {
                    "kind": AppointmentKind.TEXT.value,
                    "status": AppointmentStatus.BOOKED.value,
                    "respond_by": {"$lte": now},
                    "overdue_told": {"$exists": False},
                },
                {"$set": {"overdue_told": now}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                break
            claimed.append(to_appointment(doc))
        return claimed

    async def text_counts(self, now: datetime) -> tuple[int, int, int]:
        """Every doctor's text consultations: (waiting, overdue, in progress); an overdue one
        is waiting past its ``respond_by``."""
        text = AppointmentKind.TEXT.value
        booked = {"kind": text, "status": AppointmentStatus.BOOKED.value}
        waiting = await self._c.count_documents(booked)
        overdue = await self._c.count_documents({**booked, "respond_by": {"$lte": now}})
        in_progress = await self._c.count_documents(
            {"kind": text, "status": AppointmentStatus.IN_PROGRESS.value}
        )
        return waiting, overdue, in_progress

    async def list_for_user(
        self,
        user_id: str,
        *,
        statuses: Iterable[AppointmentStatus] | None = None,
        limit: int = 500,
    ) -> list[Appointment]:
        query: Document = {"$or": [{"patient_id": user_id}, {"doctor_id": user_id}]}
        if statuses is not None:
            query["status"] = {"$in": [s.value for s in statuses]}
        cursor = self._c.find(query).sort("start", ASCENDING).limit(limit)
        return [to_appointment(d) async for d in cursor]

    async def list_page(
        self,
        *,
        user_id: str | None,
        status: AppointmentStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: After | None = None,
        limit: int = 50,
        also_patients: Sequence[str] = (),
        patient_id: str | None = None,
    ) -> Page[Appointment]:
        """Appointments in start order, those of ``user_id`` (as patient or doctor) and of the
        patients in ``also_patients`` (family members it manages) or, with ``user_id=None``,
        everyone's; ``patient_id`` keeps one patient's. ``since``/``until`` bound the start,
        half-open."""
        query: Document = {}
        if user_id is not None:
            query["$or"] = [{"patient_id": user_id}, {"doctor_id": user_id}]
            if also_patients:
                query["$or"].append({"patient_id": {"$in": list(also_patients)}})
        if patient_id is not None:
            query["patient_id"] = patient_id
        if status is not None:
            query["status"] = status.value
        bounds: Document = {}
        if since is not None:
            bounds["$gte"] = since
        if until is not None:
            bounds["$lt"] = until
        if bounds:
            query["start"] = bounds
        return await find_page(
            self._c, query, sort_field="start", after=after, limit=limit, convert=to_appointment
        )

    async def count_upcoming(
        self, patient_id: str, now: datetime, *, doctor_id: str | None = None
    ) -> int:
        """The patient's booked (or waiting) appointments that have not ended by ``now``,
        with one doctor or with all."""
        query: Document = {
            "patient_id": patient_id,
            "status": {"$in": [AppointmentStatus.BOOKED.value, AppointmentStatus.WAITING.value]},
            "end": {"$gt": now},
        }
        if doctor_id is not None:
            query["doctor_id"] = doctor_id
        return await self._c.count_documents(query)

    async def withdraw(self, appointment_id: str) -> None:
        """Remove a booking that was refused just after it was made (see the booking limit)."""
        await self._c.delete_one({"_id": appointment_id})

    async def busy_between(
        self, doctor_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        """The doctor's appointments that hold their slot and overlap ``[start, end)``."""
        cursor = self._c.find(
            {
                "doctor_id": doctor_id,
                "holds_slot": True,
                "start": {"$lt": end},
                "end": {"$gt": start},
            }
        ).sort("start", ASCENDING)
        return [to_appointment(d) async for d in cursor]

    async def starting_between(
        self, start: datetime, end: datetime, *, limit: int = 1000
    ) -> list[Appointment]:
        """Booked or waiting appointments starting in ``[start, end]``, soonest first (for the
        reminders)."""
        cursor = (
            self._c.find(
                {
                    "status": {
                        "$in": [AppointmentStatus.BOOKED.value, AppointmentStatus.WAITING.value]
                    },
                    "start": {"$gte": start, "$lte": end},
                }
            )
            .sort("start", ASCENDING)
            .limit(limit)
        )
        return [to_appointment(d) async for d in cursor]

    async def list_for_patient(self, patient_id: str, *, limit: int = 1000) -> list[Appointment]:
        """The patient's appointments, oldest first (for the record and the FHIR export)."""
        cursor = self._c.find({"patient_id": patient_id}).sort("start", ASCENDING).limit(limit)
        return [to_appointment(d) async for d in cursor]

    async def find_for_pair(
        self,
        *,
        patient_id: str,
        doctor_id: str,
        since: datetime,
        until: datetime,
        reason: str | None = None,
    ) -> list[Appointment]:
        """Appointments of one patient with one doctor starting in ``[since, until)``."""
        query: Document = {
            "patient_id": patient_id,
            "doctor_id": doctor_id,
            "start": {"$gte": since, "$lt": until},
        }
        if reason is not None:
            query["reason"] = reason
        return [to_appointment(d) async for d in self._c.find(query)]

    async def recent_consultation_lengths(self, doctor_id: str, *, limit: int) -> list[timedelta]:
        """How long the doctor's last ``limit`` completed consultations lasted (started to
        ended), newest first: what the waiting room's estimate learns from."""
        cursor = (
            self._c.find(
                {
                    "doctor_id": doctor_id,
                    "status": AppointmentStatus.COMPLETED.value,
                    "started_at": {"$type": "date"},
                    "ended_at": {"$type": "date"},
                },
                {"started_at": 1, "ended_at": 1},
            )
            .sort("ended_at", DESCENDING)
            .limit(limit)
        )
        return [doc["ended_at"] - doc["started_at"] async for doc in cursor]

    async def has_care_relationship(self, doctor_id: str, patient_id: str) -> bool:
        """Whether the doctor has (or had) an appointment with the patient that was not
        cancelled: what lets a doctor read and write that patient's record."""
        doc = await self._c.find_one(
            {
                "doctor_id": doctor_id,
                "patient_id": patient_id,
                "status": {"$ne": AppointmentStatus.CANCELLED.value},
            },
            {"_id": 1},
        )
        return doc is not None

    async def patient_ids_of_doctor(self, doctor_id: str) -> list[UserId]:
        """Patients this doctor has (or had) an appointment with."""
        values = await self._c.distinct("patient_id", {"doctor_id": doctor_id})
        return [UserId(v) for v in values]

    async def has_relationship(self, doctor_id: str, patient_id: str) -> bool:
        return (
            await self._c.find_one({"doctor_id": doctor_id, "patient_id": patient_id}, {"_id": 1})
        ) is not None
