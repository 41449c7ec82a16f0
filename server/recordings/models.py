"""Response models of the recording endpoints (also the OpenAPI schemas)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.recording import Notice, RecordedTrack, Recording, RecordingStatus, StopReason
from domain.users import Role
from server.http.types import UtcDateTime


def file_url(recording_id: str) -> str:
    """Where a recording's file is fetched (``download_url``, and download links under it)."""
    return f"/api/v1/recordings/{recording_id}/file"


class RecordedTrackOut(BaseModel):
    user_id: str
    role: Role
    kind: Literal["audio", "video"]

    @classmethod
    def of(cls, track: RecordedTrack) -> RecordedTrackOut:
        return cls(user_id=track.user_id, role=track.role, kind=track.kind)


class RecordingOut(BaseModel):
    id: str
    appointment_id: str
    status: RecordingStatus
    started_at: UtcDateTime
    started_by: str | None = Field(description="whose consent completed the pair")
    stopped_at: UtcDateTime | None
    stop_reason: StopReason | None
    duration_seconds: float | None
    size_bytes: int | None
    content_type: str
    tracks: list[RecordedTrackOut]
    download_url: str | None = Field(description="GET it for the file; null until it can be")
    deleted_at: UtcDateTime | None
    deleted_by: str | None

    @classmethod
    def of(cls, recording: Recording) -> RecordingOut:
        downloadable = recording.file_name is not None and recording.status in (
            RecordingStatus.COMPLETE,
            RecordingStatus.FAILED,
        )
        return cls(
            id=recording.id,
            appointment_id=recording.appointment_id,
            status=recording.status,
            started_at=recording.started_at,
            started_by=recording.started_by,
            stopped_at=recording.stopped_at,
            stop_reason=recording.stop_reason,
            duration_seconds=recording.duration_seconds,
            size_bytes=recording.size_bytes,
            content_type=recording.content_type,
            tracks=[RecordedTrackOut.of(t) for t in recording.tracks],
            download_url=file_url(recording.id) if downloadable else None,
            deleted_at=recording.deleted_at,
            deleted_by=recording.deleted_by,
        )


class DownloadLinkOut(BaseModel):
    url: str = Field(
        description="download_url with a ticket: GET it without the bearer token, e.g. as a "
        "link the browser follows and saves"
    )
    expires_at: UtcDateTime = Field(description="the link works until then (the ticket's expiry)")


class RecordingsPage(BaseModel):
    recordings: list[RecordingOut]
    next_cursor: str | None = None


class RecordingNoticeOut(BaseModel):
    version: str
    texts: dict[str, str] = Field(description="the notice per language (en, zh-CN)")
    digest: str = Field(description="SHA-256 of the texts; stored with every consent")

    @classmethod
    def of(cls, notice: Notice) -> RecordingNoticeOut:
        return cls(version=notice.version, texts=dict(notice.texts), digest=notice.digest)
