"""Recordings over REST: listing an appointment's recordings, handing out a file, deleting one.
Only the appointment's two participants may; for anybody else (admins included: a recording is
clinical content) a recording and its appointment do not exist."""

from __future__ import annotations

import asyncio
from pathlib import Path

from domain.appointments import Appointment
from domain.clock import Clock
from domain.errors import Conflict, NotFound
from domain.recording import Recording, RecordingStatus
from domain.users import Principal
from storage.mongo import Repositories
from storage.paging import After, Page


class StillRecording(Conflict):
    code = "still_recording"
    title = "The recording is still running"


class RecordingService:
    def __init__(self, repos: Repositories, *, directory: Path, clock: Clock) -> None:
        self._repos = repos
        self._directory = directory
        self._clock = clock

    async def list(
        self, caller: Principal, appointment_id: str, *, after: After | None, limit: int
    ) -> tuple[Appointment, Page[Recording]]:
        appointment = await self._repos.appointments.get(appointment_id)
        if appointment is None or not await self._repos.users.party_to(caller.user_id, appointment):
            raise NotFound("no such appointment")
        page = await self._repos.recordings.page(appointment_id, after=after, limit=limit)
        return appointment, page

    async def file(self, caller: Principal, recording_id: str) -> tuple[Recording, Path]:
        """The recording and its finished file."""
        recording = await self._own(caller, recording_id)
        if recording.status is RecordingStatus.RECORDING:
            raise StillRecording("the recording is still running; stop it first")
        if recording.file_name is None:
            raise NotFound("this recording has no file")
        path = self._directory / recording.file_name
        if not await asyncio.to_thread(path.is_file):
            raise NotFound("this recording has no file")
        return recording, path

    async def delete(self, caller: Principal, recording_id: str) -> Recording:
        """Delete the file; the recording stays as a tombstone (who deleted it, when)."""
        recording = await self._own(caller, recording_id)
        if recording.status is RecordingStatus.RECORDING:
            raise StillRecording("the recording is still running; stop it first")
        if recording.status is RecordingStatus.DELETED:
            raise NotFound("this recording was deleted")
        if recording.file_name is not None:
            # The file goes first: a tombstone must never sit on a file still there.
            path = self._directory / recording.file_name
            await asyncio.to_thread(path.unlink, missing_ok=True)
        deleted = await self._repos.recordings.tombstone(
            recording_id, deleted_by=caller.user_id, deleted_at=self._clock()
        )
        if deleted is None:  # deleted meanwhile by the other participant
            raise NotFound("this recording was deleted")
        return deleted

    async def _own(self, caller: Principal, recording_id: str) -> Recording:
        recording = await self._repos.recordings.get(recording_id)
        if recording is None or not (
            recording.is_participant(caller.user_id)
            or await self._repos.users.acts_for(caller.user_id, recording.patient_id)
        ):
            raise NotFound("no such recording")
        return recording
