"""Download links of recordings over REST, on the real server and database: a participant asks
for a short-lived link (``POST /recordings/{id}/download-link``) and anybody holding it fetches
the file without the bearer token, for 60 seconds, streamed with the same headers and ``Range``
as with the token, audited as that participant. Every refusal: outsiders, a running or deleted
recording, no sign-in; and for the ticket: expired, forged, tampered, of another recording, of
another user, of a sign-in that ended, an access token in its place (and the reverse), and a
ticket together with a bearer token."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.ids import SessionId, UserId, new_id
from domain.recording import Recording, RecordingStatus
from domain.users import Role
from server import keys
from server.auth.tokens import TokenService
from server.media import recordings_dir
from server.settings import Settings
from tests.clock import FakeClock
from tests.conftest import TEST_SECRET, Accounts, AppFactory, bearer
from tests.server.clinic import ok, problem

Client = TestClient[web.Request, web.Application]

# A file big enough for ranges to mean something; its bytes tell their own offsets apart.
CONTENT = bytes(range(256)) * 1024


@dataclass
class Setup:
    client: Client
    clock: FakeClock
    accounts: Accounts
    patient: dict[str, Any]
    doctor: dict[str, Any]

    async def recording(
        self, status: RecordingStatus = RecordingStatus.COMPLETE, content: bytes = CONTENT
    ) -> str:
        """A recording of the patient with the doctor, with its file (none while recording)."""
        recording_id = new_id()
        app = self.client.app
        file_name = f"{recording_id}.webm"
        if status is not RecordingStatus.RECORDING:
            directory = recordings_dir(app[keys.SETTINGS].core.data_dir)
            await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread((directory / file_name).write_bytes, content)
        await app[keys.DATABASE].repos.recordings.insert(
            Recording(
                id=recording_id,
                appointment_id=new_id(),
                patient_id=UserId(self.patient["id"]),
                doctor_id=UserId(self.doctor["id"]),
                status=status,
                started_at=self.clock(),
                started_by=UserId(self.doctor["id"]),
                node="test",
                file_name=file_name,
            )
        )
        return recording_id

    async def link(self, who: dict[str, Any], recording_id: str) -> dict[str, Any]:
        body: dict[str, Any] = await ok(
            await self.client.post(
                f"/api/v1/recordings/{recording_id}/download-link",
                headers=bearer(who["access_token"]),
            )
        )
        return body

    def tokens(self) -> TokenService:
        return self.client.app[keys.ACCOUNTS].tokens

    def session_of(self, who: dict[str, Any]) -> SessionId:
        return self.tokens().decode_access(who["access_token"]).session_id

    async def audit(self, action: str) -> list[tuple[str | None, str, dict[str, Any]]]:
        entries = await self.client.app[keys.DATABASE].repos.audit.query(limit=500)
        return [
            (e.actor_id, e.outcome.value, dict(e.details)) for _, e in entries if e.action == action
        ]


@pytest.fixture
async def setup(make_client: AppFactory, settings: Settings) -> Setup:
    clock = FakeClock()
    client = await make_client(settings, clock=clock)
    accounts = Accounts(client)
    return Setup(
        client=client,
        clock=clock,
        accounts=accounts,
        patient=await accounts.create(Role.PATIENT),
        doctor=await accounts.create(Role.DOCTOR),
    )


def ticket_of(url: str) -> str:
    _, _, query = url.partition("?")
    name, _, value = query.partition("=")
    assert name == "ticket"
    return value


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


async def test_a_link_downloads_the_file_without_the_token_and_is_audited(setup: Setup) -> None:
    recording_id = await setup.recording()
    for who in (setup.patient, setup.doctor):
        link = await setup.link(who, recording_id)
        assert link["url"].startswith(f"/api/v1/recordings/{recording_id}/file?ticket=")
        expires_at = datetime.fromisoformat(link["expires_at"])
        assert expires_at == setup.clock() + timedelta(seconds=60)
        response = await setup.client.get(link["url"])  # no Authorization header
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"] == "video/webm"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert recording_id in disposition
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert await response.read() == CONTENT

    # The ticket is a JWT of its own kind, with every required claim, bound to the recording,
    # the user and the sign-in.
    ticket = ticket_of(link["url"])
    header = jwt.get_unverified_header(ticket)
    assert header == {"alg": "HS256", "typ": "download+jwt"}
    claims = claims_of(ticket)
    assert {"exp", "iat", "sub", "aud", "iss", "jti", "sid", "rec"} <= set(claims)
    assert claims["aud"] == "telemed-api:recording-download"
    assert claims["sub"] == setup.doctor["id"]
    assert claims["rec"] == recording_id
    assert claims["sid"] == setup.session_of(setup.doctor)
    assert claims["exp"] - claims["iat"] == 60

    # Link and download are audited as the participant who made and used them, one for one.
    links = await setup.audit("recording.download_link")
    downloads = await setup.audit("recording.download")
    assert sorted((actor, outcome) for actor, outcome, _ in links) == sorted(
        [(setup.patient["id"], "success"), (setup.doctor["id"], "success")]
    )
    assert sorted((actor, outcome) for actor, outcome, _ in downloads) == sorted(
        [(setup.patient["id"], "success"), (setup.doctor["id"], "success")]
    )
    # Each download names the ticket of its link (its id, never the ticket itself).
    assert {d["ticket_id"] for _, _, d in links} == {d["ticket_id"] for _, _, d in downloads}
    assert claims["jti"] in {d["ticket_id"] for _, _, d in downloads}
    everything = await setup.client.app[keys.DATABASE].repos.audit.query(limit=500)
    assert all(ticket not in repr(entry) for _, entry in everything)


async def test_a_range_request_with_a_ticket_gets_that_range(setup: Setup) -> None:
    recording_id = await setup.recording()
    link = await setup.link(setup.patient, recording_id)
    response = await setup.client.get(link["url"], headers={"Range": "bytes=1000-2999"})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes 1000-2999/{len(CONTENT)}"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert await response.read() == CONTENT[1000:3000]
    # The same link resumes the rest (a browser resuming an interrupted download).
    rest = await setup.client.get(link["url"], headers={"Range": "bytes=3000-"})
    assert rest.status == 206
    assert await rest.read() == CONTENT[3000:]


async def test_the_bearer_token_still_downloads(setup: Setup) -> None:
    recording_id = await setup.recording()
    response = await setup.client.get(
        f"/api/v1/recordings/{recording_id}/file", headers=bearer(setup.patient["access_token"])
    )
    assert response.status == 200
    assert await response.read() == CONTENT
    ((_, outcome, details),) = await setup.audit("recording.download")
    assert outcome == "success"
    assert "ticket_id" not in details


async def test_only_the_participants_get_a_link(setup: Setup) -> None:
    recording_id = await setup.recording()
    outsiders = [
        await setup.accounts.create(Role.PATIENT),
        await setup.accounts.create(Role.DOCTOR),
        await setup.accounts.create(Role.ADMIN),
    ]
    for outsider in outsiders:
        await problem(
            await setup.client.post(
                f"/api/v1/recordings/{recording_id}/download-link",
                headers=bearer(outsider["access_token"]),
            ),
            404,
            "not_found",
        )
    await problem(
        await setup.client.post(
            f"/api/v1/recordings/{new_id()}/download-link",
            headers=bearer(setup.patient["access_token"]),
        ),
        404,
        "not_found",
    )
    await problem(
        await setup.client.post(f"/api/v1/recordings/{recording_id}/download-link"),
        401,
        "unauthorized",
    )
    denied = [actor for actor, outcome, _ in await setup.audit("recording.download_link")]
    assert sorted(a for a in denied if a) == sorted(
        [o["id"] for o in outsiders] + [setup.patient["id"]]
    )
    assert all(
        outcome == "denied" for _, outcome, _ in await setup.audit("recording.download_link")
    )


async def test_no_link_while_it_records_nor_once_deleted(setup: Setup) -> None:
    running = await setup.recording(RecordingStatus.RECORDING)
    await problem(
        await setup.client.post(
            f"/api/v1/recordings/{running}/download-link",
            headers=bearer(setup.doctor["access_token"]),
        ),
        409,
        "still_recording",
    )

    recording_id = await setup.recording()
    link = await setup.link(setup.patient, recording_id)
    deleted = await setup.client.delete(
        f"/api/v1/recordings/{recording_id}", headers=bearer(setup.doctor["access_token"])
    )
    assert deleted.status == 204
    # A link made before the deletion finds nothing, and no new one is given.
    await problem(await setup.client.get(link["url"]), 404, "not_found")
    await problem(
        await setup.client.post(
            f"/api/v1/recordings/{recording_id}/download-link",
            headers=bearer(setup.patient["access_token"]),
        ),
        404,
        "not_found",
    )
    outcomes = Counter(outcome for _, outcome, _ in await setup.audit("recording.download_link"))
    assert outcomes == {"success": 1, "failed": 1, "denied": 1}


async def test_a_ticket_expires_after_a_minute(setup: Setup) -> None:
    recording_id = await setup.recording()
    link = await setup.link(setup.patient, recording_id)
    setup.clock.advance(seconds=59)
    assert (await setup.client.get(link["url"])).status == 200
    setup.clock.advance(seconds=7)  # past the expiry and the 5 s leeway for clock skew
    await problem(await setup.client.get(link["url"]), 401, "unauthorized")


async def test_a_ticket_opens_its_own_recording_only(setup: Setup) -> None:
    first, second = await setup.recording(), await setup.recording()
    link = await setup.link(setup.patient, first)
    await problem(
        await setup.client.get(f"/api/v1/recordings/{second}/file?ticket={ticket_of(link['url'])}"),
        401,
        "unauthorized",
    )


async def test_forged_and_tampered_tickets_are_refused(setup: Setup) -> None:
    recording_id = await setup.recording()
    url = f"/api/v1/recordings/{recording_id}/file"
    ticket = ticket_of((await setup.link(setup.patient, recording_id))["url"])
    claims = claims_of(ticket)
    header = jwt.get_unverified_header(ticket)
    forged = [
        # The right claims signed with another key.
        jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256", headers=header),
        # Unsigned.
        jwt.encode(claims, None, algorithm="none", headers={"typ": "download+jwt"}),
        # Another user in the claims, the original signature kept.
        ".".join(
            [
                ticket.split(".")[0],
                base64.urlsafe_b64encode(json.dumps({**claims, "sub": setup.doctor["id"]}).encode())
                .rstrip(b"=")
                .decode(),
                ticket.split(".")[2],
            ]
        ),
        # Claims missing: no jti.
        jwt.encode(
            {k: v for k, v in claims.items() if k != "jti"},
            TEST_SECRET,
            algorithm="HS256",
            headers=header,
        ),
        # Another audience (the API's own), otherwise a perfect ticket.
        jwt.encode(
            {**claims, "aud": "telemed-api"}, TEST_SECRET, algorithm="HS256", headers=header
        ),
        ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BB"),
        "",
        "not-a-jwt",
    ]
    for bad in forged:
        await problem(await setup.client.get(f"{url}?ticket={bad}"), 401, "unauthorized")
    assert await setup.audit("recording.download") == []


async def test_access_tokens_and_tickets_never_stand_in_for_each_other(setup: Setup) -> None:
    recording_id = await setup.recording()
    url = f"/api/v1/recordings/{recording_id}/file"
    await problem(
        await setup.client.get(f"{url}?ticket={setup.patient['access_token']}"),
        401,
        "unauthorized",
    )
    ticket = ticket_of((await setup.link(setup.patient, recording_id))["url"])
    for path in (url, "/api/v1/me", f"/api/v1/recordings/{recording_id}/download-link"):
        method = setup.client.post if path.endswith("link") else setup.client.get
        await problem(await method(path, headers=bearer(ticket)), 401, "unauthorized")
    # Both at once is one credential too many (RFC 6750, section 2), whoever they name.
    await problem(
        await setup.client.get(
            f"{url}?ticket={ticket}", headers=bearer(setup.patient["access_token"])
        ),
        400,
        "malformed_request",
    )
    await problem(
        await setup.client.get(f"{url}?ticket={ticket}&ticket={ticket}"),
        400,
        "malformed_request",
    )


async def test_a_ticket_dies_with_its_sign_in(setup: Setup) -> None:
    recording_id = await setup.recording()
    link = await setup.link(setup.patient, recording_id)
    signed_out = await setup.client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": setup.patient["refresh_token"]},
        headers=bearer(setup.patient["access_token"]),
    )
    assert signed_out.status == 204, await signed_out.text()
    body = await problem(await setup.client.get(link["url"]), 401, "unauthorized")
    assert body["reason"] == "signed_out"
    assert await setup.audit("recording.download") == []


async def test_a_ticket_of_another_user_is_refused(setup: Setup) -> None:
    recording_id = await setup.recording()
    url = f"/api/v1/recordings/{recording_id}/file"
    stranger = await setup.accounts.create(Role.PATIENT)
    tokens = setup.tokens()
    # Signed by the server for a user who is no participant (in their live sign-in): 404, as
    # the file is for them, and the attempt is on record.
    theirs = tokens.issue_ticket(
        user_id=UserId(stranger["id"]),
        role=Role.PATIENT,
        session_id=setup.session_of(stranger),
        recording_id=recording_id,
        ttl=timedelta(seconds=60),
    )
    await problem(await setup.client.get(f"{url}?ticket={theirs.token}"), 404, "not_found")
    ((actor, outcome, _),) = await setup.audit("recording.download")
    assert (actor, outcome) == (stranger["id"], "denied")
    # A participant's name on somebody else's sign-in: refused before anything is looked up.
    borrowed = tokens.issue_ticket(
        user_id=UserId(setup.patient["id"]),
        role=Role.PATIENT,
        session_id=setup.session_of(stranger),
        recording_id=recording_id,
        ttl=timedelta(seconds=60),
    )
    await problem(await setup.client.get(f"{url}?ticket={borrowed.token}"), 401, "unauthorized")
    assert len(await setup.audit("recording.download")) == 1


async def test_the_document_describes_the_link_and_the_ticket(setup: Setup) -> None:
    document = await ok(await setup.client.get("/api/v1/openapi.json"))
    link = document["paths"]["/api/v1/recordings/{recording_id}/download-link"]["post"]
    assert set(link["responses"]) >= {"200", "401", "404", "409"}
    assert link["security"] == [{"bearer": []}]
    file = document["paths"]["/api/v1/recordings/{recording_id}/file"]["get"]
    assert file["security"] == [{"bearer": []}, {"ticket": []}]
    scheme = document["components"]["securitySchemes"]["ticket"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "query", "ticket")
