"""Only the signalling connection is cut, the media keeps flowing (a proxy that drops the
patient's WebSocket to the hub, a flaky Wi-Fi captive portal): the patient's page says the link
to the server is lost and that messages wait, never "good", and the chat input waits with it;
the call itself goes on for both; once the link is back the banner goes and a message is
delivered exactly once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Route, WebSocketRoute, expect

from domain.users import Role
from tests.e2e.conftest import ContextFactory, Live, connected, sign_in

pytestmark = pytest.mark.browser

HUB = re.compile(r".*/socket\.io/.*")


def test_a_cut_of_the_signalling_alone_is_said_and_the_message_waits_for_it(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "Lin Yue")
    doctor = live.person(Role.DOCTOR, "Dr. Kong")
    appointment = live.appointment(patient, doctor)

    # The patient's browser reaches the hub through this "proxy": while cut, the open
    # WebSockets are closed and new ones and long-polling requests refused; nothing else
    # (pages, the API, the media) is touched.
    cut = {"on": False}
    open_sockets: list[WebSocketRoute] = []

    def hub_socket(ws: WebSocketRoute) -> None:
        if cut["on"]:
            ws.close(code=1011, reason="cut")
            return
        ws.connect_to_server()
        open_sockets.append(ws)

    def hub_polling(route: Route) -> None:
        if cut["on"]:
            route.abort("connectionreset")
        else:
            route.continue_()

    ctx = new_context(locale="zh-CN")
    ctx.route_web_socket(HUB, hub_socket)
    ctx.route(HUB, hub_polling)
    p = sign_in(ctx, patient, live)
    p.goto(f"/consult/{appointment}")
    p.get_by_test_id("join").click()
    expect(p.get_by_test_id("waiting-room")).to_be_visible()
    d = sign_in(new_context(locale="en-US"), doctor, live)
    d.goto(f"/consult/{appointment}?admit=1")
    d.get_by_test_id("join").click()
    connected(p)
    connected(d)
    expect(p.get_by_test_id("connection-banner")).to_have_count(0)

    cut["on"] = True
    for ws in open_sockets:
        ws.close(code=1011, reason="cut")
    banner = p.get_by_test_id("connection-banner")
    expect(banner).to_have_attribute("data-kind", "server", timeout=15_000)
    expect(p.get_by_test_id("network-quality")).not_to_have_attribute("data-level", "good")
    # The media did not go through the hub: the call goes on, on both pages.
    expect(p.get_by_test_id("call-state")).to_have_text("connected")
    expect(d.get_by_test_id("call-state")).to_have_text("connected")

    # Nothing can be sent while the link is down: the input says so instead of "Sending...".
    expect(p.get_by_test_id("chat-input")).to_be_disabled()
    expect(banner).to_contain_text(re.compile("消息"))

    cut["on"] = False
    expect(banner).to_have_count(0, timeout=30_000)
    expect(p.get_by_test_id("chat-input")).to_be_enabled()
    p.get_by_test_id("chat-input").fill("连接恢复后的消息")
    p.get_by_test_id("chat-send").click()
    doctor_log = d.get_by_test_id("chat-log")
    expect(doctor_log).to_contain_text("连接恢复后的消息", timeout=15_000)
    expect(doctor_log.get_by_text("连接恢复后的消息")).to_have_count(1)
    expect(p.get_by_test_id("chat-log").get_by_text("连接恢复后的消息")).to_have_count(1)
    connected(p)
    connected(d)
