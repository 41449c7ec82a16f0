"""The hub's contract on every transport a client may use: WebSocket, long-polling alone (a proxy
that blocks WebSockets), and long-polling upgraded to a WebSocket (what browsers do by default).
Events, refusals, caps and rate limits answer the same way on each; an oversize event is refused
and the socket stays usable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from domain.users import Role
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic, HubClient, error_code, in_call

TRANSPORTS = {
    "websocket": ["websocket"],
    "polling": ["polling"],
    "upgrade": ["polling", "websocket"],
}

MakeClinic = Callable[..., Awaitable[Clinic]]


@pytest.fixture(params=sorted(TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def on_transport(make_clinic: ClinicFactory, transport: str) -> MakeClinic:
    async def factory(**consult: Any) -> Clinic:
        clinic = await make_clinic(**consult)
        clinic.transports = TRANSPORTS[transport]
        return clinic

    return factory


def current_transport(client: HubClient) -> str:
    return str(client.sio.eio.current_transport)


async def test_a_consultation_and_its_refusals(on_transport: MakeClinic, transport: str) -> None:
    """Join, admit, a relayed signal, chat; an oversize signal and an oversize message are
    refused with ``payload_too_large`` and the socket carries on; an unknown event is refused."""
    clinic = await on_transport()
    patient, doctor = await clinic.user(), await clinic.user(Role.DOCTOR)
    appointment_id = await clinic.appointment(patient, doctor)
    ref = {"appointment_id": appointment_id}
    patient_socket, doctor_socket = await in_call(clinic, patient, doctor, appointment_id)

    offer = {"type": "offer", "sdp": "v=0\r\n"}
    assert (await doctor_socket.call("rtc:signal", {**ref, "data": offer}))["delivered"] is True
    assert (await patient_socket.wait_for("rtc:signal"))["data"] == offer

    # A few hundred KB: above every event cap, below the transport's buffer.
    huge = {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 60_000}
    assert error_code(await patient_socket.call("rtc:signal", {**ref, "data": huge})) == (
        "payload_too_large"
    )
    message = {**ref, "text": "字" * 100_000, "client_msg_id": "m-0"}
    assert error_code(await patient_socket.call("chat:send", message)) == "payload_too_large"
    assert error_code(await patient_socket.call("no:such:event", {})) == "unknown_event"

    # Still connected and usable, both ways.
    answer = {"type": "answer", "sdp": "v=0\r\n"}
    assert (await patient_socket.call("rtc:signal", {**ref, "data": answer}))["delivered"]
    assert (await doctor_socket.wait_for("rtc:signal"))["data"] == answer
    sent = await patient_socket.call("chat:send", {**ref, "text": "你好", "client_msg_id": "m-1"})
    assert sent["ok"], sent
    assert not patient_socket.disconnected.is_set()
    if transport == "upgrade":
        await patient_socket.wait_until(lambda: current_transport(patient_socket) == "websocket")
    else:
        assert current_transport(patient_socket) == TRANSPORTS[transport][0]


async def test_rate_limit_answers_alike(on_transport: MakeClinic) -> None:
    clinic = await on_transport(socket_rate=0.01, socket_burst=3)
    user = await clinic.user()
    client = await clinic.connect(user)
    codes = [error_code(await client.call("no:such:event", {})) for _ in range(5)]
    assert codes == ["unknown_event"] * 3 + ["rate_limited"] * 2
    assert not client.disconnected.is_set()


async def test_connect_refusal_answers_alike(on_transport: MakeClinic) -> None:
    clinic = await on_transport()
    refused = await clinic.refused(token="not-a-token")
    assert isinstance(refused, dict), refused
    assert refused.get("message") == "unauthorized", refused
