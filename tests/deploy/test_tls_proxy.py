"""Two nodes behind a real nginx, configured by the shipped deploy/nginx/telemed.conf, as a clinic
runs them: TLS terminated by nginx (a certificate made for the test), WebSocket and sticky
long-polling, the client's address passed on and believed from the proxy alone.

Two ``telemed serve`` processes share the test's Redis and database and trust 127.0.0.1 (the
proxy's address towards them). Clients connect from other loopback addresses (127.0.0.2...), so
the address a node decides is told apart from the proxy's. Checked: the official socket.io
client over ``wss://`` and over polling, Chromium's app over ``wss://`` and Engine.IO
long-polling from the page, a node killed under a consultation (a reconnect, and not one chat
message lost or doubled), the real address in the logs, the audit trail and the rate limits,
and a forged X-Forwarded-For ignored, through the proxy and around it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import re
import shutil
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pymongo import MongoClient

from domain.users import Role
from storage.mongo import Database
from tests.conftest import METRICS, METRICS_TOKEN, STRONG_PASSWORD
from tests.support.cluster import Node, People, node_env, running_nodes, shared_database
from tests.support.hub import HubClient
from tests.support.outbox import Outbox
from tests.support.proxy import Certificate, Proxy, running_proxy, self_signed

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
JS_PATIENT = ROOT / "tests" / "support" / "js_patient.mjs"
JS_CLIENT_PACKAGE = ROOT / "bench" / "node" / "node_modules" / "socket.io-client"
OFFER = {"type": "offer", "sdp": "v=0\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\n"}
PROXY_ADDRESS = "127.0.0.1"  # nginx connects to the nodes from here: the trusted proxy
ANONYMOUS_LIMIT = 30  # per minute and client address (TELEMED_RATE_LIMIT_ANONYMOUS)
FORGED = "203.0.113.9"  # TEST-NET-3: an address no client here has


@pytest.fixture(scope="module")
def module_db(mongo_url: str) -> Iterator[str]:
    name = "t_" + uuid.uuid4().hex[:16]
    yield name
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        client.drop_database(name)
    finally:
        client.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, mongo_url: str, redis_url: str, module_db: str
) -> Iterator[list[Node]]:
    env = node_env(
        mongo_url,
        module_db,
        redis_url,
        TELEMED_TRUSTED_PROXIES=f"{PROXY_ADDRESS}/32",
        TELEMED_RATE_LIMIT_ANONYMOUS=f"{ANONYMOUS_LIMIT}/minute",
        TELEMED_LOG_LEVEL="INFO",
        TELEMED_METRICS_TOKEN=METRICS_TOKEN,
    )
    with running_nodes(tmp_path_factory.mktemp("nodes"), env) as started:
        yield started


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, certificate: Certificate, nodes: list[Node]
) -> Iterator[Proxy]:
    with running_proxy(tmp_path_factory.mktemp("nginx"), certificate, nodes) as started:
        yield started


@pytest.fixture
async def people(mongo_url: str, module_db: str, tmp_path: Path) -> AsyncIterator[People]:
    database: Database
    async with shared_database(mongo_url, module_db, tmp_path) as database:
        yield People(database, tmp_path, mongo_url, module_db)


async def pair(people: People) -> tuple[str, str, str]:
    """A new patient and doctor (their e-mails) and their appointment starting now."""
    tag = uuid.uuid4().hex[:8]
    patient = await people.user(Role.PATIENT, f"patient-{tag}@proxy.example")
    doctor = await people.user(Role.DOCTOR, f"doctor-{tag}@proxy.example")
    return patient.email, doctor.email, await people.appointment(patient, doctor)


@contextlib.asynccontextmanager
async def session_from(
    address: str, certificate: Certificate | None = None
) -> AsyncIterator[aiohttp.ClientSession]:
    """HTTP from the loopback ``address``, trusting the test's certificate alone."""
    connector = aiohttp.TCPConnector(
        ssl=certificate.context() if certificate else False, local_addr=(address, 0)
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def sign_in(session: aiohttp.ClientSession, base: str, email: str) -> str:
    response = await session.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD}
    )
    assert response.status == 200, await response.text()
    return str((await response.json())["access_token"])


def live_nodes(nodes: list[Node]) -> list[Node]:
    return [n for n in nodes if n.process.poll() is None]


def sockets_on(node: Node) -> int:
    request = urllib.request.Request(f"{node.url}/metrics", headers=METRICS)  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (a local node)
        text = answer.read().decode()
    found = re.search(r'^telemed_hub_sockets_connected\{namespace="/"\} (\S+)$', text, re.M)
    return int(float(found.group(1))) if found else 0


def audit_entries(mongo_url: str, db_name: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        return list(client[db_name]["audit"].find(query))
    finally:
        client.close()


def node_logs(nodes: list[Node]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for node in nodes:
        for line in node.log().splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
    return lines


# ----------------------------------------------------------------------------- the JS client


async def read_step(process: asyncio.subprocess.Process, step: str) -> Any:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
    assert line, f"the JS client ended before {step!r}"
    printed = json.loads(line)
    assert printed["step"] == step, printed
    return printed["value"]


@pytest.mark.parametrize("transport", ["websocket", "polling", "polling,websocket"])
async def test_the_official_js_client_through_the_proxy(
    proxy: Proxy, certificate: Certificate, people: People, transport: str
) -> None:
    """socket.io-client (Node) at ``https://`` trusting the test's certificate: a consultation
    with a doctor connected through the same proxy, on WebSocket, on long-polling alone, and
    on polling upgraded to WebSocket (the client's default)."""
    node = shutil.which("node")
    if node is None or not JS_CLIENT_PACKAGE.is_dir():
        pytest.fail("node and bench/node's packages are needed (scripts/test.sh installs them)")
    patient_email, doctor_email, appointment_id = await pair(people)
    ref = {"appointment_id": appointment_id}
    async with session_from("127.0.0.1", certificate) as http:
        token = await sign_in(http, proxy.url, patient_email)
        doctor_token = await sign_in(http, proxy.url, doctor_email)
        doctor = await HubClient(proxy.url, doctor_token, http_session=http).connect()
        process = await asyncio.create_subprocess_exec(
            node,
            str(JS_PATIENT),
            proxy.url,
            token,
            appointment_id,
            transport,
            stdout=asyncio.subprocess.PIPE,
            env={"NODE_EXTRA_CA_CERTS": str(certificate.cert), "PATH": "/usr/bin:/bin"},
        )
        try:
            assert (await read_step(process, "joined"))["state"] == "waiting"
            assert (await doctor.call("consult:join", ref))["state"] == "admitted"
            assert (await doctor.call("consult:admit", ref))["ok"] is True
            assert (await read_step(process, "signal"))["delivered"] is True
            assert (await doctor.wait_for("rtc:signal"))["data"] == OFFER
            # The oversize signal is refused by the node, not cut by the proxy.
            assert (await read_step(process, "huge_signal"))["error"]["code"] == (
                "payload_too_large"
            )
            assert (await read_step(process, "huge_chat"))["ok"] is False
            assert (await read_step(process, "unknown"))["ok"] is False
            sent = await read_step(process, "chat")
            assert sent["ok"] is True, sent
            message = await doctor.wait_for("chat:message", lambda m: m["text"] == "你好")
            assert message == sent["message"]
            assert (await doctor.call("rtc:signal", {**ref, "data": ANSWER}))["delivered"]
            answered = await read_step(process, "answer")
            # Upgraded from polling to WebSocket on the node holding the session (sticky).
            assert answered == {"data": ANSWER, "transport": transport.split(",")[-1]}
            assert await asyncio.wait_for(process.wait(), timeout=15) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await doctor.close()


# ----------------------------------------------------------------------------- a node dies


async def test_a_node_killed_behind_the_proxy_costs_a_reconnect_and_nothing_else(
    proxy: Proxy,
    certificate: Certificate,
    nodes: list[Node],
    people: People,
    mongo_url: str,
    module_db: str,
) -> None:
    """The patient (WebSocket, from 127.0.0.2) and the doctor (long-polling, from 127.0.0.5)
    chat through the proxy; the patient's node is killed with messages in flight. The patient
    connects again to the same URL, lands on the other node, is re-admitted, resends what was
    not acknowledged, and the transcript holds every message once, in one gapless sequence.
    Whoever was on the other node noticed nothing."""
    if len(live_nodes(nodes)) < 2:
        pytest.fail("this test kills a node: it needs both")
    patient_email, doctor_email, appointment_id = await pair(people)
    ref = {"appointment_id": appointment_id}
    clients: list[HubClient] = []
    async with (
        session_from("127.0.0.2", certificate) as patient_http,
        session_from("127.0.0.5", certificate) as doctor_http,
    ):

        async def connect(token: str, http: aiohttp.ClientSession, transport: str) -> HubClient:
            client = HubClient(proxy.url, token, transports=[transport], http_session=http)
            clients.append(client)
            return await client.connect()

        patient_token = await sign_in(patient_http, proxy.url, patient_email)
        doctor_token = await sign_in(doctor_http, proxy.url, doctor_email)
        try:
            gauges = [{n.port: sockets_on(n) for n in nodes}]
            doctor = await connect(doctor_token, doctor_http, "polling")
            gauges.append({n.port: sockets_on(n) for n in nodes})
            patient = await connect(patient_token, patient_http, "websocket")
            gauges.append({n.port: sockets_on(n) for n in nodes})
            doctors_node, patients_node = (
                next(n for n in nodes if after[n.port] == before[n.port] + 1)
                for before, after in itertools.pairwise(gauges)
            )
            first_doctor, first_patient = doctor, patient
            assert (await patient.call("consult:join", ref))["state"] == "waiting"
            assert (await doctor.call("consult:join", ref))["state"] == "admitted"
            assert (await doctor.call("consult:admit", ref))["ok"] is True
            await patient.wait_for("consult:admitted")

            patient_box, doctor_box = Outbox(appointment_id, "p"), Outbox(appointment_id, "d")
            for _ in range(5):
                patient_box.write()
                doctor_box.write()
            assert await patient_box.flush(patient)
            assert await doctor_box.flush(doctor)

            in_flight = [patient_box.write() for _ in range(4)]
            sends = [
                asyncio.ensure_future(patient_box.send_one(patient, m, within=10))
                for m in in_flight
            ]
            await asyncio.sleep(0)
            patients_node.kill()
            await asyncio.gather(*sends)
            await patient.wait_disconnected()

            # The same URL again: nginx finds the dead node refusing and passes the
            # connection on to the survivor; the patient is admitted straight back.
            patient = await connect(patient_token, patient_http, "websocket")
            rejoined = await patient.call("consult:join", ref)
            assert rejoined["state"] == "admitted", rejoined
            if doctors_node is patients_node:  # the doctor was on the dead node too
                await doctor.wait_disconnected(within=30)
                doctor = await connect(doctor_token, doctor_http, "polling")
                assert (await doctor.call("consult:join", ref))["state"] == "admitted"

            await patient_box.flush_until_done(patient)
            patient_box.write("back again")
            doctor_box.write("welcome back")
            assert await patient_box.flush(patient)
            assert await doctor_box.flush(doctor)
            history = (await doctor.call("chat:history", ref))["messages"]
            expected = set(patient_box.acked) | set(doctor_box.acked)
            assert len(expected) == 5 + 4 + 1 + 5 + 1
            assert sorted(m["client_msg_id"] for m in history) == sorted(expected)  # once each
            assert [m["seq"] for m in history] == list(range(1, len(expected) + 1))
            assert (await patient.call("chat:history", ref))["messages"] == history
            # Each reading of the transcript is audited with the reader's own address.
            reads = audit_entries(
                mongo_url, module_db, {"resource_id": appointment_id, "details.via": "socket"}
            )
            assert {(e["actor_role"], e["client_ip"]) for e in reads} == {
                ("patient", "127.0.0.2"),
                ("doctor", "127.0.0.5"),
            }
            # Only the dead node's clients were disconnected, once; nobody else noticed.
            assert first_patient.disconnected.is_set()
            assert first_doctor.disconnected.is_set() is (doctors_node is patients_node)
            assert not patient.disconnected.is_set()
            assert not doctor.disconnected.is_set()
        finally:
            for client in clients:
                with contextlib.suppress(Exception):
                    await client.close()


# ----------------------------------------------------------------------------- the address


async def test_the_client_address_is_the_real_one_and_a_forged_header_is_ignored(
    proxy: Proxy, certificate: Certificate, nodes: list[Node], module_db: str, mongo_url: str
) -> None:
    """Behind the trusted proxy the node counts, logs and audits the client's own address
    (127.0.0.3, never the proxy's 127.0.0.1 nor what the client wrote in X-Forwarded-For);
    a client reaching a node directly gets its own address too, whatever header it sends."""
    node = live_nodes(nodes)[0]
    forged = {"X-Forwarded-For": FORGED}
    async with (
        session_from("127.0.0.3", certificate) as client3,
        session_from("127.0.0.4", certificate) as client4,
        session_from("127.0.0.3") as client3_direct,
        session_from("127.0.0.4") as client4_direct,
    ):
        # A failed sign-in, through the proxy with a forged header: logged with the real address.
        tag = uuid.uuid4().hex[:8]
        failed = await client3.post(
            f"{proxy.url}/api/v1/auth/login",
            json={"email": f"nobody-{tag}@proxy.example", "password": "wrong password 1"},
            headers=forged,
        )
        assert failed.status == 401, await failed.text()
        request_id = failed.headers["X-Request-ID"]
        logged = [e for e in node_logs(nodes) if e.get("event") == "login_failed"]
        ours = [e for e in logged if e.get("request_id") == request_id]
        assert [e["client_ip"] for e in ours] == ["127.0.0.3"], logged
        assert FORGED not in "".join(n.log() for n in nodes)
        # nginx logged the same request, by the same id, from the same address.
        # (nginx writes the line once the answer is out: it may come just after the answer.)
        line = re.compile(rf"^127\.0\.0\.3 .* 401 .*id={request_id} ", re.M)
        async with asyncio.timeout(5):
            while not line.search(proxy.access_log()):  # noqa: ASYNC110 - a file, no event
                await asyncio.sleep(0.05)

        # The anonymous budget is per real address: 127.0.0.3 spends it all through the proxy,
        # each request with a new forged address, and is refused; 127.0.0.4 is not.
        clinic = f"{proxy.url}/api/v1/clinic"
        statuses = [
            (await client3.get(clinic, headers={"X-Forwarded-For": f"198.51.100.{i}"})).status
            for i in range(ANONYMOUS_LIMIT + 2)
        ]
        assert statuses.count(429) >= 2, statuses
        assert 429 not in statuses[: ANONYMOUS_LIMIT - 2], statuses
        assert (await client4.get(clinic)).status == 200

        # Around the proxy, the header is ignored both ways: 127.0.0.3 claiming to be someone
        # else is still 127.0.0.3 (refused), and 127.0.0.4 claiming to be 127.0.0.3 is not.
        direct = f"{node.url}/api/v1/clinic"
        assert (await client3_direct.get(direct, headers=forged)).status == 429
        spoofing = await client4_direct.get(direct, headers={"X-Forwarded-For": "127.0.0.3"})
        assert spoofing.status == 200
        # ...and its X-Forwarded-Proto does not make it HTTPS (no HSTS from the node), while
        # everything through the proxy carries HSTS (nginx's own).
        claimed = await client4_direct.get(direct, headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" not in claimed.headers
        hsts = (await client4.get(f"{proxy.url}/healthz")).headers.getall(
            "Strict-Transport-Security"
        )
        assert hsts == ["max-age=31536000; includeSubDomains"]

        # Plain HTTP only redirects; a body past nginx's default 1 MiB (a document upload is
        # up to 20 MiB) reaches the node, which answers for its own caps.
        plain = await client4.get(
            f"http://127.0.0.1:{proxy.http_port}/consult/x?y=1", allow_redirects=False
        )
        assert plain.status == 308
        assert plain.headers["Location"] == "https://127.0.0.1/consult/x?y=1"
        big = await client4.post(
            f"{proxy.url}/api/v1/auth/login",
            data=io.BytesIO(b"x" * (5 * 1024 * 1024)),
            headers={"Content-Type": "application/json"},
        )
        assert big.status == 413
        assert big.content_type == "application/problem+json"  # the node's, not nginx's page


# ----------------------------------------------------------------------------- Chromium

# Engine.IO long-polling from the page, by hand (the app itself opens a WebSocket): the
# handshake, the namespace CONNECT with the token, an event with its ack. Every request after
# the first names the session, which lives on one node only: the proxy must be sticky.
POLLING = """async ([token, appointmentId]) => {
  const base = "/socket.io/?EIO=4&transport=polling";
  const opened = await (await fetch(base)).text();
  const url = `${base}&sid=${encodeURIComponent(JSON.parse(opened.slice(1)).sid)}`;
  const seen = [];
  const until = async (wanted) => {
    for (let i = 0; i < 5 && !seen.join("\\x1e").includes(wanted); i++) {
      const answer = await fetch(url);
      seen.push(`${answer.status} ${await answer.text()}`);
    }
    return seen.join("\\x1e").includes(wanted);
  };
  const post = async (body) => (await fetch(url, { method: "POST", body })).status;
  const connect = await post(`40${JSON.stringify({ token })}`);
  const connected = await until('40{"sid"');
  const history = ["chat:history", { appointment_id: appointmentId }];
  const asked = await post(`420${JSON.stringify(history)}`);
  const acked = await until("430[");
  await post("1");
  return { opened: opened.slice(0, 1), connect, connected, asked, acked, seen };
}"""


async def seed(mongo_url: str, db_name: str, tmp_path: Path) -> tuple[str, str, str]:
    async with shared_database(mongo_url, db_name, tmp_path) as database:
        return await pair(People(database, tmp_path, mongo_url, db_name))


def token_for(proxy: Proxy, certificate: Certificate, email: str) -> str:
    request = urllib.request.Request(  # noqa: S310 (the test's proxy)
        f"{proxy.url}/api/v1/auth/login",
        data=json.dumps({"email": email, "password": STRONG_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, context=certificate.context(), timeout=10) as answer:  # noqa: S310
        return str(json.load(answer)["access_token"])


@pytest.mark.browser
def test_the_browser_app_through_the_proxy_over_wss_and_polling(
    proxy: Proxy, certificate: Certificate, mongo_url: str, module_db: str, tmp_path: Path
) -> None:
    """Chromium (the test's certificate accepted, as a clinic's real one would be) signs both
    people in at ``https://``; the app's hub connections are ``wss://`` through the proxy; the
    waiting room, the admission, the call and a chat message work across it; and Engine.IO
    long-polling from the page keeps its session through the proxy."""
    from playwright.sync_api import Page, expect, sync_playwright

    from tests.e2e.conftest import ARGS, CHROMIUM, DESKTOP, connected

    patient_email, doctor_email, appointment_id = asyncio.run(seed(mongo_url, module_db, tmp_path))
    sockets: list[str] = []
    errors: list[str] = []
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:

            def signed_in(email: str) -> Page:
                ctx = browser.new_context(
                    base_url=proxy.url, ignore_https_errors=True, locale="en-US", viewport=DESKTOP
                )
                ctx.set_default_timeout(20_000)
                page = ctx.new_page()
                page.on("websocket", lambda ws: sockets.append(ws.url))
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto("/")
                page.get_by_test_id("email").fill(email)
                page.get_by_test_id("password").fill(STRONG_PASSWORD)
                page.get_by_test_id("login").click()
                page.wait_for_url(lambda url: not url.endswith("/") and "/?" not in url)
                return page

            patient = signed_in(patient_email)
            patient.goto(f"/consult/{appointment_id}")
            patient.get_by_test_id("join").click()
            expect(patient.get_by_test_id("waiting-room")).to_be_visible()
            doctor = signed_in(doctor_email)
            doctor.goto(f"/consult/{appointment_id}?admit=1")
            doctor.get_by_test_id("join").click()
            connected(patient)
            connected(doctor)
            patient.get_by_test_id("chat-input").fill("经由代理 through the proxy")
            patient.get_by_test_id("chat-send").click()
            doctor_log = doctor.get_by_test_id("chat-log")
            expect(doctor_log.get_by_text("经由代理 through the proxy")).to_have_count(1)

            hub = f"wss://127.0.0.1:{proxy.port}/socket.io/"
            assert sockets
            assert all(url.startswith(hub) for url in sockets), sockets

            token = token_for(proxy, certificate, patient_email)
            polled = patient.evaluate(POLLING, [token, appointment_id])
            assert polled["opened"] == "0", polled
            assert polled["connect"] == polled["asked"] == 200, polled
            assert polled["connected"], polled
            assert polled["acked"], polled
            assert '"messages"' in polled["seen"][-1], polled
            assert all(seen.startswith("200 ") for seen in polled["seen"]), polled
        finally:
            browser.close()
    assert errors == []
