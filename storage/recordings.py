"""The ``recordings`` collection: one document per recording of a consultation (the file itself
lives under the data folder's ``recordings/``). A deleted recording stays as a tombstone:
``status: "deleted"``, no file name, who deleted it and when.

Status changes are compare-and-set: ``recording`` -> ``complete``/``failed`` when it stops,
``complete``/``failed`` -> ``deleted`` on request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from domain.ids import UserId
from domain.recording import RecordedTrack, Recording, RecordingStatus, StopReason
from domain.users import Role
from storage.paging import After, Page, find_page

Document = dict[str, Any]


def _to_recording(doc: Document) -> Recording:
    reason = doc.get("stop_reason")
    return Recording(
        id=doc["_id"],
        appointment_id=doc["appointment_id"],
        patient_id=UserId(doc["patient_id"]),
        doctor_id=UserId(doc["doctor_id"]),
        status=RecordingStatus(doc["status"]),
        started_at=doc["started_at"],
        started_by=UserId(doc["started_by"]) if doc.get("started_by") else None,
        node=doc["node"],
        file_name=doc.get("file_name"),
        content_type=doc.get("content_type", "video/webm"),
        stopped_at=doc.get("stopped_at"),
        stop_reason=StopReason(reason) if reason else None,
        size_bytes=doc.get("size_bytes"),
        duration_seconds=doc.get("duration_seconds"),
        tracks=tuple(
            RecordedTrack(user_id=UserId(t["user_id"]), role=Role(t["role"]), kind=t["kind"])
            for t in doc.get("tracks", [])
        ),
        deleted_at=doc.get("deleted_at"),
        deleted_by=UserId(doc["deleted_by"]) if doc.get("deleted_by") else None,
    )


def _track_doc(track: RecordedTrack) -> Document:
    return {"user_id": track.user_id, "role": track.role.value, "kind": track.kind}


class RecordingRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("appointment_id", ASCENDING), ("started_at", DESCENDING), ("_id", DESCENDING)],
            name="appointment",
        )
        await self._c.create_index([("status", ASCENDING), ("node", ASCENDING)], name="running")

    async def insert(self, recording: Recording) -> None:
        await self._c.insert_one(
            {
                "_id": recording.id,
                "appointment_id": recording.appointment_id,
                "patient_id": recording.patient_id,
                "doctor_id": recording.doctor_id,
                "status": recording.status.value,
                "started_at": recording.started_at,
                "started_by": recording.started_by,
                "node": recording.node,
                "file_name": recording.file_name,
                "content_type": recording.content_type,
                "tracks": [_track_doc(t) for t in recording.tracks],
            }
        )

    async def get(self, recording_id: str) -> Recording | None:
        doc = await self._c.find_one({"_id": recording_id})
        return _to_recording(doc) if doc else None

    async def finish(
        self,
        recording_id: str,
        *,
        status: RecordingStatus,
        stopped_at: datetime,
        reason: StopReason,
        file_name: str | None,
        size_bytes: int | None,
        duration_seconds: float | None,
        tracks: tuple[RecordedTrack, ...],
    ) -> Recording | None:
        """``recording`` -> ``complete`` or ``failed``; ``None`` if it was not recording."""
        doc = await self._c.find_one_and_update(
            {"_id": recording_id, "status": RecordingStatus.RECORDING.value},
            {
                "$set": {
                    "status": status.value,
                    "stopped_at": stopped_at,
                    "stop_reason": reason.value,
                    "file_name": file_name,
                    "size_bytes": size_bytes,
                    "duration_seconds": duration_seconds,
                    "tracks": [_track_doc(t) for t in tracks],
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return _to_recording(doc) if doc else None

    async def tombstone(
        self, recording_id: str, *, deleted_by: str, deleted_at: datetime
    ) -> Recording | None:
        """A stopped recording becomes a tombstone; ``None`` if it was not a stopped one."""
        doc = await self._c.find_one_and_update(
            {
                "_id": recording_id,
                "status": {"$in": [RecordingStatus.COMPLETE.value, RecordingStatus.FAILED.value]},
            },
            {
                "$set": {
                    "status": RecordingStatus.DELETED.value,
                    "file_name": None,
                    "deleted_at": deleted_at,
                    "deleted_by": deleted_by,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return _to_recording(doc) if doc else None

    async def page(
        self, appointment_id: str, *, after: After | None, limit: int
    ) -> Page[Recording]:
        """Newest first."""
        return await find_page(
            self._c,
            {"appointment_id": appointment_id},
            sort_field="started_at",
            descending=True,
            after=after,
            limit=limit,
            convert=_to_recording,
        )

    async def running_on(self, nodes: list[str] | None = None) -> list[Recording]:
        """Recordings still marked running (on these hub nodes, or anywhere)."""
        query: Document = {"status": RecordingStatus.RECORDING.value}
        if nodes is not None:
            query["node"] = {"$in": nodes}
        return [_to_recording(d) async for d in self._c.find(query)]
