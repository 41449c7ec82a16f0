"""A whole consultation in real browsers: the patient (on a phone, in Chinese) joins and waits,
the doctor (in English) sees them in the clinic console and lets them in, both reach a
connected call and decode each other's video, they chat both ways, the patient reloads and gets
the whole chat and the call back, an admin sees the room live and closes it, and both call pages
say so."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from domain.users import Role
from tests.e2e.conftest import (
    ContextFactory,
    Live,
    assert_one_side_offered,
    assert_video_flows,
    connected,
    shoot,
    sign_in,
)

pytestmark = pytest.mark.browser


def test_a_consultation_from_waiting_room_to_closed_room(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "王芳")
    doctor = live.person(Role.DOCTOR, "Dr. Li Wei")
    admin = live.person(Role.ADMIN, "Admin")
    appointment = live.appointment(patient, doctor)

    patient_ctx = new_context(locale="zh-CN", phone=True)
    doctor_ctx = new_context(locale="en-US")
    admin_ctx = new_context(locale="en-US")
    # The patient joins from the appointment list, checks camera and microphone, waits.
    p = sign_in(patient_ctx, patient, live)
    expect(p).to_have_url(f"{live.url}/patient")
    card = p.locator(f'[data-appointment-id="{appointment}"]')
    expect(card).to_contain_text("Dr. Li Wei")
    shoot(p, "patient-appointments-zh-phone")
    card.get_by_test_id("join").click()
    expect(p).to_have_url(f"{live.url}/consult/{appointment}")
    expect(p.get_by_test_id("join")).to_be_enabled()
    expect(p.get_by_test_id("camera-select")).to_be_visible()
    shoot(p, "call-lobby-zh-phone")
    p.get_by_test_id("join").click()
    expect(p.get_by_test_id("waiting-room")).to_be_visible()
    expect(p.get_by_test_id("queue-position")).to_have_text("下一位就是您。")
    expect(p.get_by_test_id("waiting-time")).to_contain_text("已等待")
    shoot(p, "call-waiting-zh-phone")

    # The doctor sees the patient waiting, live, with the time waited, and lets them in.
    d = sign_in(doctor_ctx, doctor, live)
    expect(d).to_have_url(f"{live.url}/doctor")
    waiting = d.get_by_test_id("waiting-list").locator(f'[data-appointment-id="{appointment}"]')
    expect(waiting).to_contain_text("王芳")
    expect(waiting).to_contain_text("Waiting")
    shoot(d, "doctor-console-en")
    waiting.get_by_test_id("admit").click()
    expect(d).to_have_url(f"{live.url}/consult/{appointment}?admit=1")
    d.get_by_test_id("join").click()

    # Both connect, one side offering and the other answering, and decode each other's video.
    connected(p)
    connected(d)
    assert_one_side_offered(live)
    assert_video_flows(p)
    assert_video_flows(d)
    expect(p.get_by_test_id("network-quality")).to_contain_text("网络")
    expect(d.get_by_test_id("network-quality")).to_contain_text("Network")

    # Chat both ways, with the typing indicator (on the patient's phone the chat is a sheet
    # over the video: she opens it).
    p.get_by_test_id("chat-sheet-toggle").click()
    p.get_by_test_id("chat-input").fill("医生您好，我咳嗽一周了")
    expect(d.get_by_test_id("typing")).to_contain_text("王芳 is typing")
    p.get_by_test_id("chat-send").click()
    d_log = d.get_by_test_id("chat-log")
    expect(d_log.locator('[data-seq="1"]')).to_contain_text("医生您好，我咳嗽一周了")
    d.get_by_test_id("chat-input").fill("Any fever?")
    d.get_by_test_id("chat-input").press("Enter")
    p_log = p.get_by_test_id("chat-log")
    expect(p_log.locator('[data-seq="2"]')).to_contain_text("Any fever?")
    expect(p_log.locator('[data-seq="1"]')).to_contain_text("医生您好")
    shoot(p, "call-in-progress-zh-phone")
    shoot(d, "call-in-progress-en")
    d.get_by_test_id("tab-record").click()
    expect(d.get_by_test_id("record")).to_be_visible()
    shoot(d, "call-record-en")
    d.get_by_test_id("tab-chat").click()

    # The patient reloads: the whole chat comes back, and the call recovers by itself.
    p.reload()
    expect(p.get_by_test_id("chat-log").locator("[data-seq]")).to_have_count(2)
    expect(p.get_by_test_id("chat-log").locator('[data-seq="1"]')).to_contain_text("咳嗽")
    connected(p)
    connected(d)
    assert_one_side_offered(live)
    assert_video_flows(p)
    assert_video_flows(d)
    p.get_by_test_id("chat-sheet-toggle").click()  # a reload starts with the video
    p.get_by_test_id("chat-input").fill("没有发烧")
    p.get_by_test_id("chat-send").click()
    expect(d.get_by_test_id("chat-log").locator('[data-seq="3"]')).to_contain_text("没有发烧")
    expect(d.get_by_test_id("chat-log").locator("[data-seq]")).to_have_count(3)

    # An admin sees the room live and closes it; both call pages say it is over.
    a = sign_in(admin_ctx, admin, live)
    expect(a).to_have_url(f"{live.url}/admin")
    row = a.get_by_test_id("rooms-table").locator(f'tr[data-appointment-id="{appointment}"]')
    expect(row).to_contain_text("In consultation")
    expect(row).to_contain_text("Dr. Li Wei")
    expect(row).to_contain_text("3")  # messages
    expect(a.get_by_test_id("stat-people")).to_have_text("2")
    first = row.get_by_test_id("room-duration").inner_text()
    expect(row.get_by_test_id("room-duration")).not_to_have_text(first)  # it ticks
    shoot(a, "admin-rooms-en")
    row.get_by_test_id("close-room").click()  # asks first: nothing closes until confirmed
    dialog = a.get_by_test_id("close-room-confirm-dialog")
    expect(dialog).to_contain_text("Dr. Li Wei")
    a.get_by_test_id("close-room-confirm-cancel").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("In consultation")
    row.get_by_test_id("close-room").click()
    a.get_by_test_id("close-room-confirm").click()
    expect(row).to_have_count(0)
    expect(a.get_by_test_id("stat-rooms")).to_have_text("0")

    for page, text in ((p, "管理员关闭"), (d, "closed by the clinic's administrator")):
        over = page.get_by_test_id("call-over")
        expect(over).to_have_attribute("data-reason", "closed_by_admin")
        expect(page.get_by_test_id("call-ended")).to_contain_text(text)
    expect(p.get_by_test_id("chat-log").locator("[data-seq]")).to_have_count(3)
    expect(d.get_by_test_id("follow-up")).to_be_visible()
    shoot(p, "call-closed-zh-phone")

    # The doctor writes the follow-up for the patient just seen.
    d.get_by_test_id("note-text").fill("Viral cough. Rest and fluids.")
    d.get_by_test_id("note-save").click()
    expect(d.get_by_test_id("note-form")).to_contain_text("Note saved")
    d.get_by_test_id("rx-drug").fill("Dextromethorphan")
    d.get_by_test_id("rx-dose").fill("15 mg")
    d.get_by_test_id("rx-save").click()
    expect(d.get_by_test_id("rx-form")).to_contain_text("Prescribed Dextromethorphan")
    shoot(d, "call-closed-followup-en")
