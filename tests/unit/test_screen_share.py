"""Screen sharing as pure rules (domain.screen_share) and in the consultation room: the doctor
shares whenever in the call, the patient only while the doctor allows it, one at a time; the
sharer stops at any time, and leaving, dropping or reloading ends their share."""

from __future__ import annotations

import pytest

from domain.appointments import AppointmentStatus
from domain.consultation import Room
from domain.errors import Forbidden
from domain.screen_share import ScreenInUse, ScreenShare, ScreenShareNotAllowed
from domain.users import Role
from tests.unit.test_consultation_room import DOCTOR, PATIENT, START, join, room

S = AppointmentStatus


def in_call() -> Room:
    r = join(join(room(), PATIENT, "p1"), DOCTOR, "d1")
    return r.started(START)


def test_the_doctor_shares_and_the_patient_needs_the_doctors_permission() -> None:
    share = ScreenShare()
    assert share.start(DOCTOR, Role.DOCTOR).sharer == DOCTOR
    with pytest.raises(ScreenShareNotAllowed):
        share.start(PATIENT, Role.PATIENT)
    allowed = share.allow(Role.DOCTOR, True, PATIENT)
    assert allowed.start(PATIENT, Role.PATIENT).sharer == PATIENT
    with pytest.raises(Forbidden):
        share.allow(Role.PATIENT, True, PATIENT)


def test_one_screen_at_a_time_and_stopping_anothers_share_changes_nothing() -> None:
    share = ScreenShare(patient_allowed=True).start(DOCTOR, Role.DOCTOR)
    with pytest.raises(ScreenInUse):
        share.start(PATIENT, Role.PATIENT)
    assert share.stop(PATIENT) == share
    assert share.start(DOCTOR, Role.DOCTOR) is share
    assert share.stop(DOCTOR).sharer is None


def test_taking_the_permission_back_stops_the_patients_share_not_the_doctors() -> None:
    patient_shares = ScreenShare(patient_allowed=True).start(PATIENT, Role.PATIENT)
    taken_back = patient_shares.allow(Role.DOCTOR, False, PATIENT)
    assert taken_back == ScreenShare(sharer=None, patient_allowed=False)
    doctor_shares = ScreenShare(patient_allowed=True).start(DOCTOR, Role.DOCTOR)
    assert doctor_shares.allow(Role.DOCTOR, False, PATIENT).sharer == DOCTOR


def test_in_the_room_only_someone_admitted_shares() -> None:
    waiting = join(join(room(), PATIENT, "p1"), DOCTOR, "d1").allow_screen("d1", True)
    with pytest.raises(Forbidden):
        waiting.share_screen("p1", True)  # still in the waiting room
    with pytest.raises(Forbidden):
        waiting.share_screen("stranger", True)
    assert waiting.share_screen("d1", True).screen.sharer == DOCTOR
    r = in_call()
    assert r.share_screen("d1", False) is r  # nothing to stop: no change, no new revision


@pytest.mark.parametrize("how", ["leave", "drop", "reload"])
def test_the_sharer_going_ends_the_share_and_the_other_going_does_not(how: str) -> None:
    r = in_call().allow_screen("d1", True).share_screen("p1", True)
    assert r.screen.sharer == PATIENT
    if how == "leave":
        after = r.leave("p1")
    elif how == "drop":
        after = r.disconnect("p1")
    else:
        after = join(r, PATIENT, "p2")
    assert after is not None
    assert after.screen.sharer is None
    assert after.screen.patient_allowed  # the doctor's permission stays for this call
    doctor_leaves = r.disconnect("d1")
    assert doctor_leaves is not None
    assert doctor_leaves.screen.sharer == PATIENT
