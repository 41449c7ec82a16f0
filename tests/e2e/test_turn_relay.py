"""Calls through a real TURN relay: Debian's coturn (tests/support/coturn.py, running the shipped
deploy/coturn/turnserver.conf) and the server configured as a clinic that forces every call
through it (``TELEMED_ICE_TRANSPORT_POLICY=relay``, TURN REST credentials minted by the hub
from ``TELEMED_TURN_SECRET``).

Both pages' peer connections are observed through ``RTCPeerConnection.getStats`` (the test
wraps the browser's constructor to find them; the app is unchanged): the selected candidate
pair is relay-to-relay on both sides, over UDP or TCP as configured, and video frames decoded
keep growing on both sides; coturn's log shows both participants' allocations. With credentials
the relay refuses (signed with another secret, or past their expiry by the relay's clock) coturn
logs a 401 and each page says, in the person's language, that the relay refused and to reload.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from domain.users import Role
from server.settings import MediaSettings
from tests.e2e.conftest import (
    LONG_CALL,
    ContextFactory,
    Live,
    Person,
    assert_video_flows,
    call_trace,
    connected,
    serve,
    sign_in,
)
from tests.support.coturn import Coturn, run_coturn

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Every RTCPeerConnection the page makes, kept where the test can reach it.
SPY = """(() => {
  const Native = window.RTCPeerConnection;
  const made = [];
  class Observed extends Native {
    constructor(...args) { super(...args); made.push(this); }
  }
  window.RTCPeerConnection = Observed;
  window.__peerConnections = made;
})()"""

# The newest connected peer connection's configured policy, its selected candidate pair (the
# candidates' types and the local relay's protocol) and the video frames it decoded.
SELECTED = """async () => {
  const pcs = (window.__peerConnections || []).filter((pc) => pc.connectionState === "connected");
  if (pcs.length === 0) return null;
  const pc = pcs[pcs.length - 1];
  const stats = await pc.getStats();
  let pair = null;
  let frames = 0;
  stats.forEach((r) => {
    if (r.type === "transport" && r.selectedCandidatePairId) {
      pair = stats.get(r.selectedCandidatePairId);
    }
    if (r.type === "inbound-rtp" && r.kind === "video") frames = r.framesDecoded || 0;
  });
  if (!pair) return { policy: pc.getConfiguration().iceTransportPolicy, frames };
  const local = stats.get(pair.localCandidateId);
  const remote = stats.get(pair.remoteCandidateId);
  return {
    policy: pc.getConfiguration().iceTransportPolicy,
    local: local.candidateType,
    remote: remote.candidateType,
    relayProtocol: local.relayProtocol,
    url: local.url,
    frames,
  };
}"""

SECRET = "relay-e2e-secret-0123456789"


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    with run_coturn(tmp_path_factory.mktemp("coturn"), secret=SECRET) as server:
        yield server


@pytest.fixture(scope="module")
def aged_coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    """A relay whose clock is two hours ahead: the hub's ten-minute credentials are, to it,
    long expired."""
    with run_coturn(
        tmp_path_factory.mktemp("coturn-aged"), secret=SECRET, clock_ahead=timedelta(hours=2)
    ) as server:
        yield server


@pytest.fixture
def live(
    request: pytest.FixtureRequest, mongo_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """The app for one test, its calls forced through the relay ``request.param`` names:
    ``(coturn fixture, transport, secret[, credential lifetime in seconds])``."""
    relay_fixture, transport, secret, *ttl = request.param
    relay: Coturn = request.getfixturevalue(relay_fixture)
    media = MediaSettings(
        turn_secret=secret,
        turn_urls=[relay.udp_url if transport == "udp" else relay.tcp_url],
        turn_ttl=ttl[0] if ttl else 600,
        ice_transport_policy="relay",
    )
    with serve(mongo_url, tmp_path_factory, media=media) as served:
        yield served


def people(live: Live) -> tuple[Person, Person, str]:
    patient = live.person(Role.PATIENT, "Li Wei")
    doctor = live.person(Role.DOCTOR, "Dr. Chen")
    return patient, doctor, live.appointment(patient, doctor)


def into_call(
    new_context: ContextFactory,
    live: Live,
    patient: Person,
    doctor: Person,
    appointment: str,
    *,
    patient_locale: str = "en-US",
) -> tuple[Page, Page]:
    """Both pages in the call (the patient waits, the doctor lets them in), observed by SPY."""
    patient_context = new_context(locale=patient_locale, phone=True)
    patient_context.add_init_script(SPY)
    p = sign_in(patient_context, patient, live)
    p.goto(f"/consult/{appointment}")
    p.get_by_test_id("join").click()
    expect(p.get_by_test_id("waiting-room")).to_be_visible()
    doctor_context = new_context()
    doctor_context.add_init_script(SPY)
    d = sign_in(doctor_context, doctor, live)
    d.goto(f"/consult/{appointment}?admit=1")
    d.get_by_test_id("join").click()
    return p, d


def selected(page: Page) -> dict[str, Any]:
    result: dict[str, Any] | None = page.evaluate(SELECTED)
    assert result is not None, "no connected peer connection"
    return result


def relayed(page: Page, protocol: str) -> dict[str, Any]:
    """The selected pair once it is relay-to-relay over ``protocol`` (stats can lag the
    connection state by a moment)."""
    deadline = time.monotonic() + 15
    while True:
        pair = selected(page)
        if pair.get("local") == "relay" and pair.get("remote") == "relay":
            break
        assert time.monotonic() < deadline, pair
        time.sleep(0.5)
    assert pair["policy"] == "relay", pair
    assert pair["relayProtocol"] == protocol, pair
    return pair


def allocations_of(relay: Coturn, person: Person) -> list[str]:
    return [line for line in relay.allocations() if f":{person.id}>" in line]


@pytest.mark.parametrize(
    ("live", "protocol"),
    [(("coturn", "udp", SECRET), "udp"), (("coturn", "tcp", SECRET), "tcp")],
    indirect=["live"],
    ids=["turn-udp", "turn-tcp"],
)
def test_a_call_held_through_the_relay(
    live: Live, new_context: ContextFactory, coturn: Coturn, protocol: str
) -> None:
    patient, doctor, appointment = people(live)
    p, d = into_call(new_context, live, patient, doctor, appointment)
    connected(p)
    connected(d)
    first = {page: relayed(page, protocol) for page in (p, d)}
    assert_video_flows(p)
    assert_video_flows(d)
    for page, before in first.items():
        after = relayed(page, protocol)
        assert after["frames"] > before["frames"], (before, after)
        assert str(after["url"]).startswith(f"turn:127.0.0.1:{coturn.port}"), after
    # coturn granted each participant a relay with the credentials the hub minted for them.
    assert allocations_of(coturn, patient), coturn.log_text()[-3000:]
    assert allocations_of(coturn, doctor), coturn.log_text()[-3000:]
    expect(p.get_by_test_id("connection-banner")).to_have_count(0)


def assert_refused(relay: Coturn, person: Person) -> None:
    deadline = time.monotonic() + 15
    while not [line for line in relay.refusals() if f":{person.id}>" in line]:
        assert time.monotonic() < deadline, relay.log_text()[-3000:]
        time.sleep(0.2)
    assert allocations_of(relay, person) == []


@pytest.mark.parametrize(
    "live", [("coturn", "udp", "not-the-relays-secret")], indirect=True, ids=["forged"]
)
def test_credentials_of_another_secret_are_refused_and_the_pages_say_so(
    live: Live, new_context: ContextFactory, coturn: Coturn
) -> None:
    patient, doctor, appointment = people(live)
    p, d = into_call(new_context, live, patient, doctor, appointment, patient_locale="zh-CN")
    banner = p.get_by_test_id("connection-banner")
    expect(banner).to_have_attribute("data-kind", "relay_refused", timeout=30_000)
    expect(banner).to_contain_text("视频中转服务器拒绝了连接")
    expect(banner).to_contain_text("请刷新页面")
    expect(p.get_by_test_id("reload")).to_have_text("刷新页面")
    doctor_banner = d.get_by_test_id("connection-banner")
    expect(doctor_banner).to_have_attribute("data-kind", "relay_refused")
    expect(doctor_banner).to_contain_text("The connection relay refused us")
    expect(doctor_banner).to_contain_text("Please reload the page")
    assert_refused(coturn, patient)
    assert_refused(coturn, doctor)
    expect(p.get_by_test_id("call-state")).not_to_have_text("connected")


@pytest.mark.parametrize("live", [("aged_coturn", "tcp", SECRET)], indirect=True, ids=["expired"])
def test_expired_credentials_are_refused_and_the_pages_say_so(
    live: Live, new_context: ContextFactory, aged_coturn: Coturn
) -> None:
    patient, doctor, appointment = people(live)
    p, d = into_call(new_context, live, patient, doctor, appointment)
    for page in (p, d):
        banner = page.get_by_test_id("connection-banner")
        expect(banner).to_have_attribute("data-kind", "relay_refused", timeout=30_000)
        expect(banner).to_contain_text("The connection relay refused us")
        expect(banner).to_contain_text("it may have expired")
    assert_refused(aged_coturn, patient)
    assert_refused(aged_coturn, doctor)


@LONG_CALL
@pytest.mark.parametrize("live", [("coturn", "udp", SECRET, 60)], indirect=True, ids=["renewed"])
def test_a_doctor_who_waited_past_the_credentials_lifetime_still_connects_through_the_relay(
    live: Live, new_context: ContextFactory, coturn: Coturn
) -> None:
    """The doctor's credentials (minted at their join, a 60-second lifetime) expire while they
    wait for the patient; the page renews them (consult:ice_servers) and the call connects
    through the relay with the renewed ones."""
    patient, doctor, appointment = people(live)
    doctor_context = new_context()
    doctor_context.add_init_script(SPY)
    d = sign_in(doctor_context, doctor, live)
    d.goto(f"/consult/{appointment}")
    d.get_by_test_id("join").click()
    joined = time.time()
    expect(d.get_by_test_id("call-status")).to_contain_text("Waiting for")
    deadline = time.monotonic() + 90
    while time.time() < joined + 65 or not call_trace(live, "ice_servers"):
        assert time.monotonic() < deadline, "the page never renewed its credentials"
        d.wait_for_timeout(1000)  # (Playwright delivers the page's console while it waits)
    patient_context = new_context()
    patient_context.add_init_script(SPY)
    p = sign_in(patient_context, patient, live)
    p.goto(f"/consult/{appointment}")
    p.get_by_test_id("join").click()
    expect(p.get_by_test_id("waiting-room")).to_be_visible()
    d.get_by_test_id("admit").click()
    connected(p)
    connected(d)
    relayed(d, "udp")
    relayed(p, "udp")
    assert_video_flows(p)
    assert_video_flows(d)
    # Every allocation of the doctor's used credentials minted after the first ones expired.
    mine = allocations_of(coturn, doctor)
    assert mine, coturn.log_text()[-3000:]
    for line in mine:
        expiry = int(line.split(f":{doctor.id}>")[0].rsplit("<", 1)[1])
        assert expiry > joined + 60, line
