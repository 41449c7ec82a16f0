"""Consented recording of a consultation, as pure rules (no I/O).

* **The notice.** What participants are shown before they consent is versioned here; a consent
  names the version it was given for, and the stored consent keeps a digest of that exact text.
  Consent can only be *given* for the current notice (a browser that showed an older text must
  show the new one first); it can always be *withdrawn*.
* **Consents in a call.** A consent belongs to the socket that gave it while that socket holds
  an admitted seat: leaving, dropping, reloading (a new socket) or being replaced ends it.
* **Recording.** It runs exactly while both admitted, connected participants consent. The
  consent that completes the pair starts a new recording (a new id); a withdrawal, or a
  participant going, stops it at once. Each start-to-stop is one recording (one file).

The room's part of this (:class:`RecordingState`) lives in the consultation room, so every hub
node sees the same consents and the registry changes them atomically with the seats.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from domain.errors import Conflict, Forbidden, InvalidInput
from domain.ids import UserId
from domain.users import Role

# ----------------------------------------------------------------------------- the notice


@dataclass(frozen=True, slots=True)
class Notice:
    """The text a participant is shown before consenting, per language (BCP 47 tag)."""

    version: str
    texts: Mapping[str, str]

    @property
    def digest(self) -> str:
        """SHA-256 of the texts (canonical JSON): which exact words a consent was given for."""
        canonical = json.dumps(dict(self.texts), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


NOTICES: dict[str, Notice] = {
    notice.version: notice
    for notice in (
        Notice(
            version="2026-01",
            texts={
                "en": (
                    "This consultation will be recorded (video and sound of both participants) "
                    "only if you and the other participant both agree. The recording is kept "
                    "with your appointment; only you and the other participant can watch, "
                    "download or delete it. You can stop the recording at any time by "
                    "withdrawing your consent; it also stops when either of you leaves."
                ),
                "zh-CN": (
                    "只有在您和对方都同意的情况下，本次问诊才会被录制（双方的视频和声音）。"
                    "录像随预约保存，只有您和对方可以观看、下载或删除。"
                    "您可以随时撤回同意以停止录制；任何一方离开时录制也会停止。"
                ),
            },
        ),
    )
}
CURRENT_NOTICE = NOTICES["2026-01"]


class NoticeOutdated(Conflict):
    code = "notice_outdated"
    title = "The recording notice has changed"


class NotInCall(Forbidden):
    """Only participants admitted to the call (and connected) can consent."""


def check_notice(version: str, *, given: bool) -> Notice | None:
    """The notice a consent refers to. Giving consent needs the current one; a withdrawal is
    accepted whatever the browser showed (``None`` when it is not a version we know)."""
    notice = NOTICES.get(version)
    if given and notice is None:
        raise InvalidInput(
            "unknown notice_version",
            details=[
                {"field": "notice_version", "message": "not a notice version", "type": "value"}
            ],
        )
    if given and notice is not CURRENT_NOTICE:
        raise NoticeOutdated(f"show the current recording notice ({CURRENT_NOTICE.version}) first")
    return notice


# ----------------------------------------------------------------------------- in the room

# The (user, socket) pairs holding admitted, connected seats of a room.
Present = frozenset[tuple[UserId, str]]


@dataclass(frozen=True, slots=True)
class CallConsent:
    user_id: UserId
    sid: str  # the socket that gave it; the consent lasts while this socket holds the seat
    notice_version: str


@dataclass(frozen=True, slots=True)
class RecordingState:
    """A consultation room's recording: who consents now, and the recording running (if any)
    on which hub node."""

    consents: tuple[CallConsent, ...] = ()
    recording_id: str | None = None
    node: str | None = None

    @property
    def recording(self) -> bool:
        return self.recording_id is not None

    def consented(self, user_id: str) -> bool:
        return any(c.user_id == user_id for c in self.consents)


@dataclass(frozen=True, slots=True)
class Transition:
    state: RecordingState
    started: str | None = None  # the recording that starts now
    stopped: str | None = None  # the recording that stops now


def _complete(consents: tuple[CallConsent, ...], present: Present) -> bool:
    """Both participants are in the call and each one's present socket consents."""
    given = {(c.user_id, c.sid) for c in consents}
    return len({user for user, _ in present}) == 2 and present <= given


def settle(state: RecordingState, present: Present) -> Transition:
    """Drop the consents of sockets no longer in the call; stop a recording that lost one."""
    consents = tuple(c for c in state.consents if (c.user_id, c.sid) in present)
    if state.recording_id is not None and not _complete(consents, present):
        return Transition(RecordingState(consents=consents), stopped=state.recording_id)
    if consents == state.consents:
        return Transition(state)
    return Transition(replace(state, consents=consents))


def check_in_call(present: Present, *, user_id: UserId, sid: str, given: bool) -> None:
    """Consent can be given only from a socket in the call (a withdrawal is always accepted)."""
    if given and (user_id, sid) not in present:
        raise NotInCall("only participants admitted to the call can consent to recording")


def consent(
    state: RecordingState,
    present: Present,
    *,
    user_id: UserId,
    sid: str,
    given: bool,
    notice_version: str,
    node: str,
    new_recording_id: Callable[[], str],
) -> Transition:
    """``user_id`` (through socket ``sid``) gives or withdraws consent."""
    check_in_call(present, user_id=user_id, sid=sid, given=given)
    settled = settle(state, present)
    others = tuple(c for c in settled.state.consents if c.user_id != user_id)
    consents = (*others, CallConsent(user_id, sid, notice_version)) if given else others
    running = settled.state.recording_id
    if running is not None and not _complete(consents, present):
        return Transition(RecordingState(consents=consents), stopped=running)
    if running is None and _complete(consents, present):
        recording_id = new_recording_id()
        return Transition(
            RecordingState(consents=consents, recording_id=recording_id, node=node),
            started=recording_id,
            stopped=settled.stopped,
        )
    return Transition(replace(settled.state, consents=consents), stopped=settled.stopped)


# ----------------------------------------------------------------------------- stored records


class StopReason(StrEnum):
    CONSENT_WITHDRAWN = "consent_withdrawn"
    PARTICIPANT_LEFT = "participant_left"  # left, dropped, or reloaded (a new socket)
    CONSULTATION_ENDED = "consultation_ended"  # ended, closed by an admin, or expired
    FAILED = "failed"  # the recorder could not record (nobody sent media, a write failed)
    SHUTDOWN = "shutdown"  # the server process stopped


class RecordingStatus(StrEnum):
    RECORDING = "recording"
    COMPLETE = "complete"
    FAILED = "failed"
    DELETED = "deleted"  # a tombstone: the file is gone, the facts stay


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One consent event as stored (its own collection, append-only)."""

    id: str
    appointment_id: str
    user_id: UserId
    role: Role
    consent: bool
    notice_version: str
    notice_digest: str | None  # of the text of that version (None: a version we do not know)
    at: datetime
    client_ip: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedTrack:
    user_id: UserId
    role: Role
    kind: str  # "audio" | "video"


@dataclass(frozen=True, slots=True)
class Recording:
    id: str
    appointment_id: str
    patient_id: UserId
    doctor_id: UserId
    status: RecordingStatus
    started_at: datetime
    started_by: UserId | None  # whose consent completed the pair
    node: str  # the hub node that records it
    file_name: str | None  # under the recordings folder; None once deleted
    content_type: str = "video/webm"
    stopped_at: datetime | None = None
    stop_reason: StopReason | None = None
    size_bytes: int | None = None
    duration_seconds: float | None = None
    tracks: tuple[RecordedTrack, ...] = field(default=())
    deleted_at: datetime | None = None
    deleted_by: UserId | None = None

    def is_participant(self, user_id: str) -> bool:
        return user_id in (self.patient_id, self.doctor_id)


# ----------------------------------------------------------------------------- the recorder


@dataclass(frozen=True, slots=True)
class RecordingTarget:
    """A participant the recorder asks for media: through the socket holding their seat."""

    user_id: UserId
    role: Role
    sid: str


@dataclass(frozen=True, slots=True)
class RecordingResult:
    """What a stopped recorder left: the finalised file (``None``: nothing could be written)."""

    file_name: str | None
    size_bytes: int
    duration_seconds: float
    tracks: tuple[RecordedTrack, ...]
    error: str | None = None  # why the recording failed, if it did
