"""Sign-in by phone with a one-time SMS code, and a mobile number on the account.

* A code is 6 digits from the system's CSPRNG, good for 5 minutes and 5 tries; only its
  HMAC-SHA256 under a server key is stored (a 6-digit code's plain hash is reversed by trying a
  million), compared in constant time, and spent by the first right answer.
* Asking for a code is throttled per number and per client address (an attempt is recorded,
  then counted: one atomic step across processes, as for the password sign-in).
* All numbers together get at most ``TELEMED_SMS_DAILY_LIMIT`` codes a day (UTC): many
  addresses asking for many numbers cannot run up the clinic's SMS bill (429
  ``sms_limit_reached``, the same for every number).
* The answer never tells whether a number has an account: the code is sent to any valid
  mobile number (the same code proves the number when it is added to an account), and a wrong,
  expired or unknown code or number get the same 401.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, time, timedelta

import phonenumbers
import structlog

from domain.clock import Clock
from domain.errors import InvalidInput, RateLimited, SmsLimitReached, Unauthorized
from domain.notifications import SIGN_IN_CODE_TEMPLATE, Language, sign_in_code_text
from domain.users import User
from server.http.problems import FieldError
from server.notifications.sms import SmsError, SmsProvider, SmsRequest
from storage.login_failures import LoginFailureRepository
from storage.mongo import Repositories

log = structlog.get_logger(__name__)

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
# Codes one number may be sent, and one address may ask for, in the window.
PER_PHONE = 5
PER_ADDRESS = 20
WINDOW = timedelta(hours=1)
DEFAULT_REGION = "CN"  # a number written without +country code is a mainland one


def normalize_phone(value: str, field: str = "phone") -> str:
    """The number in E.164 (``+8613800138000``), or 422 naming ``field``: only valid mobile
    (or fixed-or-mobile) numbers, since only they receive texts."""
    problem = "is not a valid mobile number"
    try:
        number = phonenumbers.parse(value, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        kind = phonenumbers.number_type(number)
        if kind in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidInput(
        f"{field} {problem}",
        details=[FieldError(field=field, message=problem, type="value_error")],
    )


class PhoneCodes:
    def __init__(
        self,
        repos: Repositories,
        *,
        sms: SmsProvider | None,
        templates: dict[str, str],
        key: bytes,
        clock: Clock,
        daily_limit: int = 1000,
    ) -> None:
        self._repos = repos
        self._sms = sms
        self._templates = templates
        self._key = key
        self._clock = clock
        self._attempts: LoginFailureRepository = repos.login_failures
        self._daily_limit = daily_limit  # TELEMED_SMS_DAILY_LIMIT

    def _hash(self, phone: str, code: str) -> str:
        return hmac.new(self._key, f"sms-code:{phone}:{code}".encode(), hashlib.sha256).hexdigest()

    async def _throttle(self, keys: list[tuple[str, int]]) -> None:
        """Record one request under each key, then count: past a key's limit, 429 (and the
        refused request is not counted)."""
        now = self._clock()
        reservation = await self._attempts.reserve([k for k, _ in keys], now, WINDOW)
        for key, limit in keys:
            recent = await self._attempts.recent(key, now - WINDOW, limit + 1)
            if len(recent) > limit:
                await self._attempts.release(reservation)
                retry = (recent[limit] + WINDOW - now).total_seconds()
                raise RateLimited(
                    "too many codes asked for; try again later", retry_after=max(retry, 1.0)
                )

    async def request(self, phone: str, *, client_ip: str, language: Language) -> int:
        """Send a new code to ``phone`` (E.164); returns its lifetime in seconds."""
        await self._throttle(
            [(f"sms:phone:{phone}", PER_PHONE), (f"sms:ip:{client_ip}", PER_ADDRESS)]
        )
        await self._take_from_daily_budget()
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        now = self._clock()
        await self._repos.sms_codes.put(
            phone, self._hash(phone, code), now=now, expires_at=now + CODE_TTL
        )
        if self._sms is None:
            log.warning("sms_code_not_sent", reason="no SMS provider")
        else:
            minutes = int(CODE_TTL.total_seconds() // 60)
            try:
                await self._sms.send(
                    SmsRequest(
                        phone=phone,
                        template=self._templates.get(SIGN_IN_CODE_TEMPLATE, ""),
                        params={"code": code},
                        text=sign_in_code_text(code, minutes, language),
                    )
                )
            except SmsError as exc:  # the same answer: nothing about the number is told
                log.warning("sms_code_send_failed", error=str(exc))
        return int(CODE_TTL.total_seconds())

    async def _take_from_daily_budget(self) -> None:
        """Count this text against the clinic's day (UTC); 429 ``sms_limit_reached`` once the
        day's ``TELEMED_SMS_DAILY_LIMIT`` is used up. The count is one conditional increment
        in the database, so concurrent requests on any number of nodes cannot overrun it."""
        now = self._clock()
        midnight = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=UTC)
        taken = await self._repos.sms_budget.take(
            now.date().isoformat(),
            limit=self._daily_limit,
            expires_at=midnight + timedelta(days=2),
        )
        if not taken:
            log.warning("sms_daily_limit_reached", limit=self._daily_limit)
            raise SmsLimitReached(
                "the clinic's text messages for today are used up; try again tomorrow or "
                "sign in with e-mail and password",
                retry_after=max((midnight - now).total_seconds(), 1.0),
            )

    async def check(self, phone: str, code: str) -> None:
        """Spend the number's code if ``code`` is it; else 401 (one answer for every case)."""
        wrong = Unauthorized("wrong or expired code")
        stored = await self._repos.sms_codes.try_once(
            phone, now=self._clock(), max_attempts=MAX_ATTEMPTS
        )
        given = self._hash(phone, code)
        if stored is None or not hmac.compare_digest(stored.code_hash, given):
            raise wrong
        if not await self._repos.sms_codes.spend(phone, stored.code_hash):
            raise wrong  # another request spent it first

    async def sign_in_user(self, phone: str, code: str) -> User:
        """The account this number belongs to, once its code is spent; 401 otherwise."""
        await self.check(phone, code)
        user = await self._repos.users.get_by_phone(phone)
        if user is None:
            raise Unauthorized("wrong or expired code")
        return user
