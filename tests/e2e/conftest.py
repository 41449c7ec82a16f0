"""End-to-end tests in real headless Chromium: Debian's ``/usr/bin/chromium`` driven by
Playwright (never a downloaded browser), with fake camera and microphone, against the real app
served from a thread on a real socket, on the real database.

Every test makes its own people and appointments, so the tests are independent; screenshots of
every page go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from pymongo import MongoClient

from domain.appointments import AppointmentKind
from domain.availability import Availability, WeeklyWindow
from domain.users import Role
from server import keys
from server.app import create_app
from server.settings import ConsultSettings
from storage.embedded import free_port
from tests.conftest import FAST_PASSWORDS, SCREENSHOTS, STRONG_PASSWORD, make_settings
from tests.support.live import ThreadLoop

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # WebRTC between two tabs of one machine, also where loopback is its only network.
    "--allow-loopback-in-peer-connection",
]
CONSOLE_SHOWN = 300  # a failed test's last console lines in its report
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1366, "height": 900}

pytestmark = pytest.mark.browser
# The timeout of a test that holds calls for about a minute on its own (50-71 s, the longest of
# the browser tests), twice pyproject.toml's 120 s: with the other workers running the rest of
# the suite on 2 cores, such a test may take twice as long.
LONG_CALL = pytest.mark.timeout(240)


@dataclass
class Person:
    email: str
    name: str
    id: str
    role: Role
    password: str = STRONG_PASSWORD


@dataclass
class Live:
    url: str
    app: web.Application
    loop: ThreadLoop
    made: int = 0
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)  # the pages' console, for failure reports

    def person(self, role: Role, name: str, *, specialty: str | None = None) -> Person:
        self.made += 1
        email = f"{role.value}{self.made}-{uuid.uuid4().hex[:6]}@example.com"

        async def create() -> str:
            user = await self.app[keys.ACCOUNTS].create_user(
                email=email,
                password=STRONG_PASSWORD,
                name=name,
                role=role,
                specialty=specialty or ("General practice" if role is Role.DOCTOR else None),
                timezone="Asia/Shanghai",
            )
            return user.id

        return Person(email=email, name=name, id=self.loop.run(create()), role=role)

    def availability(self, doctor: Person) -> None:
        """Every day, all day, 30-minute slots: there is always a free time to book."""

        async def put() -> None:
            await self.app[keys.DATABASE].repos.availability.put(
                doctor.id,
                Availability("UTC", 30, tuple(WeeklyWindow(d, 0, 24 * 60) for d in range(7))),
                now=datetime.now(UTC),
            )

        self.loop.run(put())

    def appointment(
        self,
        patient: Person,
        doctor: Person,
        *,
        starts_in: float = 0,
        kind: AppointmentKind = AppointmentKind.VIDEO,
    ) -> str:
        """An appointment (video unless told) starting now, or ``starts_in`` minutes from now
        (inserted directly: booking refuses the past)."""

        async def insert() -> str:
            now = datetime.now(UTC)
            start = now + timedelta(minutes=starts_in)
            appointment = await self.app[keys.DATABASE].repos.appointments.insert(
                patient_id=patient.id,
                doctor_id=doctor.id,
                start=start,
                end=start + timedelta(minutes=30),
                kind=kind,
                reason="Cough for a week",
                now=now,
            )
            return appointment.id

        return self.loop.run(insert())


@contextmanager
def serve(
    mongo_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    also_on: tuple[str, ...] = (),
    **sections: Any,
) -> Iterator[Live]:
    """The real app on a real socket, served from a thread, with its own database (dropped
    afterwards); ``sections`` replace settings sections (e.g. ``auth=...``). ``also_on``: more
    addresses to serve on, with the same port (e.g. an impaired link's near end)."""
    db_name = "e2e_" + uuid.uuid4().hex[:12]
    settings = make_settings(mongo_url, db_name, tmp_path_factory.mktemp("e2e"))
    settings = settings.with_(
        **{"consult": ConsultSettings(hub_tick=0.2, hub_housekeeping=1.0), **sections}
    )
    app = create_app(settings, passwords=FAST_PASSWORDS)
    runner = web.AppRunner(app, access_log=None)
    port = free_port()
    loop = ThreadLoop()
    try:
        loop.run(runner.setup())
        for host in ("127.0.0.1", *also_on):
            loop.run(web.TCPSite(runner, host, port).start())
        yield Live(url=f"http://127.0.0.1:{port}", app=app, loop=loop)
    finally:
        loop.run(runner.cleanup())
        loop.close()
        client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
        client.drop_database(db_name)
        client.close()


@pytest.fixture(scope="module")
def live(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app for one test module; stopped afterwards, so that its hub's background work does
    not run on beside the rest of the suite."""
    with serve(mongo_url, tmp_path_factory) as served:
        yield served


# Module scope, not session: Playwright's sync API runs an event loop in this thread while it
# is started, and the asyncio tests of the other folders need the thread without one.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed; run the README's test command")
    expect.set_options(timeout=15_000)  # a shared 2-core machine: patience, not flakiness
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One Chromium per test module; each launch gets a fresh temporary user-data directory."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session", autouse=True)
def screenshots() -> Path:
    """The run's folder of screenshots (emptied once at the start: tests/conftest.py)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def context(
    browser: Browser,
    live: Live,
    *,
    locale: str = "en-US",
    phone: bool = False,
    bypass_csp: bool = False,
    timezone_id: str = "Asia/Shanghai",
) -> BrowserContext:
    """A person's browser (its clock in ``timezone_id``). ``bypass_csp`` only for the
    accessibility audit, which injects axe-core into the page."""
    ctx = browser.new_context(
        base_url=live.url,
        locale=locale,
        timezone_id=timezone_id,
        viewport=PHONE if phone else DESKTOP,
        is_mobile=phone,
        has_touch=phone,
        bypass_csp=bypass_csp,
    )
    ctx.set_default_timeout(20_000)
    return ctx


def watch(page: Page, who: str, live: Live) -> Page:
    """Page errors fail the test at its end (collected on ``live.errors``); console messages
    are kept for the failure report."""
    page.on("pageerror", lambda error: live.errors.append(f"{who}: {error}"))
    page.on(
        "console",
        lambda message: live.console.append(
            f"{datetime.now(UTC):%H:%M:%S.%f} {who} {message.type}: {message.text}"
        ),
    )
    return page


def sign_in(ctx: BrowserContext, person: Person, live: Live, *, path: str = "/") -> Page:
    page = watch(ctx.new_page(), person.name, live)
    page.goto(path)
    page.get_by_test_id("email").fill(person.email)
    page.get_by_test_id("password").fill(person.password)
    page.get_by_test_id("login").click()
    page.wait_for_url(lambda url: not url.endswith("/") and "/?" not in url)
    return page


ContextFactory = Callable[..., BrowserContext]


@pytest.fixture
def new_context(browser: Browser, live: Live) -> Iterator[ContextFactory]:
    """Browser contexts (separate people) closed after the test and its failure report."""
    made: list[BrowserContext] = []

    def make(**kw: Any) -> BrowserContext:
        ctx = context(kw.pop("browser", browser), live, **kw)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture(autouse=True)
def no_page_errors(live: Live) -> Iterator[None]:
    live.errors.clear()
    live.console.clear()
    yield
    assert live.errors == []


# How long the failure report may spend on one page's screenshot: a page stuck in a call can
# take Playwright's default 30 s, and the report must finish inside the test's timeout.
SCREENSHOT_MS = 5_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed browser test leaves a screenshot of every page it had open, and its report
    shows the pages' console (the call page traces its signalling there).

    Best effort and never an error of the run: pytest-timeout's alarm (a `Failed` raised by a
    signal) may land while the screenshots are taken, and an exception escaping this hook
    would stop the whole xdist session (INTERNALERROR) instead of failing one test."""
    report = yield
    if report.when == "call" and report.failed and isinstance(item, pytest.Function):
        try:
            _keep_failure_evidence(item, report)
        except (Exception, pytest.fail.Exception) as error:  # the alarm too: see above
            report.sections.append(("failure evidence", f"not all kept: {error!r}"))
    return report


def _keep_failure_evidence(item: pytest.Function, report: pytest.TestReport) -> None:
    live = item.funcargs.get("live")
    if isinstance(live, Live) and live.console:
        report.sections.append(("browser console", "\n".join(live.console[-CONSOLE_SHOWN:])))
    browser = item.funcargs.get("browser")
    if not isinstance(browser, Browser):
        return
    for i, ctx in enumerate(browser.contexts):
        for j, page in enumerate(ctx.pages):
            try:
                page.screenshot(
                    path=str(SCREENSHOTS / f"FAILED-{item.name}-{i}-{j}.png"),
                    timeout=SCREENSHOT_MS,
                )
            except Exception:  # noqa: S112 - best effort
                continue


# Resolves with the width of a <video> and how many new frames it presented within 8 s: a video
# that decodes shows frames (requestVideoFrameCallback's presentedFrames keeps growing).
FRAMES = """(testid) => new Promise((resolve) => {
  const video = document.querySelector(`[data-testid="${testid}"]`);
  if (!video || !video.requestVideoFrameCallback) { resolve({ width: 0, frames: -1 }); return; }
  let first = null;
  const done = (frames) => resolve({ width: video.videoWidth, frames });
  const deadline = setTimeout(() => done(first === null ? 0 : -2), 8000);
  const tick = (_now, meta) => {
    if (first === null) first = meta.presentedFrames;
    const frames = meta.presentedFrames - first;
    if (frames >= 10) { clearTimeout(deadline); done(frames); return; }
    video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
})"""


def assert_video_flows(page: Page, testid: str = "remote-video", *, within: float = 0.0) -> None:
    """The video shows at least 10 new frames within one 8 s look; with ``within``, looks again
    until that many seconds have passed (video that has to climb back, say after a cut, while
    the sender's bandwidth estimate recovers: a keyframe takes seconds at its lowest rate)."""
    deadline = time.monotonic() + within
    while True:
        result: dict[str, Any] = page.evaluate(FRAMES, testid)
        if (result["width"] > 0 and result["frames"] >= 10) or time.monotonic() >= deadline:
            break
    assert result["width"] > 0, result
    assert result["frames"] >= 10, result


def connected(page: Page) -> None:
    expect(page.get_by_test_id("call-state")).to_have_text("connected", timeout=30_000)


def wait_until(page: Page, expression: str, *, timeout: float = 10.0) -> None:
    """Until the JavaScript ``expression`` is truthy in ``page``, asked every 100 ms, also
    across a navigation. Playwright's ``wait_for_function`` evaluates its predicate with the
    page's ``eval``, which the app's Content-Security-Policy refuses (a console error that
    fails the test); ``evaluate`` goes through the DevTools protocol, which the policy does not
    govern."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if page.evaluate(expression):
                return
        except PlaywrightError:  # the page is between two documents
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{expression!r} was still false after {timeout} s")
        page.wait_for_timeout(100)


def call_trace(live: Live, event: str) -> list[str]:
    """The call pages' trace lines of one event (``create``, ``offers_crossed``...), from
    the console lines kept since the test began."""
    return [line for line in live.console if f" call {event} " in line]


def assert_one_side_offered(live: Live) -> None:
    """Every connection so far was negotiated by one offer: of each pair of connections, one
    offered and the other answered, and no two offers crossed."""
    created = call_trace(live, "create")
    offering = [line for line in created if '"offers":true' in line]
    answering = [line for line in created if '"offers":false' in line]
    assert created
    assert len(offering) == len(answering), created
    assert call_trace(live, "offers_crossed") == []


def in_call(
    new_context: ContextFactory,
    live: Live,
    patient: Person,
    doctor: Person,
    appointment: str,
    *,
    patient_locale: str = "en-US",
    doctor_locale: str = "en-US",
    patient_phone: bool = False,
    bypass_csp: bool = False,
) -> tuple[Page, Page]:
    """Patient and doctor in a connected call (the patient waits, the doctor lets them in)."""
    p = sign_in(
        new_context(locale=patient_locale, phone=patient_phone, bypass_csp=bypass_csp),
        patient,
        live,
    )
    p.goto(f"/consult/{appointment}")
    p.get_by_test_id("join").click()
    expect(p.get_by_test_id("waiting-room")).to_be_visible()
    d = sign_in(new_context(locale=doctor_locale, bypass_csp=bypass_csp), doctor, live)
    d.goto(f"/consult/{appointment}?admit=1")
    d.get_by_test_id("join").click()
    connected(p)
    connected(d)
    return p, d
