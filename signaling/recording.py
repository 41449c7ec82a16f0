"""Consented recording in the hub: ``recording:consent``, the ``recording:state`` both
participants see, and the hidden recorder started and stopped as the room's consents change.

The rules are ``domain.recording``'s; the room's consents and running recording live in the
room (``Room.recording``), so they change atomically with the seats, on any hub node. Every
stored change of a room passes through :meth:`RecordingCoordinator.after_change` (the hub calls
it whenever it publishes a change): it tells both participants when the recording state
changed, drops the consents of sockets that left the call (which stops a recording at once),
starts the recorder on this node when a consent completed the pair, and stops it when the
recording ended for any reason (a withdrawal, a participant leaving or dropping, the
consultation ending or being closed). Starting and stopping are written to the ``recordings``
collection and the audit log; every consent to the ``recording_consents`` collection and the
audit log.

The recorder runs on the node that processed the completing consent (``RecordingState.node``);
it reaches the participants' sockets on any node (``recording:offer`` is emitted through the
Socket.IO manager, and the ack comes back the same way).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import structlog

from domain.audit import AuditEntry, Outcome
from domain.clock import Clock
from domain.consultation import Room, SeatState
from domain.errors import Forbidden
from domain.ids import UserId, new_id
from domain.recording import (
    CURRENT_NOTICE,
    ConsentRecord,
    Recording,
    RecordingResult,
    RecordingState,
    RecordingStatus,
    RecordingTarget,
    StopReason,
    Transition,
    check_in_call,
    check_notice,
    consent,
    settle,
)
from domain.users import Role
from signaling.registry import RoomRegistry, Updated

log = structlog.get_logger(__name__)

NO_RECORDING = RecordingState()

OfferSender = Callable[[RecordingTarget, str], Awaitable[str | None]]
FailureListener = Callable[[str, str], None]


class RecorderMedia(Protocol):
    """The recorders of this process (``media.recording.Recorders``)."""

    def start(
        self,
        recording_id: str,
        targets: Sequence[RecordingTarget],
        *,
        offer: OfferSender,
        on_failure: FailureListener,
        title: str,
    ) -> None: ...

    async def stop(self, recording_id: str) -> RecordingResult | None: ...


class RecordingStore(Protocol):
    async def insert(self, recording: Recording) -> None: ...

    async def finish(
        self,
        recording_id: str,
        *,
        status: RecordingStatus,
        stopped_at: Any,
        reason: StopReason,
        file_name: str | None,
        size_bytes: int | None,
        duration_seconds: float | None,
        tracks: tuple[Any, ...],
    ) -> Recording | None: ...


class ConsentLog(Protocol):
    async def append(self, record: ConsentRecord) -> None: ...


class AuditLog(Protocol):
    async def append(self, entry: AuditEntry) -> str: ...


class StopRequests(Protocol):
    """Asks the node running a recording to stop it (``signaling.recording_bus``)."""

    async def start(
        self, node_id: str, on_stop: Callable[[str, Cause], Awaitable[None]]
    ) -> None: ...

    async def request_stop(self, node: str, recording_id: str, cause: Cause) -> None: ...

    async def close(self) -> None: ...


class RecordingHost(Protocol):
    """What the coordinator needs from the hub."""

    async def emit_recording_state(self, room: Room, to: str | None = None) -> None: ...

    async def send_recording_offer(self, target: RecordingTarget, data: dict[str, Any]) -> Any: ...

    async def publish_change(self, update: Updated[Any], cause: Cause) -> None: ...


@dataclass(frozen=True, slots=True)
class Cause:
    """Who made a recording change and why (for its stop reason and audit entries)."""

    reason: StopReason
    actor_id: UserId | None = None
    actor_role: Role | None = None
    client_ip: str | None = None


def recording_view(room: Room) -> dict[str, Any]:
    """``recording:state``: what both participants' indicators show."""
    state = room.recording
    return {
        "appointment_id": room.appointment_id,
        "recording": state.recording,
        "recording_id": state.recording_id,
        "consents": {
            Role.DOCTOR.value: state.consented(room.doctor.id),
            Role.PATIENT.value: state.consented(room.patient.id),
        },
        "notice_version": CURRENT_NOTICE.version,
        "rev": room.rev,
    }


def is_decline(before: Room | None, user_id: str, given: bool) -> bool:
    """A ``false`` answer to the other participant's request: they had consented, this one had
    not, and nothing records yet (a withdrawal of one's own consent is not a decline)."""
    if given or before is None or before.recording.recording:
        return False
    state = before.recording
    other = before.patient.id if user_id == before.doctor.id else before.doctor.id
    return state.consented(other) and not state.consented(user_id)


def _with_recording(room: Room, transition: Transition) -> Room:
    return room if transition.state == room.recording else replace(room, recording=transition.state)


class RecordingCoordinator:
    def __init__(
        self,
        *,
        registry: RoomRegistry,
        recordings: RecordingStore,
        consents: ConsentLog,
        audit: AuditLog,
        media: RecorderMedia,
        host: RecordingHost,
        clock: Clock,
        bus: StopRequests | None = None,
    ) -> None:
        self._registry = registry
        self._bus = bus
        self._recordings = recordings
        self._consents = consents
        self._audit = audit
        self._media = media
        self._host = host
        self._clock = clock
        self._local: dict[str, Room] = {}  # recordings running here -> their room at start
        self._orphans: set[str] = set()  # running here, but their room had moved on last time
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def node_id(self) -> str:
        return self._registry.node_id

    async def start(self) -> None:
        if self._bus is not None:
            await self._bus.start(self.node_id, self._stop_requested)

    # ------------------------------------------------------------------ consent

    async def consent(
        self,
        room: Room,
        *,
        sid: str,
        given: bool,
        notice_version: str,
        client_ip: str | None,
        publish: Callable[[Updated[Any]], Awaitable[None]],
    ) -> Updated[Transition]:
        """A participant, through socket ``sid`` (holding a seat of ``room``), gives or
        withdraws consent; ``publish`` announces the change (and so starts or stops the
        recorder). A consent is stored before it takes effect; a withdrawal takes effect, and
        stops the recorder, before it is stored (stopping must not wait for anything)."""
        seat = room.require_seat(sid)
        notice = check_notice(notice_version, given=given)
        check_in_call(room.present, user_id=seat.user_id, sid=sid, given=given)
        record = ConsentRecord(
            id=new_id(),
            appointment_id=room.appointment_id,
            user_id=seat.user_id,
            role=seat.role,
            consent=given,
            notice_version=notice_version,
            notice_digest=notice.digest if notice is not None else None,
            at=self._clock(),
            client_ip=client_ip,
        )
        if given:
            await self._store_consent(record, room)
        node = self.node_id

        def change(current: Room | None) -> tuple[Room | None, Transition]:
            if current is None or current.seat_of_sid(sid) is None:
                raise Forbidden("join the consultation first")
            transition = consent(
                current.recording,
                current.present,
                user_id=seat.user_id,
                sid=sid,
                given=given,
                notice_version=notice_version,
                node=node,
                new_recording_id=new_id,
            )
            return _with_recording(current, transition), transition

        update = await self._registry.update(room.appointment_id, change)
        await publish(update)
        if not given:
            await self._store_consent(record, room)
        return update

    async def _store_consent(self, record: ConsentRecord, room: Room) -> None:
        await self._consents.append(record)
        await self._audit.append(
            AuditEntry(
                at=record.at,
                actor_id=record.user_id,
                actor_role=record.role.value,
                action="recording.consent",
                outcome=Outcome.SUCCESS,
                patient_id=room.patient.id,
                resource_type="appointment",
                resource_id=room.appointment_id,
                client_ip=record.client_ip,
                details={
                    "consent": record.consent,
                    "notice_version": record.notice_version,
                    "via": "socket",
                },
            )
        )

    # ------------------------------------------------------------------ every room change

    async def after_change(self, update: Updated[Any], cause: Cause | None = None) -> None:
        """React to a stored change of a room (see the module's documentation)."""
        if not update.changed:
            return
        room_before, room = update.before, update.after
        before = room_before.recording if room_before is not None else NO_RECORDING
        after = room.recording if room is not None else NO_RECORDING
        if room is not None and after != before:
            await self._host.emit_recording_state(room)
        if before.recording_id is not None and before.recording_id != after.recording_id:
            assert room_before is not None
            default = StopReason.CONSULTATION_ENDED if room is None else StopReason.PARTICIPANT_LEFT
            await self._stop(room_before, before, cause or Cause(reason=default))
        if (
            room is not None
            and after.recording_id is not None
            and after.recording_id != before.recording_id
            and after.node == self.node_id
        ):
            await self._start(room, after.recording_id, cause)
        if room is not None and settle(room.recording, room.present).state != room.recording:
            await self._settle(room.appointment_id)

    async def _settle(self, appointment_id: str) -> None:
        """Drop the consents of sockets no longer in the call (a recording stops with them)."""

        def change(current: Room | None) -> tuple[Room | None, None]:
            if current is None:
                return None, None
            return _with_recording(current, settle(current.recording, current.present)), None

        update = await self._registry.update(appointment_id, change)
        await self._host.publish_change(update, Cause(reason=StopReason.PARTICIPANT_LEFT))

    # ------------------------------------------------------------------ start and stop

    async def _start(self, room: Room, recording_id: str, cause: Cause | None) -> None:
        targets = [
            RecordingTarget(user_id=s.user_id, role=s.role, sid=s.sid)
            for s in room.seats
            if s.state is SeatState.ADMITTED and s.sid is not None
        ]
        actor_id = cause.actor_id if cause else None
        recording = Recording(
            id=recording_id,
            appointment_id=room.appointment_id,
            patient_id=room.patient.id,
            doctor_id=room.doctor.id,
            status=RecordingStatus.RECORDING,
            started_at=self._clock(),
            started_by=actor_id,
            node=self.node_id,
            file_name=None,
        )
        try:
            await self._recordings.insert(recording)
            self._local[recording_id] = room
            await self._record(
                "recording.start",
                room,
                recording_id,
                cause,
                {"participants": len(targets)},
            )
            self._media.start(
                recording_id,
                targets,
                offer=self._offer_for(room.appointment_id, recording_id),
                on_failure=self._on_failure,
                title=f"Consultation {room.appointment_id}, recording {recording_id}",
            )
        except Exception as exc:
            log.warning("recording_not_started", recording_id=recording_id, error=repr(exc))
            await self._abort(room.appointment_id, recording_id)
            raise

    def _offer_for(self, appointment_id: str, recording_id: str) -> OfferSender:
        async def offer(target: RecordingTarget, sdp: str) -> str | None:
            ack = await self._host.send_recording_offer(
                target,
                {
                    "appointment_id": appointment_id,
                    "recording_id": recording_id,
                    "type": "offer",
                    "sdp": sdp,
                },
            )
            if isinstance(ack, dict) and ack.get("type") == "answer":
                answer = ack.get("sdp")
                return answer if isinstance(answer, str) else None
            log.info("recording_offer_declined", role=target.role.value)
            return None

        return offer

    def _on_failure(self, recording_id: str, message: str) -> None:
        room = self._local.get(recording_id)
        if room is not None:
            self._spawn(self._abort(room.appointment_id, recording_id))

    async def _abort(self, appointment_id: str, recording_id: str) -> None:
        """The recorder failed (or never started): the room stops recording."""

        def change(current: Room | None) -> tuple[Room | None, None]:
            if current is None or current.recording.recording_id != recording_id:
                return current, None
            return replace(
                current, recording=replace(NO_RECORDING, consents=current.recording.consents)
            ), None

        try:
            update = await self._registry.update(appointment_id, change)
            await self._host.publish_change(update, Cause(reason=StopReason.FAILED))
        except Exception as exc:
            log.warning("recording_abort_failed", recording_id=recording_id, error=repr(exc))

    async def _stop(self, room: Room, state: RecordingState, cause: Cause) -> None:
        recording_id = state.recording_id
        assert recording_id is not None
        if state.node != self.node_id:
            await self._request_stop(state, cause)
            return
        if self._local.pop(recording_id, None) is None:
            return  # stopped already (a request from another node, and the reconcile)
        result = await self._media.stop(recording_id)
        failed = result is None or result.error is not None or result.file_name is None
        finished = await self._recordings.finish(
            recording_id,
            status=RecordingStatus.FAILED if failed else RecordingStatus.COMPLETE,
            stopped_at=self._clock(),
            reason=cause.reason,
            file_name=result.file_name if result else None,
            size_bytes=result.size_bytes if result else None,
            duration_seconds=result.duration_seconds if result else None,
            tracks=result.tracks if result else (),
        )
        details: dict[str, Any] = {"reason": cause.reason.value}
        if result is not None:
            details |= {
                "size_bytes": result.size_bytes,
                "duration_seconds": result.duration_seconds,
            }
            if result.error is not None:
                details["error"] = result.error
        if finished is not None:
            details["status"] = finished.status.value
        await self._record("recording.stop", room, recording_id, cause, details)

    async def _record(
        self,
        action: str,
        room: Room,
        recording_id: str,
        cause: Cause | None,
        details: dict[str, Any],
    ) -> None:
        await self._audit.append(
            AuditEntry(
                at=self._clock(),
                actor_id=cause.actor_id if cause else None,
                actor_role=cause.actor_role.value if cause and cause.actor_role else None,
                action=action,
                outcome=Outcome.SUCCESS,
                patient_id=room.patient.id,
                resource_type="recording",
                resource_id=recording_id,
                client_ip=cause.client_ip if cause else None,
                details=details,
            )
        )

    async def _request_stop(self, state: RecordingState, cause: Cause) -> None:
        assert state.recording_id is not None
        assert state.node is not None
        if self._bus is None:  # one process: no other node can be running it
            log.warning("recording_on_unknown_node", recording_id=state.recording_id)
            return
        try:
            await self._bus.request_stop(state.node, state.recording_id, cause)
        except Exception as exc:  # the recorder's node reconciles on its own
            log.warning("recording_stop_not_sent", recording_id=state.recording_id, error=repr(exc))

    async def _stop_requested(self, recording_id: str, cause: Cause) -> None:
        """Another node stopped a recording that runs here."""
        room = self._local.get(recording_id)
        if room is not None:
            state = RecordingState(recording_id=recording_id, node=self.node_id)
            await self._stop(room, state, cause)

    async def reconcile(self) -> None:
        """Stop the recordings running here whose room no longer records them (a stop request
        from another node was lost, or the room went with a node). Only a mismatch seen on two
        runs in a row counts: the change that stops a recording is stored a moment before the
        stop itself, which must keep its own reason."""
        orphans: set[str] = set()
        for recording_id, room in list(self._local.items()):
            current = await self._registry.get(room.appointment_id)
            if current is not None and current.recording.recording_id == recording_id:
                continue
            if recording_id not in self._orphans:
                orphans.add(recording_id)  # look again next time
                continue
            reason = (
                StopReason.CONSULTATION_ENDED if current is None else StopReason.PARTICIPANT_LEFT
            )
            log.info("recording_reconciled", recording_id=recording_id, reason=reason.value)
            state = RecordingState(recording_id=recording_id, node=self.node_id)
            await self._stop(room, state, Cause(reason=reason))
        self._orphans = orphans

    # ------------------------------------------------------------------ lifecycle

    async def close(self) -> None:
        """At shutdown: stop and finalise every recording this node runs (the rooms stop
        recording; the consents go too)."""
        shutdown = Cause(reason=StopReason.SHUTDOWN)
        for recording_id, room in list(self._local.items()):

            def change(current: Room | None, rid: str = recording_id) -> tuple[Room | None, None]:
                if current is None or current.recording.recording_id != rid:
                    return current, None
                return replace(current, recording=NO_RECORDING), None

            try:
                update = await self._registry.update(room.appointment_id, change)
                await self._host.publish_change(update, shutdown)
            except Exception as exc:
                log.warning(
                    "recording_room_not_updated", recording_id=recording_id, error=repr(exc)
                )
            if recording_id in self._local:  # the room had moved on: stop it anyway
                state = RecordingState(recording_id=recording_id, node=self.node_id)
                with contextlib.suppress(Exception):
                    await self._stop(room, state, shutdown)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._bus is not None:
            await self._bus.close()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
