"""Account use cases: register, sign in, refresh with rotation and reuse detection, sign out,
authenticate an access token."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from domain.availability import zone
from domain.clock import Clock
from domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from domain.ids import UserId, new_id
from domain.text import text_problem
from domain.users import Principal, Role, User
from server.auth.passwords import Passwords, password_problem
from server.auth.session_watch import SessionWatch
from server.auth.throttle import LoginThrottle
from server.auth.tokens import (
    AccessClaims,
    IssuedTicket,
    TicketClaims,
    TokenService,
    hash_refresh_token,
    new_refresh_token,
)
from server.http.problems import FieldError
from server.settings import AuthSettings
from storage.mongo import Repositories
from storage.sessions import Session
from storage.users import phone_email

log = structlog.get_logger(__name__)

DEVICE_TOKEN_TTL = timedelta(days=180)
# Session activity is written at most this often, so each request does not cost a write.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    device_token: str | None = None


def end_reason(session: Session) -> str:
    """Why a revoked sign-in ended, in the contract's words."""
    return {"inactivity": "inactivity", "logout": "signed_out"}.get(
        session.revoked_reason or "", "revoked"
    )


class RefreshTokenReused(Unauthorized):
    """A rotated refresh token came back: someone holds a copy, and its sign-in is revoked
    (``session_id``, for ending its sockets; not shown to the caller)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(
            "refresh token already used; the session has been revoked",
            details={"reason": "revoked"},
        )
        self.session_id = session_id


class AccountService:
    def __init__(
        self,
        repos: Repositories,
        *,
        tokens: TokenService,
        passwords: Passwords,
        settings: AuthSettings,
        clock: Clock,
    ) -> None:
        self._repos = repos
        self.tokens = tokens
        self._passwords = passwords
        self._settings = settings
        self._clock = clock
        self._watch = SessionWatch(
            repos.sessions, problem=self._session_problem, touch_interval=TOUCH_INTERVAL
        )
        self._throttle = LoginThrottle(
            repos.login_failures,
            max_failures=settings.login_max_failures,
            window=timedelta(seconds=settings.login_window),
            clock=clock,
        )

    # ------------------------------------------------------------------ accounts

    async def create_user(
        self,
        *,
        email: str,
        password: str,
        name: str,
        role: Role,
        specialty: str | None = None,
        timezone: str = "UTC",
    ) -> User:
        problem = password_problem(
            password,
            min_length=self._settings.password_min_length,
            user_inputs=[email, email.split("@")[0], name],
        )
        if problem is not None:
            raise InvalidInput(
                f"password {problem}",
                details=[FieldError(field="password", message=problem, type="weak_password")],
            )
        self.check_profile(name=name, timezone=timezone, specialty=specialty)
        if role is Role.DOCTOR and not specialty:
            raise InvalidInput(
                "a doctor needs a specialty",
                details=[FieldError(field="specialty", message="required", type="missing")],
            )
        if role is not Role.DOCTOR and specialty:
            specialty = None
        return await self._repos.users.create(
            email=email,
            name=name,
            role=role,
            password_hash=await self._passwords.hash(password),
            created_at=self._clock(),
            specialty=specialty,
            timezone=timezone,
        )

    @staticmethod
    def check_profile(*, name: str, timezone: str, specialty: str | None = None) -> None:
        """422 naming the field for a name, specialty or time zone an account cannot have."""
        try:
            zone(timezone)
        except InvalidInput as exc:
            raise InvalidInput(
                exc.message,
                details=[FieldError(field="timezone", message=exc.message, type="value_error")],
            ) from None
        for field, value in (("name", name), ("specialty", specialty)):
            shown = None if value is None else text_problem(value, multiline=False)
            if shown is not None:  # the REST models check it too; the command line does not
                raise InvalidInput(
                    f"{field} {shown}",
                    details=[FieldError(field=field, message=shown, type="value_error")],
                )
        if not name.strip():
            raise InvalidInput(
                "a name is required",
                details=[FieldError(field="name", message="required", type="missing")],
            )

    async def register_by_phone(self, *, phone: str, name: str, timezone: str) -> tuple[User, bool]:
        """A patient registering with a mobile number whose code the caller has just spent.
        Returns the account and whether it existed: a number that already has an account
        gets that account (the code proved the caller holds the number, as for a sign-in by
        phone), so the answer is the same whether or not the number was known."""
        self.check_profile(name=name, timezone=timezone)
        existing = await self._repos.users.get_by_phone(phone)
        if existing is not None:
            return existing, True
        user_id = new_id()
        try:
            user = await self._repos.users.create(
                user_id=user_id,
                email=phone_email(user_id),
                name=name,
                role=Role.PATIENT,
                password_hash="",  # no password: it signs in by phone
                created_at=self._clock(),
                timezone=timezone,
                phone=phone,
            )
        except Conflict:  # registered by another request meanwhile
            existing = await self._repos.users.get_by_phone(phone)
            if existing is None:
                raise
            return existing, True
        log.info("register_by_phone", user_id=user.id)
        return user, False

    async def register(
        self, *, email: str, password: str, name: str, timezone: str
    ) -> tuple[User, User | None]:
        """A patient registering. Returns the account as the caller is to see it, and the
        account that already held the address, if one did.

        A taken address gets the same answer as a free one, so the answer does not tell
        anyone who has an account at this clinic: the same checks run (the password's
        strength, the time zone), the password is hashed as for a new account (the answer
        takes as long), nothing is stored, and the caller sees a new account's shape with an
        id no account has. The caller is to record the attempt (there is no mail to tell
        the owner)."""
        try:
            user = await self.create_user(
                email=email, password=password, name=name, role=Role.PATIENT, timezone=timezone
            )
        except Conflict:
            existing = await self._repos.users.get_by_email(email)
            if existing is None:  # deleted in between: a plain conflict
                raise
            shown = User(
                id=UserId(new_id()),
                email=email.lower(),
                name=name,
                role=Role.PATIENT,
                specialty=None,
                password_hash="",
                created_at=self._clock(),
                timezone=timezone,
            )
            log.info("register_email_taken", user_id=existing.id)
            return shown, existing
        return user, None

    async def give_sign_in(
        self, person: User, *, holder_id: str, email: str, password: str
    ) -> User:
        """A managed family member's own sign-in (the invitation they accepted): the password
        they chose, under the same rule as any; they are no longer managed from now on."""
        problem = password_problem(
            password,
            min_length=self._settings.password_min_length,
            user_inputs=[email, email.split("@")[0], person.name],
        )
        if problem is not None:
            raise InvalidInput(
                f"password {problem}",
                details=[FieldError(field="password", message=problem, type="weak_password")],
            )
        updated = await self._repos.users.give_sign_in(
            person.id,
            email=email,
            password_hash=await self._passwords.hash(password),
            holder_id=holder_id,
        )
        if updated is None:  # accepted twice at once: the other one won
            raise NotFound("this invitation is not valid any more")
        log.info("family_member_signs_in", user_id=person.id, formerly_managed_by=holder_id)
        return updated

    async def get_user(self, user_id: str) -> User:
        user = await self._repos.users.get(user_id)
        if user is None:
            raise Unauthorized("this account no longer exists")
        if not user.active:
            raise _deactivated()
        return user

    async def find_user(self, *, user_id: str | None = None, email: str | None = None) -> User:
        """An account by id or by e-mail (for an admin), active or not."""
        users = self._repos.users
        user = await (users.get(user_id) if user_id else users.get_by_email(email or ""))
        if user is None:
            raise NotFound("no such user")
        return user

    async def deactivate(self, user: User, *, by: UserId | None) -> tuple[User, list[str]]:
        """Deactivate the account: it can no longer sign in, and every sign-in it has is
        revoked now, so its refresh and access tokens stop working at once (each access token
        is checked against its sign-in on every request and handshake). Returns the account
        and the revoked sign-ins (their sockets are the caller's to end, on every node).

        The mark is written before the revocation, and a sign-in made concurrently reads the
        mark again after it is stored (:meth:`login`), so no sign-in outlives the call."""
        if by is not None and user.id == by:
            raise Conflict("an admin cannot deactivate their own account")
        now = self._clock()
        updated = await self._repos.users.set_deactivated(user.id, user.deactivated_at or now)
        if updated is None:
            raise NotFound("no such user")
        ended = await self._repos.sessions.revoke_all_for_user(user.id, now, "deactivated")
        log.info("account_deactivated", user_id=user.id, by=by, sessions=len(ended))
        return updated, ended

    async def reactivate(self, user: User) -> User:
        """Let a deactivated account sign in again (its old sign-ins stay revoked)."""
        updated = await self._repos.users.set_deactivated(user.id, None)
        if updated is None:
            raise NotFound("no such user")
        log.info("account_reactivated", user_id=user.id)
        return updated

    # ------------------------------------------------------------------ sign in

    async def login(
        self, *, email: str, password: str, client_ip: str, device_token: str | None
    ) -> IssuedTokens:
        email = email.strip().lower()
        user = await self._repos.users.get_by_email(email)
        device = self.tokens.device_owner(device_token)
        address_key = LoginThrottle.address_key(client_ip)
        if user is not None and device is not None and device[0] == user.id:
            account_key = LoginThrottle.device_key(user.id, device[1])
        else:
            account_key = LoginThrottle.account_key(email)
        keys = [address_key, account_key]
        reservation = await self._throttle.attempt(keys)

        # A family member without a sign-in of their own (managed, no password) never signs
        # in: their account is checked like an unknown address.
        can_sign_in = user is not None and user.managed_by is None and bool(user.password_hash)
        stored = user.password_hash if user is not None and can_sign_in else None
        ok = await self._passwords.verify(stored, password)
        if (
            not ok or user is None or not can_sign_in
        ):  # the reserved attempt stays recorded as a failure
            log.info("login_failed", email_known=user is not None, client_ip=client_ip)
            raise Unauthorized("wrong email or password")

        if not user.active:  # told only to whoever knows the password
            raise _deactivated()
        await self._throttle.succeeded(reservation, [account_key])
        if self._passwords.needs_rehash(user.password_hash):
            await self._repos.users.set_password_hash(user.id, await self._passwords.hash(password))
        return await self.sign_in(user)

    async def sign_in(self, user: User) -> IssuedTokens:
        """A new sign-in for a user whose identity was proven (a password, an SMS code): the
        same tokens whatever the proof. A deactivated account is refused."""
        if not user.active:
            raise _deactivated()
        session = await self._repos.sessions.create(
            user_id=user.id,
            now=self._clock(),
            ttl=timedelta(seconds=self._settings.refresh_token_ttl),
        )
        # Deactivated while this sign-in was being made: the deactivation's revocation may
        # have run before the sign-in was stored, so the mark is read again after it.
        current = await self._repos.users.get(user.id)
        if current is None or not current.active:
            await self._repos.sessions.revoke(session.id, self._clock(), "deactivated")
            raise _deactivated()
        issued = await self._issue(user, session)
        new_device = self.tokens.issue_device(user_id=user.id, ttl=DEVICE_TOKEN_TTL)
        log.info("login", user_id=user.id, session_id=session.id)
        return IssuedTokens(
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            expires_in=issued.expires_in,
            user=user,
            device_token=new_device,
        )

    async def refresh(self, refresh_token: str) -> IssuedTokens:
        now = self._clock()
        token_hash = hash_refresh_token(refresh_token)
        token = await self._repos.refresh_tokens.consume(token_hash, now)
        if token is None:
            seen = await self._repos.refresh_tokens.get(token_hash)
            if seen is not None:
                # A rotated token came back: someone holds a copy. End the whole sign-in.
                await self._repos.sessions.revoke(seen.session_id, now, "refresh_token_reuse")
                log.warning("refresh_token_reuse", session_id=seen.session_id, user_id=seen.user_id)
                raise RefreshTokenReused(seen.session_id)
            raise Unauthorized("invalid refresh token")
        if token.expires_at <= now:
            raise Unauthorized("refresh token expired")
        session = await self._live_session(token.session_id)
        user = await self.get_user(token.user_id)
        return await self._issue(user, session)

    async def logout(self, *, refresh_token: str | None, principal: Principal | None) -> list[str]:
        """Revoke the sign-in named by the refresh token (or by the access token's session).
        Returns the ids of the sessions it names (their sockets are to go too)."""
        now = self._clock()
        ended: list[str] = []
        if refresh_token is not None:
            token = await self._repos.refresh_tokens.get(hash_refresh_token(refresh_token))
            if token is not None and (principal is None or principal.user_id == token.user_id):
                await self._repos.sessions.revoke(token.session_id, now, "logout")
                ended.append(token.session_id)
        if principal is not None:
            await self._repos.sessions.revoke(principal.session_id, now, "logout")
            ended.append(principal.session_id)
        return sorted(set(ended))

    async def identify(self, access_token: str) -> Principal:
        """:meth:`authenticate` without counting it as activity: a client renewing its token
        on its own (the hub's ``auth:refresh``) is not a person doing something."""
        return await self.authenticate(access_token, activity=False)

    async def live_sessions(
        self, session_ids: Collection[str], *, active: Collection[str]
    ) -> set[str]:
        """For the hub's sockets: record activity of the ``active`` sign-ins, then return which
        of ``session_ids`` are live by the same rules as :meth:`authenticate` (an idle one is
        revoked here, as it would be there). Reads only what may have changed
        (:class:`server.auth.session_watch.SessionWatch`)."""
        return await self._watch.live(session_ids, active=active, now=self._clock())

    # ------------------------------------------------------------------ tokens

    async def authenticate(self, access_token: str, *, activity: bool = True) -> Principal:
        """Verify an access token and that its sign-in is still live; record activity (unless
        ``activity`` is false)."""
        claims = self.tokens.decode_access(access_token)
        session = await self._live_session(claims.session_id)
        if session.user_id != claims.user_id:
            raise Unauthorized("invalid token")
        if activity:
            await self._repos.sessions.touch(session.id, self._clock(), min_interval=TOUCH_INTERVAL)
        return _principal(claims)

    # ------------------------------------------------------------------ download tickets

    def issue_ticket(self, caller: Principal, recording_id: str) -> IssuedTicket:
        """A short-lived ticket for one recording's file, bound to the caller's sign-in (the
        caller's right to the recording is the recordings service's to check first)."""
        return self.tokens.issue_ticket(
            user_id=caller.user_id,
            role=caller.role,
            session_id=caller.session_id,
            recording_id=recording_id,
            ttl=timedelta(seconds=self._settings.download_ticket_ttl),
        )

    async def redeem_ticket(self, ticket: str, recording_id: str) -> Principal:
        """The caller a download ticket stands for, checked as strictly as an access token: its
        signature, type, audience and times, the recording it names, and that its sign-in is
        still live. Fetching a file is not counted as activity (asking for the link was)."""
        claims = self.tokens.decode_ticket(ticket)
        if claims.recording_id != recording_id:
            raise Unauthorized("this ticket is for another recording")
        session = await self._live_session(claims.session_id)
        if session.user_id != claims.user_id:
            raise Unauthorized("invalid ticket")
        return _principal(claims)

    async def _live_session(self, session_id: str) -> Session:
        now = self._clock()
        session = await self._repos.sessions.get(session_id)
        problem = "ended" if session is None else self._session_problem(session, now)
        if problem == "inactivity":
            assert session is not None
            await self._repos.sessions.revoke(session.id, now, "inactivity")
            raise Unauthorized(
                "signed out after a period of inactivity", details={"reason": "inactivity"}
            )
        if problem == "expired":
            raise Unauthorized(
                "this sign-in has expired; sign in again", details={"reason": "expired"}
            )
        if problem is not None or session is None:
            reason = "session_ended" if session is None else end_reason(session)
            raise Unauthorized("this sign-in has ended; sign in again", details={"reason": reason})
        return session

    async def end_reasons(self, session_ids: Collection[str]) -> dict[str, str]:
        """Why each of these sign-ins is over (PROTOCOL: the ``reason`` of ``auth:expired`` and
        of a 401): ``inactivity``, ``signed_out``, ``revoked``, ``expired`` or ``session_ended``."""
        now = self._clock()
        found = await self._repos.sessions.get_many(sorted(session_ids))
        reasons: dict[str, str] = {}
        for session_id in session_ids:
            session = found.get(session_id)
            problem = None if session is None else self._session_problem(session, now)
            if session is None:
                reasons[session_id] = "session_ended"
            elif problem in ("inactivity", "expired"):
                reasons[session_id] = problem
            elif problem == "ended":
                reasons[session_id] = end_reason(session)
        return reasons

    def _session_problem(self, session: Session, now: datetime) -> str | None:
        """Why a sign-in is no longer live ("ended", "expired", "inactivity"), or None."""
        if session.revoked:
            return "ended"
        if session.expires_at <= now:
            return "expired"
        if now - session.last_used_at > timedelta(seconds=self._settings.idle_timeout):
            return "inactivity"
        return None

    async def _issue(self, user: User, session: Session) -> IssuedTokens:
        now = self._clock()
        refresh = new_refresh_token()
        await self._repos.refresh_tokens.insert(
            token_hash=hash_refresh_token(refresh),
            session_id=session.id,
            user_id=UserId(user.id),
            issued_at=now,
            expires_at=session.expires_at,
        )
        await self._repos.sessions.touch(session.id, now, min_interval=timedelta(0))
        access = self.tokens.issue_access(user_id=user.id, role=user.role, session_id=session.id)
        return IssuedTokens(
            access_token=access,
            refresh_token=refresh,
            expires_in=self.tokens.access_ttl,
            user=user,
        )


def _deactivated() -> Unauthorized:
    return Unauthorized(
        "this account has been deactivated; ask the clinic",
        details={"reason": "account_deactivated"},
    )


def _principal(claims: AccessClaims | TicketClaims) -> Principal:
    """The caller a verified token (an access token or a download ticket) stands for."""
    return Principal(
        user_id=claims.user_id,
        role=claims.role,
        session_id=claims.session_id,
        token_id=claims.token_id,
        expires_at=claims.expires_at,
    )
