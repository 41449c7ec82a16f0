"""The consultation room as a pure state machine: join window, waiting room, admit, leave,
drop and rejoin, end, and the seats of vanished sockets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus
from domain.consultation import (
    ConsultationOver,
    JoinWindow,
    NotStarted,
    NotVideo,
    NotWaiting,
    PatientNotWaiting,
    Room,
    SeatState,
    TooEarly,
    status_on_join,
)
from domain.errors import Forbidden, NotFound
from domain.ids import AppointmentId, UserId
from domain.users import Role

S = AppointmentStatus
START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
WINDOW = JoinWindow(early=timedelta(minutes=15), grace=timedelta(minutes=30))
DOCTOR = UserId("d" * 24)
PATIENT = UserId("p" * 24)
NODE = "node-1"


def appointment(status: S = S.BOOKED, kind: AppointmentKind = AppointmentKind.VIDEO) -> Appointment:
    return Appointment(
        id=AppointmentId("a" * 24),
        patient_id=PATIENT,
        doctor_id=DOCTOR,
        start=START,
        end=START + timedelta(minutes=30),
        kind=kind,
        reason="",
        status=status,
        created_at=START - timedelta(days=1),
        updated_at=START - timedelta(days=1),
    )


def room(status: S = S.BOOKED) -> Room:
    return Room.open(
        appointment(status), doctor_name="Dr Li", patient_name="Wang", window=WINDOW, now=START
    )


def join(r: Room, user: UserId, sid: str, status: S | None = None) -> Room:
    joined, _ = r.join(
        user_id=user, name="x", sid=sid, node=NODE, status=status or r.status, now=START
    )
    return joined


# ----------------------------------------------------------------------------- join window


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (START - timedelta(minutes=15), True),  # opens exactly 15 minutes early
        (START - timedelta(minutes=15, seconds=1), False),
        (START + timedelta(minutes=30 + 30), True),  # end + grace, inclusive
        (START + timedelta(minutes=60, seconds=1), False),
    ],
)
def test_join_window_edges(now: datetime, allowed: bool) -> None:
    if allowed:
        WINDOW.check(appointment(), now)
    else:
        with pytest.raises((TooEarly, ConsultationOver)):
            WINDOW.check(appointment(), now)


def test_too_early_says_when_it_opens() -> None:
    with pytest.raises(TooEarly) as caught:
        WINDOW.check(appointment(), START - timedelta(hours=1))
    assert caught.value.code == "too_early"
    assert caught.value.details == {"opens_at": "2030-03-04T08:45:00.000Z"}


@pytest.mark.parametrize("status", [S.COMPLETED, S.CANCELLED, S.NO_SHOW])
def test_finished_appointments_cannot_be_joined(status: S) -> None:
    with pytest.raises(ConsultationOver):
        WINDOW.check(appointment(status), START)


def test_a_consultation_in_progress_stays_joinable_after_the_window() -> None:
    WINDOW.check(appointment(S.IN_PROGRESS), START + timedelta(hours=5))
    with pytest.raises(ConsultationOver):
        WINDOW.check(appointment(S.WAITING), START + timedelta(hours=5))


def test_in_person_appointments_have_no_video_room() -> None:
    with pytest.raises(NotVideo):
        WINDOW.check(appointment(kind=AppointmentKind.IN_PERSON), START)


def test_a_patient_arriving_puts_a_booked_appointment_in_the_waiting_room() -> None:
    assert status_on_join(appointment(S.BOOKED), Role.PATIENT) is S.WAITING
    assert status_on_join(appointment(S.WAITING), Role.PATIENT) is None
    assert status_on_join(appointment(S.BOOKED), Role.DOCTOR) is None


# ----------------------------------------------------------------------------- seats


def test_doctor_is_admitted_at_once_and_patient_waits() -> None:
    r, doctor = room().join(
        user_id=DOCTOR, name="Dr Li", sid="d1", node=NODE, status=S.BOOKED, now=START
    )
    assert doctor.role is Role.DOCTOR
    assert doctor.state is SeatState.ADMITTED
    r, patient = r.join(
        user_id=PATIENT, name="Wang", sid="p1", node=NODE, status=S.WAITING, now=START
    )
    assert patient.state is SeatState.WAITING
    assert r.status is S.WAITING
    assert r.waiting_since == START
    assert [s.role for s in r.seats] == [Role.DOCTOR, Role.PATIENT]
    assert r.patient_waiting


def test_a_stranger_cannot_take_a_seat() -> None:
    with pytest.raises(NotFound):
        room().join(
            user_id=UserId("x" * 24), name="x", sid="s", node=NODE, status=S.BOOKED, now=START
        )


def test_admit_needs_the_doctor_and_a_waiting_patient() -> None:
    r = join(room(), DOCTOR, "d1")
    with pytest.raises(PatientNotWaiting):  # admit before the patient waits
        r.check_admit("d1")
    r = join(r, PATIENT, "p1", S.WAITING)
    with pytest.raises(Forbidden):  # the patient cannot admit
        r.check_admit("p1")
    with pytest.raises(Forbidden):  # nor can a socket without a seat
        r.check_admit("other")
    r.check_admit("d1")
    started = r.started(START)
    assert started.status is S.IN_PROGRESS
    assert started.started_at == START
    assert started.seat_of_user(PATIENT).state is SeatState.ADMITTED  # type: ignore[union-attr]
    with pytest.raises(PatientNotWaiting):  # twice
        started.check_admit("d1")


def test_the_waiting_patients_note_stays_with_the_room_until_admitted() -> None:
    r = join(join(room(), DOCTOR, "d1"), PATIENT, "p1", S.WAITING)
    with pytest.raises(Forbidden):  # the doctor does not write from the waiting room
        r.noted("d1", "hi", START)
    with pytest.raises(Forbidden):  # nor a socket without a seat
        r.noted("other", "hi", START)
    r, note = r.noted("p1", "I'm here", START)
    assert r.waiting_note == note
    assert (note.text, note.sent_at) == ("I'm here", START)
    later = START + timedelta(minutes=2)
    r, _ = r.noted("p1", "connection weak", later)  # the latest replaces the one before
    assert r.waiting_note is not None
    assert (r.waiting_note.text, r.waiting_note.sent_at) == ("connection weak", later)
    dropped = r.disconnect("p1")
    assert dropped is not None
    assert dropped.waiting_note == r.waiting_note  # kept while the doctor is still there
    started = r.started(later)
    assert started.waiting_note is None  # read: the call began
    with pytest.raises(NotWaiting):
        started.noted("p1", "again", later)


def test_a_disconnected_waiting_patient_cannot_be_admitted() -> None:
    r = join(join(room(), DOCTOR, "d1"), PATIENT, "p1", S.WAITING)
    r = r.disconnect("p1")
    assert r is not None
    with pytest.raises(PatientNotWaiting):
        r.check_admit("d1")


def test_only_admitted_participants_signal_and_only_to_an_admitted_peer() -> None:
    r = join(join(room(), DOCTOR, "d1"), PATIENT, "p1", S.WAITING)
    with pytest.raises(Forbidden):  # signal before admitted
        r.relay_target("p1")
    sender, peer = r.relay_target("d1")
    assert sender.user_id == DOCTOR
    assert peer is None  # the patient is not admitted yet: nothing is delivered
    r = r.started(START)
    sender, peer = r.relay_target("p1")
    assert peer is not None
    assert peer.sid == "d1"


def test_end_is_for_the_doctor_once_started() -> None:
    r = join(join(room(), DOCTOR, "d1"), PATIENT, "p1", S.WAITING)
    with pytest.raises(NotStarted):
        r.check_end("d1")
    r = r.started(START)
    with pytest.raises(Forbidden):  # end by patient
        r.check_end("p1")
    r.check_end("d1")


def test_doctor_drops_and_rejoins_without_ending() -> None:
    r = join(join(room(), DOCTOR, "d1"), PATIENT, "p1", S.WAITING).started(START)
    dropped = r.disconnect("d1")
    assert dropped is not None  # in progress: the room stays
    assert dropped.status is S.IN_PROGRESS
    assert not dropped.seat_of_user(DOCTOR).connected  # type: ignore[union-attr]
    back = join(dropped, DOCTOR, "d2")
    assert back.seat_of_user(DOCTOR).state is SeatState.ADMITTED  # type: ignore[union-attr]
    assert back.status is S.IN_PROGRESS


def test_patient_reconnecting_to_a_consultation_in_progress_is_readmitted() -> None:
    r = join(join(room(), DOCTOR, "d1"), PATIENT, "p1", S.WAITING).started(START)
    r = r.disconnect("p1")
    assert r is not None
    r, joined = r.join(
        user_id=PATIENT, name="Wang", sid="p2", node=NODE, status=S.WAITING, now=START
    )
    assert joined.state is SeatState.ADMITTED
    assert r.status is S.IN_PROGRESS  # a stale status read never takes the room back


def test_a_new_socket_of_the_same_user_takes_the_seat() -> None:
    r = join(join(room(), DOCTOR, "d1"), PATIENT, "p1", S.WAITING)
    r, joined = r.join(
        user_id=PATIENT, name="Wang", sid="p2", node=NODE, status=S.WAITING, now=START
    )
    assert joined.replaced_sid == "p1"
    assert r.seat_of_sid("p1") is None
    # The old socket going away later changes nothing.
    assert r.disconnect("p1") is r


def test_a_room_not_started_goes_when_nobody_is_left() -> None:
    r = join(room(), DOCTOR, "d1")
    assert r.disconnect("d1") is None
    r = join(join(room(), DOCTOR, "d1"), PATIENT, "p1", S.WAITING)
    r2 = r.leave("p1")
    assert r2 is not None
    assert r2.seat_of_user(PATIENT).state is SeatState.LEFT  # type: ignore[union-attr]
    assert r2.leave("d1") is None
    with pytest.raises(Forbidden):
        r.leave("nobody")


def test_release_of_vanished_sockets_and_expiry() -> None:
    r = join(join(room(), DOCTOR, "d1"), PATIENT, "p1", S.WAITING).started(START)
    r = replace(r, seats=tuple(replace(s, node="dead") if s.sid == "p1" else s for s in r.seats))
    released = r.release_where(lambda seat: seat.node == "dead")
    assert released is not None
    assert [s.connected for s in released.seats] == [True, False]
    assert r.release_where(lambda seat: False) is r
    nobody = released.disconnect("d1")
    assert nobody is not None
    assert not nobody.is_expired(nobody.closes_at)
    assert nobody.is_expired(nobody.closes_at + timedelta(seconds=1))
    assert not released.is_expired(released.closes_at + timedelta(hours=1))  # someone is there


def test_message_count_only_grows() -> None:
    r = room().counted(5)
    assert r.message_count == 5
    assert r.counted(3) is r
