"""A call recovers by itself in real browsers. When the patient's network drops (Chromium's own
network emulation, through the DevTools protocol) while the call is connected, the page says it
is reconnecting, and once the network is back the socket reconnects, rejoins the room and the
call is connected again with video decoding both ways, without the doctor doing anything. When
the server loses its record of the room, both pages join again by themselves."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from domain.users import Role
from server import keys
from tests.e2e.conftest import ContextFactory, Live, assert_video_flows, connected, in_call, shoot

pytestmark = pytest.mark.browser


def the_call_goes_on(p: Page, d: Page, doctor: str, message: str) -> None:
    """Both pages are connected again with video decoding both ways, and the hub connection is
    back too: the patient's first chat message reaches the doctor."""
    connected(p)
    connected(d)
    expect(p.get_by_test_id("call-status")).to_have_text(f"Connected with {doctor}")
    assert_video_flows(p)
    assert_video_flows(d)
    p.get_by_test_id("chat-input").fill(message)
    p.get_by_test_id("chat-send").click()
    expect(d.get_by_test_id("chat-log").locator('[data-seq="1"]')).to_contain_text(message)


def test_the_call_comes_back_after_the_patients_network_drops(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "Wu Hua")
    doctor = live.person(Role.DOCTOR, "Dr. Gao")
    appointment = live.appointment(patient, doctor)
    p, d = in_call(new_context, live, patient, doctor, appointment)
    assert_video_flows(p)
    assert_video_flows(d)

    cdp = p.context.new_cdp_session(p)
    cdp.send("Network.enable")
    offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    cdp.send("Network.emulateNetworkConditions", offline)
    status = p.get_by_test_id("call-status")
    expect(status).to_have_text("Reconnecting to the server… Your call continues if it can.")
    expect(d.get_by_test_id("call-status")).to_have_text("Waiting for Wu Hua to connect…")
    shoot(p, "call-network-drop-en")
    p.wait_for_timeout(3000)
    cdp.send("Network.emulateNetworkConditions", {**offline, "offline": False})

    expect(status).to_have_text("Connected with Dr. Gao", timeout=30_000)
    the_call_goes_on(p, d, "Dr. Gao", "Sorry, my network dropped")
    expect(d.get_by_test_id("call-status")).to_have_text("Connected with Wu Hua")


def test_the_call_goes_on_after_the_server_lost_its_rooms(
    new_context: ContextFactory, live: Live
) -> None:
    """The server loses its record of the rooms mid-call (what a Redis that came back empty
    does to a cluster; here the single node's registry is emptied). Housekeeping tells both
    pages their seats are gone (``consult:seat_lost``); they join again by themselves, and the
    call and its chat go on without anyone reloading."""
    patient = live.person(Role.PATIENT, "Lin Fang")
    doctor = live.person(Role.DOCTOR, "Dr. Ma")
    appointment = live.appointment(patient, doctor)
    p, d = in_call(new_context, live, patient, doctor, appointment)
    hub = live.app[keys.HUB]
    registry = hub.consult.registry

    async def lose_the_rooms() -> None:
        await registry.close()  # the in-memory registry's rooms are gone
        await hub.forget_lost_seats()

    live.loop.run(lose_the_rooms())

    def seated() -> bool:
        room = registry.known(appointment)
        if room is None:
            return False
        seats = [room.seat_of_user(person.id) for person in (patient, doctor)]
        return all(seat is not None and seat.connected for seat in seats)

    async def seated_now() -> bool:  # read on the server's loop
        return seated()

    deadline = time.monotonic() + 30
    while not live.loop.run(seated_now()):
        assert time.monotonic() < deadline, "the pages did not join again"
        time.sleep(0.1)
    the_call_goes_on(p, d, "Dr. Ma", "Can you still hear me?")
    # The doctor leaving shows on the patient's page.
    d.close()
    expect(p.get_by_test_id("call-status")).to_have_text("Waiting for Dr. Ma to connect…")
