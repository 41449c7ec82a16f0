"""Screen sharing in real Chromium (its fake screen capture is a "screen" the size of the page's
viewport: 1366x900 for the doctor, 375x812 for the patient's phone, where the fake camera is
16:9): the doctor shares, both pages say who shares (the patient's in Chinese, at a
phone's width) and the admin's room row shows it; the patient's remote video turns into the
doctor's screen, frames decoded; a consented recording made while sharing holds the screen as the
doctor's video; the doctor stops, and the camera comes back. The patient shares only once the
doctor allows it, and taking the permission back stops the patient's share on both pages."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import av
import pytest
from playwright.sync_api import Page, expect

from domain.users import Role
from server import keys
from tests.e2e.conftest import (
    ContextFactory,
    Live,
    assert_video_flows,
    call_trace,
    connected,
    in_call,
    shoot,
    sign_in,
)
from tests.e2e.test_accessibility import audit
from tests.e2e.test_recording import eventually, recordings

pytestmark = pytest.mark.browser

DOCTOR_SCREEN = 4 / 3  # the doctor's "screen": a known picture, 640x480
CAMERA = 16 / 9  # the fake camera at the call's 1280x720
MAGENTA = (255, 0, 255)
# The doctor's browser shares a screen whose content the test knows: getDisplayMedia answers
# with a magenta 640x480 canvas (a white square moving on it, so frames keep coming). The
# patient's browser shares Chromium's own fake screen capture (--use-fake-device-for-media-
# stream --use-fake-ui-for-media-stream answer it without a picker, headless); its picture is
# the fake camera's green pattern at another size, so there the test follows the sender.
KNOWN_SCREEN = """(() => {
  navigator.mediaDevices.getDisplayMedia = async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 640;
    canvas.height = 480;
    const g = canvas.getContext("2d");
    let x = 0;
    setInterval(() => {
      g.fillStyle = "#ff00ff";
      g.fillRect(0, 0, 640, 480);
      g.fillStyle = "#ffffff";
      g.fillRect(x % 600, 220, 40, 40);
      x += 7;
    }, 66);
    return canvas.captureStream(15);
  };
})();"""
COLOUR = """(testid) => {
  const video = document.querySelector(`[data-testid="${testid}"]`);
  if (!video || !video.videoWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = 32;
  canvas.height = 24;
  const g = canvas.getContext("2d");
  g.drawImage(video, 0, 0, 32, 24);
  const d = g.getImageData(0, 0, 32, 24).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) for (let c = 0; c < 3; c += 1) sum[c] += d[i + c];
  return sum.map((v) => Math.round(v / (d.length / 4)));
}"""


def near(colour: Any, target: tuple[int, int, int], slack: int = 60) -> bool:
    return colour is not None and all(
        abs(a - b) <= slack for a, b in zip(colour, target, strict=True)
    )


def shape(page: Page) -> float:
    size: dict[str, int] = page.evaluate(
        """() => { const v = document.querySelector('[data-testid="remote-video"]');
        return { w: v.videoWidth, h: v.videoHeight }; }"""
    )
    return size["w"] / size["h"] if size["h"] else 0.0


def remote_shape_is(page: Page, ratio: float, what: str) -> None:
    deadline = time.monotonic() + 30
    seen = shape(page)
    while abs(seen - ratio) >= 0.02:
        assert time.monotonic() < deadline, f"{what}: remote video {seen:.3f}, not {ratio:.3f}"
        time.sleep(0.25)
        seen = shape(page)
    assert_video_flows(page)


def indicator(page: Page) -> Any:
    return page.get_by_test_id("screen-indicator")


def patient_senders(live: Live) -> list[str]:
    """The patient page's video sender changes, as its call trace tells them."""
    return [
        line
        for line in call_trace(live, "replace_track")
        if "王芳" in line and '"kind":"video"' in line
    ] or [""]


def recorded_video(file: Path) -> dict[str, tuple[float, tuple[int, ...]]]:
    """Each video stream of a recording: its shape and the mean colour of its tenth frame."""
    found: dict[str, tuple[float, tuple[int, ...]]] = {}
    counts: dict[int, int] = {}
    with av.open(str(file)) as container:
        titles = {s.index: s.metadata.get("title", "") for s in container.streams.video}
        for packet in container.demux(*container.streams.video):
            index = packet.stream.index
            for frame in packet.decode():
                counts[index] = counts.get(index, 0) + 1
                if counts[index] == 10:
                    mean = frame.to_ndarray(format="rgb24").mean(axis=(0, 1))
                    colour = tuple(int(v) for v in mean)
                    found[titles[index]] = (frame.width / frame.height, colour)
    return found


def test_the_doctor_shares_the_screen_seen_and_recorded_then_the_patient_with_permission(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "王芳")
    doctor = live.person(Role.DOCTOR, "Dr. Li Wei")
    admin = live.person(Role.ADMIN, "Admin Zhou")
    appointment = live.appointment(patient, doctor)
    p = sign_in(new_context(locale="zh-CN", phone=True), patient, live)
    p.goto(f"/consult/{appointment}")
    p.get_by_test_id("join").click()
    expect(p.get_by_test_id("waiting-room")).to_be_visible()
    doctors = new_context()
    doctors.add_init_script(KNOWN_SCREEN)
    d = sign_in(doctors, doctor, live)
    d.goto(f"/consult/{appointment}?admit=1")
    d.get_by_test_id("join").click()
    connected(p)
    connected(d)
    a = sign_in(new_context(), admin, live)
    row = a.locator(f'tr[data-appointment-id="{appointment}"]')
    expect(row).to_be_visible(timeout=30_000)
    remote_shape_is(p, CAMERA, "the doctor's camera")

    # The patient cannot share yet; the doctor can.
    expect(p.get_by_test_id("screen-share")).to_have_count(0)
    expect(indicator(p)).to_have_count(0)
    d.get_by_test_id("screen-share").click()
    expect(indicator(d)).to_contain_text("You are sharing your screen")
    expect(indicator(d)).to_have_attribute("data-mine", "true")
    expect(indicator(p)).to_contain_text("Dr. Li Wei正在共享屏幕")
    expect(indicator(p)).to_have_attribute("data-sharer-role", "doctor")
    expect(indicator(p).locator("xpath=..")).to_have_attribute("aria-live", "polite")
    expect(d.get_by_test_id("screen-share")).to_have_attribute("aria-pressed", "true")
    expect(row.get_by_test_id("room-screen-share")).to_have_attribute("data-sharer-role", "doctor")
    remote_shape_is(p, DOCTOR_SCREEN, "the doctor's shared screen")
    eventually(lambda: near(p.evaluate(COLOUR, "remote-video"), MAGENTA), "the screen's picture")
    shoot(p, "call-screen-shared-zh-phone")
    shoot(d, "call-screen-sharing-en")
    shoot(a, "admin-room-screen-share")

    # Recorded while shared: the doctor's video in the file is the screen, the patient's the
    # camera.
    p.get_by_test_id("recording-request").click()
    p.get_by_test_id("recording-consent").click()
    d.get_by_test_id("recording-consent").click()
    expect(d.get_by_test_id("recording-indicator")).to_be_visible()
    recording_id = recordings(d, doctor, appointment)[0]["id"]
    folder = live.app[keys.SETTINGS].core.data_dir / "recordings"
    part = folder / f"{recording_id}.webm.part"
    eventually(
        lambda: part.exists() and part.stat().st_size > 50_000, "the recording grows", timeout=60
    )
    d.get_by_test_id("recording-withdraw").click()
    eventually(
        lambda: recordings(d, doctor, appointment)[0]["status"] == "complete",
        "the recording is complete",
    )
    recorded = recorded_video(folder / f"{recording_id}.webm")
    assert abs(recorded["doctor video"][0] - DOCTOR_SCREEN) < 0.02, recorded
    assert near(recorded["doctor video"][1], MAGENTA), recorded
    assert abs(recorded["patient video"][0] - CAMERA) < 0.02, recorded
    assert not near(recorded["patient video"][1], MAGENTA), recorded

    # The doctor stops: both indicators go, the camera is back.
    indicator(d).get_by_test_id("screen-share-stop").click()
    expect(indicator(d)).to_have_count(0)
    expect(indicator(p)).to_have_count(0)
    expect(row.get_by_test_id("room-screen-share")).to_have_count(0)
    remote_shape_is(p, CAMERA, "the doctor's camera again")
    eventually(
        lambda: not near(p.evaluate(COLOUR, "remote-video"), MAGENTA), "the camera's picture"
    )

    # The doctor lets the patient share; the patient shares; the doctor sees it.
    d.get_by_test_id("screen-allow-patient").click()
    expect(d.get_by_test_id("screen-allow-patient")).to_have_attribute("aria-pressed", "true")
    p.get_by_test_id("screen-share").click()
    expect(indicator(p)).to_contain_text("您正在共享屏幕")
    expect(indicator(d)).to_contain_text("王芳 is sharing their screen")
    expect(d.get_by_test_id("screen-share")).to_be_disabled()  # one screen at a time
    eventually(
        lambda: '"sending":"screen:' in patient_senders(live)[-1],
        "the patient's video sender carries Chromium's screen capture",
        pumping=p,
    )
    assert_video_flows(d)
    shoot(p, "call-screen-patient-sharing-zh-phone")

    # Taking the permission back stops the patient's share on both pages.
    d.get_by_test_id("screen-allow-patient").click()
    expect(indicator(d)).to_have_count(0)
    expect(indicator(p)).to_have_count(0)
    expect(p.get_by_test_id("screen-share")).to_have_count(0)
    eventually(
        lambda: '"sending":"fake_device' in patient_senders(live)[-1],
        "the patient's camera is back on their video sender",
        pumping=p,
    )
    time.sleep(0.5)
    expect(indicator(p)).to_have_count(0)


def test_the_screen_sharing_pages_have_no_serious_accessibility_violations(
    new_context: ContextFactory, live: Live
) -> None:
    """Both pages while the doctor shares, in both languages, at a desktop's and a phone's
    width (no sideways scrolling at 375 px), by axe."""
    patient = live.person(Role.PATIENT, "Ma Li")
    doctor = live.person(Role.DOCTOR, "Dr. Song")
    appointment = live.appointment(patient, doctor)
    p, d = in_call(new_context, live, patient, doctor, appointment, bypass_csp=True)
    d.get_by_test_id("screen-allow-patient").click()
    expect(p.get_by_test_id("screen-share")).to_be_visible()
    d.get_by_test_id("screen-share").click()
    expect(indicator(p)).to_be_visible()
    expect(p.get_by_test_id("screen-share")).to_be_disabled()
    problems: dict[str, list[dict[str, Any]]] = {}
    audit(p, "call screen shared", problems)
    audit(d, "call sharing the screen", problems)
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)
