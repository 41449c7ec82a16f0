"""Consented recording in real browsers: the patient (in Chinese) asks and reads the notice in
Chinese, the doctor (in English) sees the request with the English notice; one consent records
nothing; the second starts the hidden recorder, which both browsers feed over a second peer
connection, and both pages show the indicator; the patient withdraws and it stops at once on
both pages; after the consultation both participants see the recording, the patient downloads
it (a WebM with audio and video that decodes), the doctor deletes it after confirming, and the
patient's past appointments show it deleted."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
from playwright.sync_api import Page, expect

from domain.recording import CURRENT_NOTICE
from domain.users import Role
from server import keys
from tests.e2e.conftest import ContextFactory, Live, Person, in_call, shoot

pytestmark = pytest.mark.browser


def audit(live: Live, person: Person, action: str) -> list[str]:
    """The outcomes of ``person``'s audit entries of ``action``."""

    async def query() -> list[str]:
        entries = await live.app[keys.DATABASE].repos.audit.query(actor_id=person.id, limit=500)
        return [e.outcome.value for _, e in entries if e.action == action]

    result: list[str] = live.loop.run(query())
    return result


def api_get(page: Page, person: Person, path: str) -> Any:
    """A REST call as ``person``, signed in over the API as any client would (Playwright's
    request client of the page's browser context; no cookie is involved)."""
    login = page.request.post(
        "/api/v1/auth/login", data={"email": person.email, "password": person.password}
    )
    assert login.ok, login.text()
    token = login.json()["access_token"]
    answer = page.request.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
    assert answer.ok, answer.text()
    return answer.json()


def eventually(
    check: Callable[[], bool], what: str, timeout: float = 20.0, *, pumping: Page | None = None
) -> None:
    """Until ``check()``, asked every 250 ms. A check that reads the pages' console
    (``live.console``) must name a page in ``pumping``: Playwright's sync API delivers console
    messages only while it runs a call, so the wait is that page's ``wait_for_timeout``, not a
    sleep, which would not deliver a line logged after the last call."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {what}")
        if pumping is None:
            time.sleep(0.25)
        else:
            pumping.wait_for_timeout(250)


def recordings(page: Page, person: Person, appointment: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api_get(page, person, f"/appointments/{appointment}/recordings")[
        "recordings"
    ]
    return listed


def indicator(page: Page) -> Any:
    return page.get_by_test_id("recording-indicator")


def test_recording_needs_both_consents_shows_on_both_pages_and_stops_on_withdrawal(
    new_context: ContextFactory, live: Live, tmp_path: Path
) -> None:
    patient = live.person(Role.PATIENT, "王芳")
    doctor = live.person(Role.DOCTOR, "Dr. Li Wei")
    appointment = live.appointment(patient, doctor)
    p, d = in_call(new_context, live, patient, doctor, appointment, patient_locale="zh-CN")

    # The patient asks: the notice comes first, in the page's language.
    p.get_by_test_id("recording-request").click()
    notice = p.get_by_test_id("recording-notice")
    expect(notice).to_contain_text(CURRENT_NOTICE.texts["zh-CN"][:20])
    expect(notice).to_have_attribute("data-version", CURRENT_NOTICE.version)
    shoot(p, "call-recording-notice-zh")
    p.get_by_test_id("recording-consent").click()
    expect(p.get_by_test_id("recording-pending")).to_contain_text("Dr. Li Wei")

    # The doctor sees that consent was asked, with the notice in English.
    asked = d.get_by_test_id("recording-asked")
    expect(asked).to_contain_text("王芳 would like to record this consultation")
    expect(asked.get_by_test_id("recording-notice")).to_contain_text(
        CURRENT_NOTICE.texts["en"][:40]
    )
    shoot(d, "call-recording-asked-en")

    # One consent records nothing.
    expect(indicator(p)).to_have_count(0)
    expect(indicator(d)).to_have_count(0)
    assert recordings(p, patient, appointment) == []
    folder = live.app[keys.SETTINGS].core.data_dir / "recordings"
    assert not folder.exists() or list(folder.iterdir()) == []  # this module's server records once

    # The second consent starts it: both pages say so, in words, in a live region.
    d.get_by_test_id("recording-consent").click()
    for page, word in ((p, "录制中"), (d, "Recording")):
        expect(indicator(page)).to_be_visible()
        expect(indicator(page)).to_contain_text(word)
        expect(indicator(page).locator("xpath=..")).to_have_attribute("aria-live", "polite")
    shoot(p, "call-recording-on-zh")
    shoot(d, "call-recording-on-en")
    listed = recordings(d, doctor, appointment)
    assert [r["status"] for r in listed] == ["recording"]
    recording_id = listed[0]["id"]

    # Both browsers feed the recorder: the file being written grows.
    part = live.app[keys.SETTINGS].core.data_dir / "recordings" / f"{recording_id}.webm.part"
    # The recorder encodes in the server's process: on a loaded 2-core machine 20 s was short.
    eventually(
        lambda: part.exists() and part.stat().st_size > 50_000, "the recording grows", timeout=60
    )

    # The patient withdraws: it stops at once, on both pages.
    p.get_by_test_id("recording-withdraw").click()
    expect(indicator(p)).to_have_count(0)
    expect(indicator(d)).to_have_count(0)
    # The doctor's consent stands (nothing records without the patient's); the patient is not
    # asked again at once.
    expect(d.get_by_test_id("recording-pending")).to_contain_text("Waiting for 王芳 to agree")
    expect(p.get_by_test_id("recording-declined")).to_be_visible()
    expect(p.get_by_test_id("recording-asked")).to_have_count(0)
    eventually(
        lambda: recordings(p, patient, appointment)[0]["status"] == "complete",
        "the recording is complete",
    )
    finished = recordings(p, patient, appointment)[0]
    assert finished["stop_reason"] == "consent_withdrawn"
    assert {(t["role"], t["kind"]) for t in finished["tracks"]} == {
        ("doctor", "audio"),
        ("doctor", "video"),
        ("patient", "audio"),
        ("patient", "video"),
    }

    # After the consultation both see it; the patient downloads it.
    d.get_by_test_id("end").click()
    d.get_by_test_id("end-confirm").click()
    for page in (p, d):
        item = page.get_by_test_id("recording")
        expect(item).to_have_attribute("data-status", "complete")
    shoot(p, "call-over-recordings-zh")
    # The browser itself fetches a short-lived link and streams it to disk: no Blob in the page.
    with p.expect_download() as info:
        p.get_by_test_id("recording").get_by_test_id("recording-download").click()
    download = info.value
    assert download.url.startswith(f"{live.url}/api/v1/recordings/{finished['id']}/file?ticket="), (
        download.url
    )
    assert download.suggested_filename.endswith(f"{finished['id']}.webm")
    assert download.failure() is None
    file = tmp_path / "recording.webm"
    download.save_as(file)
    assert file.stat().st_size == recordings(p, patient, appointment)[0]["size_bytes"]
    assert audit(live, patient, "recording.download_link") == ["success"]
    assert audit(live, patient, "recording.download") == ["success"]
    with av.open(str(file)) as container:
        kinds = {stream.type for stream in container.streams}
        assert {"audio", "video"} <= kinds
        decoded = {"audio": 0, "video": 0}
        for frame in container.decode(*container.streams):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            decoded[kind] += 1
        assert decoded["video"] > 0, decoded
        assert decoded["audio"] > 0, decoded

    # The doctor deletes it on request, after confirming.
    item = d.get_by_test_id("recording")
    item.get_by_test_id("recording-delete").click()
    item.get_by_test_id("recording-delete-confirm").click()
    expect(item).to_have_attribute("data-status", "deleted")
    expect(item.get_by_test_id("recording-download")).to_have_count(0)

    # The patient's past appointments list it, deleted.
    p.goto("/patient")
    card = p.get_by_test_id("past-list").locator(f'[data-appointment-id="{appointment}"]')
    card.get_by_test_id("show-recordings").click()
    expect(card.get_by_test_id("recording")).to_have_attribute("data-status", "deleted")
    shoot(p, "patient-past-recordings-zh")


def test_a_declined_request_is_told_to_the_one_who_asked(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "李娜")
    doctor = live.person(Role.DOCTOR, "Dr. Chen Jie")
    appointment = live.appointment(patient, doctor)
    p, d = in_call(new_context, live, patient, doctor, appointment, patient_locale="zh-CN")

    d.get_by_test_id("recording-request").click()
    d.get_by_test_id("recording-consent").click()
    expect(d.get_by_test_id("recording-pending")).to_contain_text("李娜")
    p.get_by_test_id("recording-decline").click()

    # The doctor is told and no longer waits; the request is taken back on both pages.
    expect(d.get_by_test_id("recording-peer-declined")).to_contain_text(
        "李娜 did not agree to record this consultation"
    )
    expect(d.get_by_test_id("recording-pending")).to_have_count(0)
    expect(d.get_by_test_id("recording-request")).to_be_enabled()
    expect(p.get_by_test_id("recording-asked")).to_have_count(0)
    expect(p.get_by_test_id("recording-request")).to_be_visible()
    shoot(d, "call-recording-declined-en")
    assert recordings(d, doctor, appointment) == []

    # Asking again clears the message.
    d.get_by_test_id("recording-request").click()
    d.get_by_test_id("recording-consent").click()
    expect(d.get_by_test_id("recording-peer-declined")).to_have_count(0)
    expect(p.get_by_test_id("recording-asked")).to_be_visible()
