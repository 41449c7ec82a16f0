"""A call recovers by itself in real browsers: the patient's network drops (Chromium's own
network emulation, through the DevTools protocol) while the call is connected; the page says it
is reconnecting, and once the network is back the socket reconnects, rejoins the room and the
call is connected again with video decoding both ways, without the doctor doing anything."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from domain.users import Role
from tests.e2e.conftest import ContextFactory, Live, assert_video_flows, connected, in_call, shoot

pytestmark = pytest.mark.browser


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
    connected(p)
    connected(d)
    expect(d.get_by_test_id("call-status")).to_have_text("Connected with Wu Hua")
    assert_video_flows(p)
    assert_video_flows(d)
    # The hub connection is back too: chat goes through.
    p.get_by_test_id("chat-input").fill("Sorry, my network dropped")
    p.get_by_test_id("chat-send").click()
    expect(d.get_by_test_id("chat-log").locator('[data-seq="1"]')).to_contain_text("dropped")
