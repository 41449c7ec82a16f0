"""Chat over real sockets: durable acks, idempotent resends, gapless seq, replay after reconnect,
and the transcript over REST for the two participants only (audited)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from domain.users import Role
from server import keys
from tests.conftest import bearer
from tests.support.hub import Clinic, Dropped, HubClient, in_call, joined

TOTAL = 200  # messages per client


@dataclass
class Participant:
    """One side of the conversation, as a real client would keep it."""

    user: dict[str, Any]
    tag: str
    socket: HubClient
    appointment_id: str
    acked: dict[str, int] = field(default_factory=dict)  # client_msg_id -> seq
    seen: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> message
    replayed: list[int] = field(default_factory=list)

    def ids(self) -> list[str]:
        return [f"{self.tag}-{i:03d}" for i in range(TOTAL)]

    def learn_live(self) -> None:
        for message in self.socket.received("chat:message"):
            self.seen.setdefault(message["seq"], message)

    def contiguous(self) -> int:
        n = 0
        while n + 1 in self.seen:
            n += 1
        return n

    async def send(self, client_msg_id: str) -> None:
        ack = await self.socket.call(
            "chat:send",
            {
                "appointment_id": self.appointment_id,
                "client_msg_id": client_msg_id,
                "text": text(client_msg_id),
            },
            within=60,
        )
        assert ack["ok"] is True, ack
        message = ack["message"]
        assert message["client_msg_id"] == client_msg_id
        self.acked[client_msg_id] = message["seq"]
        self.seen.setdefault(message["seq"], message)


def text(client_msg_id: str) -> str:
    return f"message {client_msg_id}"


async def send_until_dropped(side: Participant, drop_after: int) -> None:
    """Send every message concurrently; lose the connection abruptly after ``drop_after`` acks."""
    dropped = asyncio.Event()

    async def one(client_msg_id: str) -> None:
        try:
            await side.send(client_msg_id)
        except Dropped:
            return
        if len(side.acked) >= drop_after and not dropped.is_set():
            dropped.set()
            await side.socket.drop()

    await asyncio.gather(*(one(i) for i in side.ids()))
    assert dropped.is_set()


async def reconnect_and_finish(clinic: Clinic, side: Participant) -> None:
    """New connection, rejoin, replay what was missed, resend what was not acknowledged."""
    side.learn_live()
    side.socket = await joined(clinic, side.user, side.appointment_id)
    after = side.contiguous()
    while True:
        page = await side.socket.call(
            "chat:history", {"appointment_id": side.appointment_id, "after_seq": after, "limit": 50}
        )
        assert page["ok"] is True
        for message in page["messages"]:
            side.replayed.append(message["seq"])
            side.seen.setdefault(message["seq"], message)
        if len(page["messages"]) < 50:
            break
        after = page["messages"][-1]["seq"]
    # Everything stored up to now is known: nothing is missing below the newest message.
    newest = max(side.seen)
    assert set(range(1, newest + 1)) <= set(side.seen), "replay left a gap"
    missing = [i for i in side.ids() if i not in side.acked]
    assert missing, "the drop happened after every ack"
    await asyncio.gather(*(side.send(i) for i in missing))


async def test_two_clients_send_concurrently_drop_reconnect_and_resend(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    sides = [Participant(patient, "p", p, appointment), Participant(doctor, "d", d, appointment)]

    await asyncio.gather(send_until_dropped(sides[0], 70), send_until_dropped(sides[1], 110))
    await asyncio.gather(*(reconnect_and_finish(clinic, s) for s in sides))

    # The transcript: exactly 400 messages, seq 1..400, each client_msg_id once, with its text.
    stored = await clinic.client.app[keys.DATABASE].repos.messages.history(appointment, limit=1000)
    assert [m.seq for m in stored] == list(range(1, 2 * TOTAL + 1))
    expected_ids = {i for s in sides for i in s.ids()}
    assert {m.client_msg_id for m in stored} == expected_ids
    assert all(m.text == text(m.client_msg_id) for m in stored)
    by_id = {m.client_msg_id: m.seq for m in stored}
    for side in sides:
        assert side.acked == {i: by_id[i] for i in side.ids()}  # every ack names the stored seq
        assert side.replayed, "nothing was replayed"

    # Each client ends up knowing the whole transcript, exactly as stored.
    for side in sides:

        def knows_everything(side: Participant = side) -> bool:
            side.learn_live()
            return len(side.seen) == 2 * TOTAL

        await side.socket.wait_until(knows_everything)
        assert sorted(side.seen) == list(range(1, 2 * TOTAL + 1))
        assert all(side.seen[m.seq]["client_msg_id"] == m.client_msg_id for m in stored)


async def test_a_resent_message_is_answered_once_and_not_broadcast(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    send = {"appointment_id": appointment, "client_msg_id": "same", "text": "once"}
    first = await p.call("chat:send", send)
    second = await p.call("chat:send", send)
    assert second == first
    marker = {"appointment_id": appointment, "client_msg_id": "marker", "text": "after"}
    await p.call("chat:send", marker)
    await d.wait_for("chat:message", lambda m: m["client_msg_id"] == "marker")
    assert [m["seq"] for m in d.received("chat:message")] == [1, 2]  # no second broadcast
    assert first["message"]["sender"] == {
        "id": patient["id"],
        "role": "patient",
        "name": "Patient 1",
    }


async def test_spoofing_characters_in_chat_text_are_refused_naming_the_reason(
    clinic: Clinic,
) -> None:
    """Chat text follows the display-text rule (domain/text.py): a bidi override, a zero-width
    space, a control character get an ``invalid_input`` ack naming the field and the
    character; nothing is stored or sent. Lines, tabs and emoji sequences (joined by a
    zero-width joiner) pass."""
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    for n, (bad, char) in enumerate(
        [
            ("take \u202e2 tablets", "U+202E"),  # right-to-left override
            ("Dr\u200bWang", "U+200B"),  # zero-width space
            ("\x1b[2Jcleared", "U+001B"),  # ESC
            ("nul\x00", "U+0000"),
            ("isolate \u2067x\u2069", "U+2067"),
        ]
    ):
        ack = await p.call(
            "chat:send", {"appointment_id": appointment, "client_msg_id": f"bad-{n}", "text": bad}
        )
        assert ack["ok"] is False, bad
        assert ack["error"]["code"] == "invalid_input"
        assert ack["error"]["details"][0]["field"] == "text"
        assert char in ack["error"]["details"][0]["message"]
    fine = "line one\n\tline two 👩\u200d⚕️ 好"
    ack = await p.call(
        "chat:send", {"appointment_id": appointment, "client_msg_id": "good", "text": fine}
    )
    assert ack["ok"] is True, ack
    assert (await d.wait_for("chat:message"))["text"] == fine
    assert [m["client_msg_id"] for m in d.received("chat:message")] == ["good"]
    history = await p.call("chat:history", {"appointment_id": appointment})
    assert [m["client_msg_id"] for m in history["messages"]] == ["good"]


async def test_a_waiting_patient_may_chat_with_the_doctor(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    d = await joined(clinic, doctor, appointment)
    p = await joined(clinic, patient, appointment)
    ack = await d.call(
        "chat:send", {"appointment_id": appointment, "client_msg_id": "late", "text": "5 minutes"}
    )
    assert ack["ok"] is True
    assert (await p.wait_for("chat:message"))["text"] == "5 minutes"


async def test_transcript_over_rest_for_participants_only_and_audited(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    stranger = await clinic.user(Role.DOCTOR)
    admin = await clinic.user(Role.ADMIN)
    appointment = await clinic.appointment(patient, doctor)
    p, _ = await in_call(clinic, patient, doctor, appointment)
    for i in range(3):
        await p.call(
            "chat:send", {"appointment_id": appointment, "client_msg_id": f"m{i}", "text": f"t{i}"}
        )
    url = f"/api/v1/appointments/{appointment}/messages"

    response = await clinic.client.get(url, headers=bearer(doctor["access_token"]))
    assert response.status == 200
    body = await response.json()
    assert [m["seq"] for m in body["messages"]] == [1, 2, 3]
    assert body["messages"][0]["sender"]["role"] == "patient"
    page = await clinic.client.get(
        url, params={"after_seq": "1", "limit": "1"}, headers=bearer(patient["access_token"])
    )
    assert [m["seq"] for m in (await page.json())["messages"]] == [2]

    for outsider in (stranger, admin):
        denied = await clinic.client.get(url, headers=bearer(outsider["access_token"]))
        assert denied.status == 404
        assert (await denied.json())["code"] == "not_found"
    missing = await clinic.client.get(
        f"/api/v1/appointments/{'0' * 24}/messages", headers=bearer(doctor["access_token"])
    )
    assert missing.status == 404
    assert (await clinic.client.get(url)).status == 401
    bad = await clinic.client.get(
        url, params={"limit": "0"}, headers=bearer(doctor["access_token"])
    )
    assert bad.status == 422

    # Socket replay is audited too.
    await p.call("chat:history", {"appointment_id": appointment})
    audit = await clinic.client.app[keys.DATABASE].repos.audit.query(limit=50)
    reads = [e for _, e in audit if e.action == "transcript.read"]
    outcomes = sorted((e.actor_id, e.outcome.value, e.details.get("via")) for e in reads)
    assert outcomes == sorted(
        [
            (doctor["id"], "success", "rest"),
            (patient["id"], "success", "rest"),
            (stranger["id"], "denied", "rest"),
            (admin["id"], "denied", "rest"),
            (doctor["id"], "denied", "rest"),
            (patient["id"], "success", "socket"),
        ]
    )
    assert all(e.patient_id == patient["id"] for e in reads if e.resource_id == appointment)
    assert all("t0" not in str(e.details) for e in reads)  # no content in the audit log
