"""REST endpoints of consented recordings (PROTOCOL.md, "Recording"). Every call is audited;
a recording is its two participants' only (anyone else: 404)."""

from __future__ import annotations

from aiohttp import web

from domain.recording import CURRENT_NOTICE
from domain.users import Principal
from server import keys
from server.audit.recorder import audited
from server.http.api import TICKET_PARAM, Api, Call
from server.http.pagination import PageQuery, decode_cursor, encode_cursor
from server.recordings.models import (
    DownloadLinkOut,
    RecordingNoticeOut,
    RecordingOut,
    RecordingsPage,
    file_url,
)
from server.recordings.service import RecordingService

api = Api()
TAGS = ["recordings"]


def _service(call: Call) -> RecordingService:
    return call.app[keys.RECORDINGS]


@api.get(
    "/recording-notice",
    summary="The notice participants are shown before they consent to recording",
    tags=TAGS,
    response=RecordingNoticeOut,
)
async def recording_notice(call: Call) -> RecordingNoticeOut:
    return RecordingNoticeOut.of(CURRENT_NOTICE)


@api.get(
    "/appointments/{appointment_id}/recordings",
    summary="The recordings of a consultation, newest first (its two participants only)",
    tags=TAGS,
    query=PageQuery,
    response=RecordingsPage,
)
async def list_recordings(call: Call) -> RecordingsPage:
    appointment_id, query = call.path("appointment_id"), call.query(PageQuery)
    async with audited(
        call,
        "recording.list",
        patient_id=None,
        resource_type="appointment",
        resource_id=appointment_id,
    ) as scope:
        appointment, page = await _service(call).list(
            call.principal,
            appointment_id,
            after=decode_cursor("recordings", query.cursor),
            limit=query.limit,
        )
        scope.patient_id = appointment.patient_id
        scope.details["count"] = len(page.items)
    return RecordingsPage(
        recordings=[RecordingOut.of(r) for r in page.items],
        next_cursor=encode_cursor("recordings", page.next),
    )


async def _redeem(request: web.Request, ticket: str) -> Principal:
    """A download ticket is good for the recording it names only, and for its user while the
    sign-in it was made in is live (``AccountService.redeem_ticket``)."""
    return await request.app[keys.ACCOUNTS].redeem_ticket(
        ticket, request.match_info["recording_id"]
    )


@api.post(
    "/recordings/{recording_id}/download-link",
    summary="A short-lived link to a recording's file that needs no bearer token "
    "(its two participants only)",
    tags=TAGS,
    response=DownloadLinkOut,
    errors=[409],
)
async def recording_download_link(call: Call) -> DownloadLinkOut:
    recording_id = call.path("recording_id")
    async with audited(
        call,
        "recording.download_link",
        patient_id=None,
        resource_type="recording",
        resource_id=recording_id,
    ) as scope:
        recording, _ = await _service(call).file(call.principal, recording_id)
        scope.patient_id = recording.patient_id
        ticket = call.app[keys.ACCOUNTS].issue_ticket(call.principal, recording.id)
        scope.details["ticket_id"] = ticket.token_id
    return DownloadLinkOut(
        url=f"{file_url(recording.id)}?{TICKET_PARAM}={ticket.token}",
        expires_at=ticket.expires_at,
    )


@api.get(
    "/recordings/{recording_id}/file",
    summary="Download a recording (WebM: VP8 video and Opus audio of both participants), "
    "with the bearer token or a download link's ticket",
    tags=TAGS,
    content_type="video/webm",
    errors=[409],
    ticket=_redeem,
)
async def download_recording(call: Call) -> web.StreamResponse:
    recording_id = call.path("recording_id")
    async with audited(
        call,
        "recording.download",
        patient_id=None,
        resource_type="recording",
        resource_id=recording_id,
    ) as scope:
        recording, path = await _service(call).file(call.principal, recording_id)
        scope.patient_id = recording.patient_id
        scope.details["size_bytes"] = recording.size_bytes
        if TICKET_PARAM in call.request.query:
            scope.details["ticket_id"] = call.principal.token_id
    name = f"consultation-{recording.appointment_id}-{recording.id}.webm"
    return web.FileResponse(
        path,
        headers={
            "Content-Type": recording.content_type,
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


@api.delete(
    "/recordings/{recording_id}",
    summary="Delete a recording's file; a tombstone stays (either participant)",
    tags=TAGS,
    status=204,
    errors=[409],
)
async def delete_recording(call: Call) -> None:
    recording_id = call.path("recording_id")
    async with audited(
        call,
        "recording.delete",
        patient_id=None,
        resource_type="recording",
        resource_id=recording_id,
    ) as scope:
        deleted = await _service(call).delete(call.principal, recording_id)
        scope.patient_id = deleted.patient_id
