"""The rules of text-and-image consultations (domain/text_consultations.py), pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus
from domain.consultation import JoinWindow, NotVideo
from domain.errors import NotFound
from domain.ids import AppointmentId, UserId
from domain.text_consultations import (
    NotAnswered,
    TextConsultationClosed,
    TextConsultationsOff,
    book_text,
    chat_role,
    check_end,
    counts,
    is_overdue,
    queue,
    status_after_message,
    to_video,
)
from domain.users import Role
from tests.clock import FakeClock

S = AppointmentStatus
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
PATIENT, DOCTOR, STRANGER = UserId("p1"), UserId("d1"), UserId("x1")


def text(
    *, asked: datetime = T0, status: S = S.BOOKED, hours: int = 24, id: str = "a1"
) -> Appointment:
    booking = book_text(enabled=True, response_hours=hours, now=asked)
    return Appointment(
        id=AppointmentId(id),
        patient_id=PATIENT,
        doctor_id=DOCTOR,
        start=booking.asked_at,
        end=booking.respond_by,
        kind=AppointmentKind.TEXT,
        reason="a rash",
        status=status,
        created_at=asked,
        updated_at=asked,
        respond_by=booking.respond_by,
    )


def test_booking_records_when_it_was_asked_and_the_deadline_from_the_setting() -> None:
    clock = FakeClock(T0)
    booking = book_text(enabled=True, response_hours=6, now=clock())
    assert booking.asked_at == T0
    assert booking.respond_by == T0 + timedelta(hours=6)


def test_a_clinic_that_does_not_take_text_consultations_refuses_the_booking() -> None:
    with pytest.raises(TextConsultationsOff):
        book_text(enabled=False, response_hours=24, now=T0)


def test_overdue_exactly_when_the_deadline_passes_unanswered() -> None:
    clock = FakeClock(T0)
    a = text(hours=24)
    clock.advance(hours=23, minutes=59, seconds=59)
    assert not is_overdue(a, clock())
    clock.advance(seconds=1)
    assert is_overdue(a, clock())
    # Once answered it is never overdue, however late.
    assert not is_overdue(replace(a, status=S.IN_PROGRESS), clock())
    assert not is_overdue(replace(a, status=S.CANCELLED), clock())
    # A video appointment has no response deadline.
    assert not is_overdue(replace(a, kind=AppointmentKind.VIDEO), clock())


def test_both_participants_write_while_it_is_open_and_nobody_else_ever() -> None:
    a = text()
    assert chat_role(a, PATIENT) is Role.PATIENT
    assert chat_role(a, DOCTOR) is Role.DOCTOR
    assert chat_role(replace(a, status=S.IN_PROGRESS), PATIENT) is Role.PATIENT
    with pytest.raises(NotFound):
        chat_role(a, STRANGER)
    with pytest.raises(NotFound):  # a video appointment's chat needs its room
        chat_role(replace(a, kind=AppointmentKind.VIDEO), PATIENT)
    for closed in (S.COMPLETED, S.CANCELLED):
        with pytest.raises(TextConsultationClosed):
            chat_role(replace(a, status=closed), PATIENT)


def test_the_doctors_first_message_answers_it_and_nothing_else_does() -> None:
    a = text()
    assert status_after_message(a, Role.DOCTOR) is S.IN_PROGRESS
    assert status_after_message(a, Role.PATIENT) is None
    assert status_after_message(replace(a, status=S.IN_PROGRESS), Role.DOCTOR) is None
    assert status_after_message(replace(a, kind=AppointmentKind.VIDEO), Role.DOCTOR) is None


def test_only_its_doctor_ends_it_and_only_once_answered() -> None:
    a = text()
    with pytest.raises(NotAnswered):
        check_end(a, DOCTOR)
    answered = replace(a, status=S.IN_PROGRESS)
    check_end(answered, DOCTOR)
    for who in (PATIENT, STRANGER):
        with pytest.raises(NotFound):
            check_end(answered, who)
    with pytest.raises(TextConsultationClosed):
        check_end(replace(a, status=S.COMPLETED), DOCTOR)


def test_its_doctor_turns_an_open_one_into_a_video_call_starting_now() -> None:
    now = T0 + timedelta(hours=2)
    for status in (S.BOOKED, S.IN_PROGRESS):
        call = to_video(replace(text(), status=status), DOCTOR, now=now, minutes=20)
        assert call.start == now == call.converted_at
        assert call.end == now + timedelta(minutes=20)
        assert call.sources == {S.BOOKED, S.IN_PROGRESS}
    with pytest.raises(NotFound):
        to_video(text(), PATIENT, now=now, minutes=20)
    with pytest.raises(TextConsultationClosed):
        to_video(replace(text(), status=S.COMPLETED), DOCTOR, now=now, minutes=20)


def test_a_text_consultation_has_no_video_room() -> None:
    window = JoinWindow(early=timedelta(minutes=15), grace=timedelta(minutes=30))
    with pytest.raises(NotVideo):
        window.check(text(), T0)


def test_the_queue_is_open_ones_oldest_first_with_the_overdue_marked() -> None:
    now = T0 + timedelta(hours=30)
    old = text(id="old", asked=T0)  # due at T0+24h: overdue
    newer = text(id="newer", asked=T0 + timedelta(hours=10))  # due at T0+34h
    answered = text(id="answered", asked=T0 - timedelta(hours=1), status=S.IN_PROGRESS)
    done = text(id="done", asked=T0 - timedelta(hours=2), status=S.COMPLETED)
    video = replace(text(id="video"), kind=AppointmentKind.VIDEO)
    entries = queue([newer, done, old, video, answered], now)
    assert [(e.appointment.id, e.overdue) for e in entries] == [
        ("answered", False),
        ("old", True),
        ("newer", False),
    ]
    c = counts([newer, done, old, video, answered], now)
    assert (c.waiting, c.overdue, c.in_progress) == (2, 1, 1)


def test_a_text_consultations_own_moves_and_where_they_come_from() -> None:
    from domain.text_consultations import text_sources_of

    assert text_sources_of(S.IN_PROGRESS) == {S.BOOKED}  # answered without a waiting room
    assert text_sources_of(S.COMPLETED) == {S.IN_PROGRESS}
    assert text_sources_of(S.CANCELLED) == {S.BOOKED}
    assert text_sources_of(S.WAITING) == frozenset()
