"""A call over a real, impaired network link (tests/support/netns.py): the doctor's Chromium
here, the patient's Chromium in another network namespace, the media crossing a router
namespace that drops, delays, jitters and caps it (5 % loss each way, 300 ms round trip ± 20 ms,
300 kbit/s each way), with the signalling over the same capped link.

What must hold, without anyone touching the call:

- media keeps flowing both ways, and the network indicator on both pages stops saying "good";
- when the link cannot carry video (30 % loss) both pages fall back to sound only, and turn
  video back on by themselves once the link is clean again;
- a full cut of the media path for 10 s (the signalling still up) is recovered by an ICE
  restart, not by a fresh connection: the call is connected again with video both ways.

Skipped only where the machine cannot make the link (``netns.unsupported()`` says why).

With ``TELEMED_LINK_FIGURES=path.json`` the tests also write what they measured there (the
``network`` benchmark scenario runs them so; bench/network.py).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from domain.users import Role
from tests.e2e.conftest import (
    ARGS,
    CHROMIUM,
    LONG_CALL,
    ContextFactory,
    Live,
    assert_video_flows,
    call_trace,
    connected,
    serve,
    shoot,
    sign_in,
)
from tests.support import netns
from tests.support.netns import CLEAR, Impairment

pytestmark = pytest.mark.browser

IMPAIRED = Impairment(loss=0.05, delay_ms=150, jitter_ms=20, rate_kbit=300)
TOO_LOSSY = Impairment(loss=0.30, delay_ms=150, jitter_ms=20, rate_kbit=300)
CUT_SECONDS = 10


@pytest.fixture(scope="module")
def link() -> Iterator[netns.Link]:
    reason = netns.unsupported()
    if reason:
        pytest.skip(f"no impaired link on this machine: {reason}")
    with netns.link() as made:
        yield made


@pytest.fixture(scope="module")
def live(
    link: netns.Link, mongo_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """The app on 127.0.0.1 and on the link's near end; the far namespace reaches it through
    its own 127.0.0.1 (same URL for both people)."""
    with serve(mongo_url, tmp_path_factory, also_on=(link.near_ip,)) as served:
        link.forward([int(served.url.rsplit(":", 1)[1])])
        yield served


@pytest.fixture(scope="module")
def far_browser(playwright: Playwright, link: netns.Link) -> Iterator[Browser]:
    """Chromium in the far namespace: its only network is the impaired link."""
    browser = playwright.chromium.launch(executable_path=link.executable(CHROMIUM), args=ARGS)
    yield browser
    browser.close()


@pytest.fixture
def clean_link(link: netns.Link) -> Iterator[netns.Link]:
    link.cut(False)
    link.set(CLEAR)
    yield link
    link.cut(False)
    link.set(CLEAR)


# How many frames the <video> presented in ``ms`` milliseconds (requestVideoFrameCallback).
FRAMES_IN = """([testid, ms]) => new Promise((resolve) => {
  const video = document.querySelector(`[data-testid="${testid}"]`);
  if (!video || !video.requestVideoFrameCallback) { resolve(-1); return; }
  let first = null, last = null, done = false;
  const tick = (_now, meta) => {
    if (first === null) first = meta.presentedFrames;
    last = meta.presentedFrames;
    if (!done) video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
  setTimeout(() => { done = true; resolve(first === null ? 0 : last - first); }, ms);
})"""


def frames_per_second(page: Page, seconds: float = 6) -> float:
    frames: int = page.evaluate(FRAMES_IN, ["remote-video", int(seconds * 1000)])
    return frames / seconds


def quality(page: Page) -> Any:
    return page.get_by_test_id("network-quality")


def levels_seen(live: Live, since: int) -> dict[str, list[str]]:
    """Each page's indicator levels from console line ``since`` on: the one it showed then,
    and every change after (from the pages' ``call quality`` traces), by role."""
    seen: dict[str, list[str]] = {}
    for i, line in enumerate(live.console):
        match = re.search(r" (\S.*?) debug: call quality \{\"level\":\"(\w+)\"", line)
        if not match:
            continue
        who, level = ("doctor" if match[1].startswith("Dr.") else "patient"), match[2]
        if i < since:
            seen[who] = [level]  # the level in effect when the phase began
        elif not seen.get(who) or seen[who][-1] != level:
            seen.setdefault(who, []).append(level)
    return seen


def record(name: str, figures: dict[str, Any]) -> None:
    """Add this test's figures to $TELEMED_LINK_FIGURES (for the benchmark), if set."""
    target = os.environ.get("TELEMED_LINK_FIGURES")
    if not target:
        return
    path = Path(target)
    document = json.loads(path.read_text()) if path.exists() else {}
    document[name] = figures
    path.write_text(json.dumps(document, indent=2))


def call_across(
    new_context: ContextFactory, far_browser: Browser, live: Live, *, patient: str, doctor: str
) -> tuple[Page, Page]:
    """The patient (in the far namespace) waits, the doctor (here) lets them in; connected."""
    p_person = live.person(Role.PATIENT, patient)
    d_person = live.person(Role.DOCTOR, doctor)
    appointment = live.appointment(p_person, d_person)
    p = sign_in(new_context(browser=far_browser), p_person, live)
    p.goto(f"/consult/{appointment}")
    p.get_by_test_id("join").click()
    expect(p.get_by_test_id("waiting-room")).to_be_visible()
    d = sign_in(new_context(), d_person, live)
    d.goto(f"/consult/{appointment}?admit=1")
    d.get_by_test_id("join").click()
    connected(p)
    connected(d)
    return p, d


@LONG_CALL
def test_the_call_adapts_to_a_bad_link_and_recovers_with_it(
    new_context: ContextFactory, far_browser: Browser, live: Live, clean_link: netns.Link
) -> None:
    p, d = call_across(new_context, far_browser, live, patient="Zhou Min", doctor="Dr. Qian")
    assert_video_flows(p)
    assert_video_flows(d)
    for page in (p, d):
        expect(quality(page)).to_have_attribute("data-level", "good", timeout=20_000)

    # 5 % loss, 300 ms round trip, 300 kbit/s: the call goes on, the indicator says so.
    start = len(live.console)
    clean_link.set(IMPAIRED)
    for page in (p, d):
        expect(quality(page)).to_have_attribute(
            "data-level", re.compile("fair|poor"), timeout=30_000
        )
    impaired_fps = {"patient": frames_per_second(p), "doctor": frames_per_second(d)}
    # Video still decodes both ways (from a page that did not fall back to sound only already).
    for sender, who in ((d, "patient"), (p, "doctor")):
        if not sender.get_by_test_id("audio-only-notice").is_visible():
            assert impaired_fps[who] > 0, impaired_fps
    for page in (p, d):
        expect(page.get_by_test_id("call-state")).to_have_text("connected")
    shoot(p, "impaired-link-patient")
    impaired_levels = levels_seen(live, start)

    # A link that cannot carry video: both pages fall back to sound only, the call goes on.
    start = len(live.console)
    clean_link.set(TOO_LOSSY)
    for page in (p, d):
        expect(page.get_by_test_id("audio-only-notice")).to_be_visible(timeout=40_000)
        expect(quality(page)).to_have_attribute("data-level", "poor")
    expect(p.get_by_test_id("call-state")).to_have_text("connected")
    shoot(p, "impaired-link-audio-only")
    lossy_levels = levels_seen(live, start)

    # The link is clean again: video comes back by itself, both ways.
    start = len(live.console)
    restored = time.monotonic()
    clean_link.set(CLEAR)
    for page in (p, d):
        expect(page.get_by_test_id("audio-only-notice")).to_be_hidden(timeout=45_000)
    video_back = time.monotonic() - restored
    assert_video_flows(p)
    assert_video_flows(d)
    for page in (p, d):
        expect(quality(page)).to_have_attribute("data-level", "good", timeout=20_000)
    assert call_trace(live, "audio_only")  # the switches were the pages' own decisions
    record(
        "adapts",
        {
            "impairment": IMPAIRED.describe(),
            "frames_per_second_impaired": impaired_fps,
            "frames_per_second_clean": {
                "patient": frames_per_second(p),
                "doctor": frames_per_second(d),
            },
            "levels_impaired": impaired_levels,
            "levels_too_lossy": lossy_levels,
            "levels_restored": levels_seen(live, start),
            "video_back_seconds": round(video_back, 1),
        },
    )


# How long the video may take to show frames again once the cut ends and the call reconnected.
RECOVERY_SECONDS = 30.0


def test_a_ten_second_cut_of_the_media_path_is_recovered_by_ice_restart(
    new_context: ContextFactory, far_browser: Browser, live: Live, clean_link: netns.Link
) -> None:
    """The media path is cut for 10 s. Chromium calls the connection disconnected after a few
    seconds; the page waits out its grace period (a shorter drop heals by itself) and restarts
    ICE through the hub, which the cut does not touch. The cut lasts 10 s, or until the first
    restart went out if a loaded machine made the page notice later (so that the restart is
    what is tested, every time)."""
    p, d = call_across(new_context, far_browser, live, patient="Sun Li", doctor="Dr. Zheng")
    clean_link.set(IMPAIRED)
    assert_video_flows(p)
    connections = len(call_trace(live, "create"))
    restarts = len(call_trace(live, "ice_restart"))
    start = len(live.console)

    cut_at = time.monotonic()
    clean_link.cut()
    for page in (p, d):
        expect(page.get_by_test_id("call-state")).to_have_text(
            re.compile("disconnected|failed"), timeout=20_000
        )
        expect(quality(page)).to_have_attribute("data-level", "poor")
    noticed = time.monotonic() - cut_at
    shoot(p, "impaired-link-cut")
    p.wait_for_timeout(max(0.0, CUT_SECONDS - (time.monotonic() - cut_at)) * 1000)
    while len(call_trace(live, "ice_restart")) == restarts:
        assert time.monotonic() - cut_at < 30, "no page restarted ICE during the cut"
        p.wait_for_timeout(200)
    cut_for = time.monotonic() - cut_at
    clean_link.cut(False)
    restored = time.monotonic()

    connected(p)
    connected(d)
    recovered = time.monotonic() - restored
    # The outage is not taken for a network too weak for video: no fallback in the first 4 s
    # back (a fallback needs 8 s of samples; so early, only the outage's own could count).
    p.wait_for_timeout(4000)
    fallbacks = [line for line in live.console[start:] if ' call audio_only {"on":true' in line]
    assert fallbacks == []
    # Each sender's bandwidth estimate fell during the cut; over this link its first keyframe
    # can take seconds to arrive (once, in a fresh-clone run, more than 12 s).
    assert_video_flows(p, within=RECOVERY_SECONDS)
    assert_video_flows(d, within=RECOVERY_SECONDS)
    expect(d.get_by_test_id("call-status")).to_have_text("Connected with Sun Li")
    # By ICE restart on the connection it had, not by a new one, and nobody pressed anything.
    assert len(call_trace(live, "create")) == connections
    record(
        "cut",
        {
            "impairment": IMPAIRED.describe(),
            "cut_seconds": round(cut_for, 1),
            "disconnected_noticed_seconds": round(noticed, 1),
            "recovered_seconds_after_restore": round(recovered, 1),
            "ice_restarts": len(call_trace(live, "ice_restart")) - restarts,
            "levels": levels_seen(live, start),
            "frames_per_second_after": {
                "patient": frames_per_second(p),
                "doctor": frames_per_second(d),
            },
        },
    )
