"""Screen sharing and recording consent at the hub (signaling/handlers/screen.py,
recording_consent.py) without sockets: who may share, one at a time, the doctor's permission,
each change published; a consent given, declined or withdrawn through the real coordinator
(signaling/recording.py) over the in-memory registry, and a server without recording. The same
over real sockets in tests/signaling (test_screen_share, test_recording_consent)."""

from __future__ import annotations

import pytest

from domain.errors import Forbidden, InvalidInput
from domain.recording import CURRENT_NOTICE, NotInCall, StopReason
from domain.screen_share import ScreenInUse, ScreenShareNotAllowed
from domain.users import Role
from signaling.acks import NOTHING
from signaling.handlers.recording_consent import RecordingConsent, RecordingDisabled
from signaling.handlers.screen import Screen
from signaling.models import RecordingConsentIn, ScreenAllowIn, ScreenShareIn
from signaling.socket_rooms import consult_room
from tests.support.fake_outbox import FakeOutbox
from tests.support.hub_fakes import (
    APPOINTMENT,
    DOCTOR,
    PATIENT,
    Call,
    Clinic,
    RecordingDesk,
    call_in_progress,
    connection,
)

SHARE = ScreenShareIn(appointment_id=APPOINTMENT, sharing=True)
STOP = ScreenShareIn(appointment_id=APPOINTMENT, sharing=False)


def allow(allowed: bool) -> ScreenAllowIn:
    return ScreenAllowIn(appointment_id=APPOINTMENT, allowed=allowed)


async def screen(*, admitted: bool = True) -> tuple[Screen, FakeOutbox, Call]:
    clinic, outbox = Clinic(), FakeOutbox()
    consult = clinic.consultations()
    call = await call_in_progress(consult, outbox, admitted=admitted)
    return Screen(rooms=consult, outbox=outbox), outbox, call


# ---------------------------------------------------------------------- screen sharing


async def test_the_doctor_in_the_call_shares_and_the_change_is_published() -> None:
    handlers, outbox, call = await screen()
    ack = await handlers.share(call.doctor, SHARE, NOTHING)
    state = ack["screen_share"]
    assert (state["appointment_id"], state["sharer"]["user_id"], state["patient_allowed"]) == (
        APPOINTMENT,
        DOCTOR,
        False,
    )
    [published] = outbox.published
    assert published.participants is True
    assert published.update.after is not None
    assert published.update.after.screen.sharer == DOCTOR
    assert state["rev"] == published.update.after.rev


async def test_the_patient_shares_only_once_allowed() -> None:
    handlers, outbox, call = await screen()
    with pytest.raises(ScreenShareNotAllowed):
        await handlers.share(call.patient, SHARE, NOTHING)
    assert outbox.published == []
    ack = await handlers.allow(call.doctor, allow(True), NOTHING)
    assert ack["screen_share"]["patient_allowed"] is True
    ack = await handlers.share(call.patient, SHARE, NOTHING)
    assert ack["screen_share"]["sharer"]["user_id"] == PATIENT
    assert len(outbox.published) == 2


async def test_one_shares_at_a_time() -> None:
    handlers, _, call = await screen()
    await handlers.allow(call.doctor, allow(True), NOTHING)
    await handlers.share(call.patient, SHARE, NOTHING)
    with pytest.raises(ScreenInUse):
        await handlers.share(call.doctor, SHARE, NOTHING)


async def test_taking_the_permission_back_stops_the_patients_share() -> None:
    handlers, outbox, call = await screen()
    await handlers.allow(call.doctor, allow(True), NOTHING)
    await handlers.share(call.patient, SHARE, NOTHING)
    ack = await handlers.allow(call.doctor, allow(False), NOTHING)
    assert (ack["screen_share"]["sharer"], ack["screen_share"]["patient_allowed"]) == (None, False)
    after = outbox.published[-1].update.after
    assert after is not None
    assert after.screen.sharer is None


async def test_only_the_doctor_allows() -> None:
    handlers, outbox, call = await screen()
    with pytest.raises(Forbidden):
        await handlers.allow(call.patient, allow(True), NOTHING)
    assert outbox.published == []


async def test_a_waiting_patient_does_not_share_even_allowed() -> None:
    handlers, outbox, call = await screen(admitted=False)
    await handlers.allow(call.doctor, allow(True), NOTHING)
    with pytest.raises(Forbidden):
        await handlers.share(call.patient, SHARE, NOTHING)
    assert len(outbox.published) == 1  # the permission only


async def test_stopping_a_share_one_does_not_hold_publishes_nothing() -> None:
    handlers, outbox, call = await screen()
    ack = await handlers.share(call.doctor, STOP, NOTHING)
    assert ack["screen_share"]["sharer"] is None
    assert outbox.published == []


async def test_sharing_needs_the_joined_consultation() -> None:
    handlers, outbox, _ = await screen()
    elsewhere = connection(DOCTOR, Role.DOCTOR, "d2")
    with pytest.raises(Forbidden):
        await handlers.share(elsewhere, SHARE, NOTHING)
    with pytest.raises(Forbidden):
        await handlers.allow(elsewhere, allow(True), NOTHING)
    assert outbox.published == []


# ---------------------------------------------------------------------- recording consent


def consent(given: bool, version: str = CURRENT_NOTICE.version) -> RecordingConsentIn:
    return RecordingConsentIn(appointment_id=APPOINTMENT, consent=given, notice_version=version)


async def test_recording_consents_are_refused_when_recording_is_disabled() -> None:
    clinic, outbox = Clinic(), FakeOutbox()
    consult = clinic.consultations()
    call = await call_in_progress(consult, outbox)
    handler = RecordingConsent(rooms=consult, recordings=None, outbox=outbox)
    with pytest.raises(RecordingDisabled) as refused:
        await handler.consent(call.doctor, consent(True), NOTHING)
    assert refused.value.code == "recording_disabled"
    assert outbox.sent == []
    assert outbox.published == []


async def test_a_consent_needs_the_joined_consultation() -> None:
    desk = RecordingDesk()
    await call_in_progress(desk.consult, desk.outbox)
    with pytest.raises(Forbidden):
        await desk.handler.consent(connection(DOCTOR, Role.DOCTOR, "d2"), consent(True), NOTHING)
    assert desk.consents.records == []


async def test_a_consent_is_stored_and_published_with_its_cause() -> None:
    desk = RecordingDesk()
    call = await call_in_progress(desk.consult, desk.outbox)
    ack = await desk.handler.consent(call.doctor, consent(True), NOTHING)
    view = ack["recording"]
    assert view["consents"] == {"doctor": True, "patient": False}
    assert view["recording"] is False
    [record] = desk.consents.records
    assert (record.user_id, record.role, record.consent) == (DOCTOR, Role.DOCTOR, True)
    assert [e.action for e in desk.audit.entries] == ["recording.consent"]
    [published] = desk.outbox.published
    assert published.cause is not None
    assert (published.cause.actor_id, published.cause.actor_role) == (DOCTOR, Role.DOCTOR)
    assert published.cause.reason is StopReason.CONSENT_WITHDRAWN
    assert published.cause.client_ip == call.doctor.address
    assert desk.outbox.events("recording:declined") == []


async def test_both_consents_start_a_recording_on_this_node() -> None:
    desk = RecordingDesk()
    call = await call_in_progress(desk.consult, desk.outbox)
    await desk.handler.consent(call.doctor, consent(True), NOTHING)
    ack = await desk.handler.consent(call.patient, consent(True), NOTHING)
    assert ack["recording"]["recording"] is True
    assert ack["recording"]["recording_id"] is not None
    room = desk.outbox.published[-1].update.after
    assert room is not None
    assert room.recording.node == desk.consult.node_id


async def test_a_decline_tells_the_other_participant() -> None:
    desk = RecordingDesk()
    call = await call_in_progress(desk.consult, desk.outbox)
    await desk.handler.consent(call.doctor, consent(True), NOTHING)
    await desk.handler.consent(call.patient, consent(False), NOTHING)
    [declined] = desk.outbox.events("recording:declined")
    assert declined.data == {"appointment_id": APPOINTMENT, "by": "patient"}
    assert declined.to == consult_room(APPOINTMENT)
    assert declined.reached == {"d1"}


async def test_withdrawing_ones_own_consent_is_not_a_decline() -> None:
    desk = RecordingDesk()
    call = await call_in_progress(desk.consult, desk.outbox)
    await desk.handler.consent(call.doctor, consent(True), NOTHING)
    ack = await desk.handler.consent(call.doctor, consent(False), NOTHING)
    assert ack["recording"]["consents"]["doctor"] is False
    assert desk.outbox.events("recording:declined") == []


async def test_a_consent_from_the_waiting_room_or_to_an_unknown_notice_is_refused() -> None:
    desk = RecordingDesk()
    call = await call_in_progress(desk.consult, desk.outbox, admitted=False)
    with pytest.raises(NotInCall):
        await desk.handler.consent(call.patient, consent(True), NOTHING)
    with pytest.raises(InvalidInput):
        await desk.handler.consent(call.doctor, consent(True, "1999-01"), NOTHING)
    assert desk.consents.records == []
    assert desk.outbox.published == []
