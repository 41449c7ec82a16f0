"""Consented recording through the real hub: ``recording:consent`` from each participant, the
hidden recorder (a server-side aiortc peer per participant, offered over ``recording:offer``),
``recording:state`` for both indicators, stopping on withdrawal, leaving, dropping and ending,
and the file: one WebM that PyAV decodes, with both participants' video and sound."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import av
import pytest

from domain.recording import (
    CURRENT_NOTICE,
    Recording,
    RecordingState,
    RecordingStatus,
    StopReason,
)
from domain.users import Role
from media.feed import RecorderFeed
from media.tracks import read_marker
from server import keys
from server.media import recordings_dir
from server.settings import MediaSettings, RedisSettings, Settings
from tests.clock import FakeClock
from tests.conftest import METRICS, bearer
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic, HubClient, error_code, in_call, joined
from tests.support.rtc import small_peer, wait_until
from tests.support.waiting import poll

pytestmark = pytest.mark.slow

NOTICE = CURRENT_NOTICE.version


@dataclass
class Call:
    appointment: str
    patient: dict[str, Any]
    doctor: dict[str, Any]
    patient_socket: HubClient
    doctor_socket: HubClient
    patient_feed: RecorderFeed
    doctor_feed: RecorderFeed

    @property
    def ref(self) -> dict[str, str]:
        return {"appointment_id": self.appointment}

    async def consent(self, socket: HubClient, given: bool = True) -> dict[str, Any]:
        ack: dict[str, Any] = await socket.call(
            "recording:consent", {**self.ref, "consent": given, "notice_version": NOTICE}
        )
        return ack

    async def close(self) -> None:
        await asyncio.gather(self.patient_feed.close(), self.doctor_feed.close())


async def start_call(clinic: Clinic) -> Call:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    patient_socket, doctor_socket = await in_call(clinic, patient, doctor, appointment)
    return Call(
        appointment=appointment,
        patient=patient,
        doctor=doctor,
        patient_socket=patient_socket,
        doctor_socket=doctor_socket,
        patient_feed=RecorderFeed(patient_socket.sio, small_peer, appointment_id=appointment),
        doctor_feed=RecorderFeed(doctor_socket.sio, small_peer, appointment_id=appointment),
    )


async def recording_flows(*feeds: RecorderFeed, frames: int = 20) -> None:
    """Until each feed's connection to the recorder is up and has sent ``frames`` pictures."""

    def sent(feed: RecorderFeed) -> int:
        peer = feed.peer
        if peer is None or peer.video is None or peer.pc.connectionState != "connected":
            return 0
        return peer.video.frames_sent

    await wait_until(lambda: all(sent(f) >= frames for f in feeds))


async def finished(clinic: Clinic, recording_id: str) -> Recording:
    """The recording once it stopped (participants are told first; the file is finalised
    right after, in the same handler)."""
    repos = clinic.client.app[keys.DATABASE].repos

    async def stopped() -> Recording | None:
        recording = await repos.recordings.get(recording_id)
        if recording is not None and recording.status is not RecordingStatus.RECORDING:
            return recording
        return None

    stored: Recording = await poll(stopped, within=15, every=0.05)
    return stored


def state(socket: HubClient, **expected: Any) -> Any:
    """The first ``recording:state`` the socket received matching ``expected``."""
    return socket.wait_for(
        "recording:state", lambda s: all(s.get(k) == v for k, v in expected.items())
    )


async def audit_actions(clinic: Clinic, patient_id: str) -> Counter[str]:
    entries = await clinic.client.app[keys.DATABASE].repos.audit.query(
        patient_id=patient_id, limit=500
    )
    return Counter(f"{e.action}:{e.outcome.value}" for _, e in entries)


def decoded(path: Path) -> tuple[list[str], Counter[str], Counter[int]]:
    """Stream titles, frames decoded per title, and video markers seen in the file."""
    frames: Counter[str] = Counter()
    markers: Counter[int] = Counter()
    with av.open(str(path)) as container:
        titles = sorted(s.metadata.get("title", "") for s in container.streams)
        for packet in container.demux():
            title = packet.stream.metadata.get("title", "")
            for frame in packet.decode():
                frames[title] += 1
                if packet.stream.type == "video":
                    marker = read_marker(frame)  # type: ignore[arg-type]
                    if marker is not None:
                        markers[marker.signature] += 1
    return titles, frames, markers


async def test_both_consent_record_and_a_withdrawal_stops_it_at_once(clinic: Clinic) -> None:
    call = await start_call(clinic)
    repos = clinic.client.app[keys.DATABASE].repos
    admin = await clinic.user(Role.ADMIN)
    feed = await clinic.connect(admin, namespace="/admin")
    await feed.wait_for("rooms:snapshot")
    try:
        first = await call.consent(call.patient_socket)
        assert first["ok"] is True
        assert first["recording"]["recording"] is False
        assert first["recording"]["consents"] == {"doctor": False, "patient": True}
        # Both see the patient's consent (the doctor's UI asks them now).
        await state(call.doctor_socket, consents={"doctor": False, "patient": True})

        second = await call.consent(call.doctor_socket)
        assert second["recording"]["recording"] is True
        recording_id = second["recording"]["recording_id"]
        for socket in (call.patient_socket, call.doctor_socket):  # both indicators on
            on = await state(socket, recording=True)
            assert on["recording_id"] == recording_id
            assert on["consents"] == {"doctor": True, "patient": True}
        metrics = await (await clinic.client.get("/metrics", headers=METRICS)).text()
        assert "telemed_recordings_running 1.0" in metrics
        summary = await feed.wait_for("rooms:update", lambda s: s["recording"] is True)
        assert summary["participants"] == [  # the recorder is not a participant
            {"user_id": call.doctor["id"], "role": "doctor", "connected": True},
            {"user_id": call.patient["id"], "role": "patient", "connected": True},
        ]
        view = await state(call.patient_socket, recording=True)
        assert view["notice_version"] == NOTICE

        # Each participant got the recorder's offer on its own socket, and answered it.
        await recording_flows(call.patient_feed, call.doctor_feed)
        sent = {f.peer.signature for f in (call.patient_feed, call.doctor_feed) if f.peer}
        assert len(sent) == 2
        assert call.patient_feed.offers[0]["recording_id"] == recording_id
        assert call.doctor_feed.offers[0]["recording_id"] == recording_id
        running = await repos.recordings.get(recording_id)
        assert running is not None
        assert running.status is RecordingStatus.RECORDING
        assert running.started_by == call.doctor["id"]  # whose consent completed the pair

        withdrawn = await call.consent(call.doctor_socket, given=False)
        # Stopped before the ack: the file is finalised and the recording complete.
        assert withdrawn["recording"]["recording"] is False
        stopped = await repos.recordings.get(recording_id)
        assert stopped is not None
        assert stopped.status is RecordingStatus.COMPLETE
        assert stopped.stop_reason is StopReason.CONSENT_WITHDRAWN
        for socket in (call.patient_socket, call.doctor_socket):
            off = await state(
                socket, recording=False, recording_id=None, rev=withdrawn["recording"]["rev"]
            )
            assert off["consents"] == {"doctor": False, "patient": True}
        await feed.wait_for("rooms:update", lambda s: s["recording"] is False and s["rev"] > 0)
    finally:
        await call.close()

    assert stopped.file_name == f"{recording_id}.webm"
    path = recordings_dir(clinic.client.app[keys.SETTINGS].core.data_dir) / stopped.file_name
    assert stopped.size_bytes == path.stat().st_size > 0
    assert stopped.duration_seconds is not None
    assert stopped.duration_seconds > 0.5
    titles, frames, markers = decoded(path)
    assert titles == ["doctor audio", "doctor video", "patient audio", "patient video"]
    assert all(frames[t] > 0 for t in titles), frames
    # Both participants' own pictures are in it (each feed sent its own marked video).
    assert set(markers) == sent, markers
    assert all(n >= 5 for n in markers.values()), markers

    consents = await repos.recording_consents.for_appointment(call.appointment)
    assert [(c.role, c.consent) for c in consents] == [
        (Role.PATIENT, True),
        (Role.DOCTOR, True),
        (Role.DOCTOR, False),
    ]
    assert all(c.notice_version == NOTICE for c in consents)
    assert all(c.notice_digest == CURRENT_NOTICE.digest for c in consents)
    actions = await audit_actions(clinic, call.patient["id"])
    assert actions["recording.consent:success"] == 3
    assert actions["recording.start:success"] == 1
    assert actions["recording.stop:success"] == 1


async def test_one_consent_records_nothing(clinic: Clinic) -> None:
    call = await start_call(clinic)
    try:
        ack = await call.consent(call.patient_socket)
        assert ack["recording"] == {
            "appointment_id": call.appointment,
            "recording": False,
            "recording_id": None,
            "consents": {"doctor": False, "patient": True},
            "notice_version": NOTICE,
            "rev": ack["recording"]["rev"],
        }
        # A recording would have been started before that ack: nothing was.
        page = await clinic.client.app[keys.DATABASE].repos.recordings.page(
            call.appointment, after=None, limit=10
        )
        assert page.items == []
        assert call.patient_feed.offers == call.doctor_feed.offers == []
        # Giving consent twice changes nothing; withdrawing it is always fine.
        assert (await call.consent(call.patient_socket))["recording"]["recording"] is False
        # The doctor's "no" to the patient's request is a decline: the patient is told.
        assert (await call.consent(call.doctor_socket, given=False))["ok"] is True
        declined = await call.patient_socket.wait_for("recording:declined")
        assert declined == {"appointment_id": call.appointment, "by": "doctor"}
        assert (await call.consent(call.patient_socket, given=False))["recording"]["consents"] == {
            "doctor": False,
            "patient": False,
        }
        # Withdrawing one's own consent, or answering "no" to nobody, declines nothing.
        assert (await call.consent(call.doctor_socket, given=False))["ok"] is True
        await call.patient_socket.call("chat:typing", {**call.ref, "typing": False})
        assert call.doctor_socket.received("recording:declined") == []
        assert len(call.patient_socket.received("recording:declined")) == 1
    finally:
        await call.close()


async def test_dropping_out_stops_it_and_ending_stops_the_next_one(clinic: Clinic) -> None:
    call = await start_call(clinic)
    repos = clinic.client.app[keys.DATABASE].repos
    try:
        await call.consent(call.patient_socket)
        first = (await call.consent(call.doctor_socket))["recording"]["recording_id"]
        await recording_flows(call.patient_feed, call.doctor_feed, frames=5)

        # The patient's connection drops: their consent and the recording end with it.
        await call.patient_socket.drop()
        off = await state(call.doctor_socket, consents={"doctor": True, "patient": False})
        assert off["recording"] is False
        stopped = await finished(clinic, first)
        assert stopped.stop_reason is StopReason.PARTICIPANT_LEFT
        assert stopped.status is RecordingStatus.COMPLETE

        # Back (a new socket): the doctor's consent stands, so the patient's starts a new one.
        patient_socket = await joined(clinic, call.patient, call.appointment)
        standing = await state(patient_socket, consents={"doctor": True, "patient": False})
        assert standing["recording"] is False
        patient_feed = RecorderFeed(patient_socket.sio, small_peer)
        again = await patient_socket.call(
            "recording:consent", {**call.ref, "consent": True, "notice_version": NOTICE}
        )
        second = again["recording"]["recording_id"]
        assert second not in (None, first)
        await recording_flows(patient_feed, call.doctor_feed, frames=5)

        # The doctor ends the consultation: the recording stops and is finalised.
        assert (await call.doctor_socket.call("consult:end", call.ref))["ok"] is True
        ended = await finished(clinic, second)
        assert ended.stop_reason is StopReason.CONSULTATION_ENDED
        assert ended.status is RecordingStatus.COMPLETE
        await patient_feed.close()
    finally:
        await call.close()
    page = await repos.recordings.page(call.appointment, after=None, limit=10)
    assert [r.id for r in page.items] == [second, first]  # newest first
    assert clinic.client.app[keys.RECORDERS].running == 0


async def test_consent_refusals(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    other = await clinic.appointment(
        patient, await clinic.user(Role.DOCTOR), start=clinic.clock.now
    )
    ref = {"appointment_id": appointment}
    waiting = await joined(clinic, patient, appointment)

    async def consent(socket: HubClient, **payload: Any) -> dict[str, Any]:
        ack: dict[str, Any] = await socket.call("recording:consent", payload)
        return ack

    # A waiting patient is not in the call yet.
    assert (
        error_code(await consent(waiting, **ref, consent=True, notice_version=NOTICE))
        == "forbidden"
    )
    # ... but may always withdraw (nothing to withdraw: fine).
    assert (await consent(waiting, **ref, consent=False, notice_version=NOTICE))["ok"] is True
    doctor_socket = await joined(clinic, doctor, appointment)
    await doctor_socket.call("consult:admit", ref)
    await waiting.wait_for("consult:admitted")
    cases = [
        ({"consent": True, "notice_version": "1999-01"}, "invalid_input"),
        ({"consent": True, "notice_version": "../../etc"}, "invalid_input"),
        ({"consent": "yes", "notice_version": NOTICE}, "invalid_input"),
        ({"consent": True}, "invalid_input"),
        ({"consent": True, "notice_version": NOTICE, "extra": 1}, "invalid_input"),
    ]
    for payload, expected in cases:
        assert error_code(await consent(waiting, **ref, **payload)) == expected, payload
    # Another consultation than the one this socket joined.
    assert (
        error_code(
            await consent(waiting, appointment_id=other, consent=True, notice_version=NOTICE)
        )
        == "forbidden"
    )
    # A socket that joined nothing.
    lurker = await clinic.connect(patient)
    assert (
        error_code(await consent(lurker, **ref, consent=True, notice_version=NOTICE)) == "forbidden"
    )
    # After all that, nobody consents and nothing records.
    ack = await consent(doctor_socket, **ref, consent=True, notice_version=NOTICE)
    assert ack["recording"]["consents"] == {"doctor": True, "patient": False}
    records = await clinic.client.app[keys.DATABASE].repos.recording_consents.for_appointment(
        appointment
    )
    assert [(r.role, r.consent) for r in records] == [(Role.PATIENT, False), (Role.DOCTOR, True)]


async def test_an_outdated_notice_cannot_be_consented_to(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain import recording

    old = recording.Notice(version="2025-01", texts={"en": "old", "zh-CN": "旧"})
    monkeypatch.setitem(recording.NOTICES, old.version, old)
    call = await start_call(clinic)
    try:
        outdated = await call.patient_socket.call(
            "recording:consent", {**call.ref, "consent": True, "notice_version": old.version}
        )
        assert outdated["ok"] is False
        assert outdated["error"]["code"] == "notice_outdated"
        withdrawn = await call.patient_socket.call(
            "recording:consent", {**call.ref, "consent": False, "notice_version": old.version}
        )
        assert withdrawn["ok"] is True
    finally:
        await call.close()


async def test_participants_list_download_and_delete_it_and_nobody_else_can(
    clinic: Clinic,
) -> None:
    call = await start_call(clinic)
    try:
        await call.consent(call.patient_socket)
        recording_id = (await call.consent(call.doctor_socket))["recording"]["recording_id"]
        await recording_flows(call.patient_feed, call.doctor_feed, frames=10)

        # While it runs it is listed, but there is no file to download or delete yet.
        http = clinic.client
        listed = await http.get(
            f"/api/v1/appointments/{call.appointment}/recordings",
            headers=bearer(call.patient["access_token"]),
        )
        assert listed.status == 200
        (running,) = (await listed.json())["recordings"]
        assert running["status"] == "recording"
        assert running["download_url"] is None
        busy = await http.get(
            f"/api/v1/recordings/{recording_id}/file", headers=bearer(call.doctor["access_token"])
        )
        assert busy.status == 409
        assert (await busy.json())["code"] == "still_recording"
        await call.consent(call.patient_socket, given=False)
        await finished(clinic, recording_id)
    finally:
        await call.close()

    stranger = await clinic.user(Role.PATIENT)
    other_doctor = await clinic.user(Role.DOCTOR)
    admin = await clinic.user(Role.ADMIN)
    for outsider in (stranger, other_doctor, admin):
        auth = bearer(outsider["access_token"])
        for response in (
            await http.get(f"/api/v1/appointments/{call.appointment}/recordings", headers=auth),
            await http.get(f"/api/v1/recordings/{recording_id}/file", headers=auth),
            await http.delete(f"/api/v1/recordings/{recording_id}", headers=auth),
        ):
            assert response.status == 404, (outsider["user"]["role"], response.url)
            assert (await response.json())["code"] == "not_found"
    assert (await http.get(f"/api/v1/recordings/{recording_id}/file")).status == 401

    listed = await http.get(
        f"/api/v1/appointments/{call.appointment}/recordings",
        headers=bearer(call.doctor["access_token"]),
    )
    body = await listed.json()
    (done,) = body["recordings"]
    assert body["next_cursor"] is None
    assert done["id"] == recording_id
    assert done["status"] == "complete"
    assert done["stop_reason"] == "consent_withdrawn"
    assert done["content_type"] == "video/webm"
    assert sorted((t["role"], t["kind"]) for t in done["tracks"]) == [
        ("doctor", "audio"),
        ("doctor", "video"),
        ("patient", "audio"),
        ("patient", "video"),
    ]
    assert done["download_url"] == f"/api/v1/recordings/{recording_id}/file"

    download = await http.get(done["download_url"], headers=bearer(call.patient["access_token"]))
    assert download.status == 200
    assert download.headers["Content-Type"] == "video/webm"
    assert "attachment" in download.headers["Content-Disposition"]
    content = await download.read()
    assert len(content) == done["size_bytes"] > 0
    path = recordings_dir(clinic.client.app[keys.SETTINGS].core.data_dir) / f"{recording_id}.webm"
    assert content == await asyncio.to_thread(path.read_bytes)

    deleted = await http.delete(
        f"/api/v1/recordings/{recording_id}", headers=bearer(call.patient["access_token"])
    )
    assert deleted.status == 204
    assert not await asyncio.to_thread(path.exists)
    # The tombstone stays: who deleted it and when; the file is gone for both.
    listed = await http.get(
        f"/api/v1/appointments/{call.appointment}/recordings",
        headers=bearer(call.doctor["access_token"]),
    )
    (tombstone,) = (await listed.json())["recordings"]
    assert tombstone["status"] == "deleted"
    assert tombstone["deleted_by"] == call.patient["id"]
    assert tombstone["deleted_at"] is not None
    assert tombstone["download_url"] is None
    for response in (
        await http.get(done["download_url"], headers=bearer(call.doctor["access_token"])),
        await http.delete(
            f"/api/v1/recordings/{recording_id}", headers=bearer(call.doctor["access_token"])
        ),
    ):
        assert response.status == 404

    actions = await audit_actions(clinic, call.patient["id"])
    assert actions["recording.list:success"] == 3
    assert actions["recording.download:success"] == 1
    assert actions["recording.delete:success"] == 1
    assert actions["recording.start:success"] == actions["recording.stop:success"] == 1
    everything = await clinic.client.app[keys.DATABASE].repos.audit.query(limit=500)
    denied = Counter(e.action for _, e in everything if e.outcome.value == "denied")
    # Each outsider's attempts, and the participants' after the deletion, are on record.
    assert denied["recording.list"] == 3
    assert denied["recording.download"] == 4  # three outsiders, then the doctor
    assert denied["recording.delete"] == 4


async def test_the_notice_is_served_in_both_languages(clinic: Clinic) -> None:
    user = await clinic.user(Role.PATIENT)
    response = await clinic.client.get(
        "/api/v1/recording-notice", headers=bearer(user["access_token"])
    )
    assert response.status == 200
    body = await response.json()
    assert body["version"] == NOTICE
    assert set(body["texts"]) == {"en", "zh-CN"}
    assert body["digest"] == CURRENT_NOTICE.digest


@pytest.mark.redis
async def test_a_withdrawal_on_another_node_stops_the_recorder_at_once(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    """Patient on node one, doctor on node two: the doctor's consent completes the pair, so
    node two records; the patient withdraws through node one, which asks node two to stop
    (housekeeping is too slow here to be what stops it)."""
    clock = FakeClock()
    shared = settings.with_(redis=RedisSettings(redis_url=redis_url))
    one = await make_clinic(shared, clock=clock, hub_housekeeping=120)
    two = await make_clinic(shared, clock=clock, hub_housekeeping=120)
    patient = await one.user(Role.PATIENT)
    doctor = await one.user(Role.DOCTOR)
    appointment = await one.appointment(patient, doctor)
    ref = {"appointment_id": appointment, "notice_version": NOTICE}
    p = await joined(one, patient, appointment)
    d = await joined(two, doctor, appointment)
    await d.call("consult:admit", {"appointment_id": appointment})
    await p.wait_for("consult:admitted")
    feeds = [
        RecorderFeed(p.sio, small_peer, appointment_id=appointment),
        RecorderFeed(d.sio, small_peer, appointment_id=appointment),
    ]
    try:
        await p.call("recording:consent", {**ref, "consent": True})
        started = await d.call("recording:consent", {**ref, "consent": True})
        recording_id = started["recording"]["recording_id"]
        assert two.client.app[keys.RECORDERS].is_running(recording_id)
        # The patient's offer went through node one's socket, its answer back to node two.
        await recording_flows(*feeds, frames=5)

        withdrawn = await p.call("recording:consent", {**ref, "consent": False})
        assert withdrawn["recording"]["recording"] is False
        await state(d, recording=False, consents={"doctor": True, "patient": False})
        stopped = await finished(two, recording_id)
        assert stopped.stop_reason is StopReason.CONSENT_WITHDRAWN
        assert stopped.status is RecordingStatus.COMPLETE
        assert not two.client.app[keys.RECORDERS].is_running(recording_id)
    finally:
        await asyncio.gather(*(f.close() for f in feeds))


async def test_housekeeping_stops_a_recording_its_room_forgot(clinic: Clinic) -> None:
    """If a stop request is lost (pub/sub is at most once), the recorder's node notices on its
    next housekeeping run that the room no longer records, and stops."""
    call = await start_call(clinic)
    hub = clinic.client.app[keys.HUB]
    try:
        await call.consent(call.patient_socket)
        recording_id = (await call.consent(call.doctor_socket))["recording"]["recording_id"]
        await hub.consult.registry.update(
            call.appointment, lambda r: (replace(r, recording=RecordingState()), None)
        )
        await hub.housekeeping()  # noticed once: it may be a stop on its way
        await hub.housekeeping()  # still so: stopped
        stopped = await finished(clinic, recording_id)
        assert stopped.stop_reason is StopReason.PARTICIPANT_LEFT
        assert not clinic.client.app[keys.RECORDERS].is_running(recording_id)
    finally:
        await call.close()


async def test_shutting_down_finalises_the_recording(clinic: Clinic) -> None:
    call = await start_call(clinic)
    directory = recordings_dir(clinic.client.app[keys.SETTINGS].core.data_dir)
    try:
        await call.consent(call.patient_socket)
        recording_id = (await call.consent(call.doctor_socket))["recording"]["recording_id"]
        # As many pictures as the other tests wait for: on a loaded machine the recorder's
        # encoder may not have written a picture after five.
        await recording_flows(call.patient_feed, call.doctor_feed)
        # The server stops while recording (the hub's part of the app's shutdown; it runs
        # while the database is still open).
        await clinic.client.app[keys.HUB].stop()
    finally:
        await call.close()

    stored = await clinic.client.app[keys.DATABASE].repos.recordings.get(recording_id)
    assert stored is not None
    assert stored.status is RecordingStatus.COMPLETE
    assert stored.stop_reason is StopReason.SHUTDOWN
    assert clinic.client.app[keys.RECORDERS].running == 0
    path = directory / f"{recording_id}.webm"
    with av.open(str(path)) as container:  # a finalised file: it opens and decodes
        assert sorted(s.type for s in container.streams) == ["audio", "audio", "video", "video"]
        assert any(True for _ in container.decode(video=0))


async def test_a_server_recording_too_much_refuses_one_more(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    limited = settings.with_(media=MediaSettings(recording_max_concurrent=1))
    clinic = await make_clinic(limited)
    first, second = await start_call(clinic), await start_call(clinic)
    try:
        await first.consent(first.patient_socket)
        assert (await first.consent(first.doctor_socket))["recording"]["recording"] is True
        await second.consent(second.patient_socket)
        refused = await second.consent(second.doctor_socket)
        assert refused["ok"] is False
        assert refused["error"]["code"] == "unavailable"
        await state(
            second.patient_socket, recording=False, consents={"doctor": True, "patient": True}
        )
        page = await clinic.client.app[keys.DATABASE].repos.recordings.page(
            second.appointment, after=None, limit=5
        )
        (failed,) = page.items
        assert failed.status is RecordingStatus.FAILED
        assert second.patient_feed.offers == []
    finally:
        await asyncio.gather(first.close(), second.close())
