"""Sign-in throttling per client address and per account.

* Per address: at most ``max_failures`` failed sign-ins in ``window``, whatever the accounts.
* Per account: at most ``max_failures`` failures in ``window`` from browsers the account has
  never signed in from. A browser that once signed in successfully holds a device token
  (OWASP "device cookies") and is counted on its own, so an attacker hammering someone's
  account from elsewhere cannot lock the real user out.

Failures live in MongoDB, so every server process enforces the same counts; an attempt is
recorded before its password is checked (:meth:`LoginThrottle.attempt`), so concurrent
attempts cannot outrun the count.
"""

from __future__ import annotations

from datetime import timedelta

from domain.clock import Clock
from domain.errors import RateLimited
from storage.login_failures import LoginFailureRepository


class LoginThrottle:
    def __init__(
        self,
        failures: LoginFailureRepository,
        *,
        max_failures: int,
        window: timedelta,
        clock: Clock,
    ) -> None:
        self._failures = failures
        self._max = max_failures
        self._window = window
        self._clock = clock

    @staticmethod
    def address_key(ip: str) -> str:
        return f"ip:{ip}"

    @staticmethod
    def account_key(email: str) -> str:
        return f"account:{email.lower()}"

    @staticmethod
    def device_key(user_id: str, device_id: str) -> str:
        return f"device:{user_id}:{device_id}"

    async def attempt(self, keys: list[str]) -> list[str]:
        """Reserve one attempt under every key, then check the counts: one atomic step, so
        concurrent attempts cannot all pass a check made before any of them is recorded. Each
        insert is visible to every later count, whichever process makes it, so at most
        ``max_failures`` attempts in the window get through. Raises :class:`RateLimited` (and
        releases the reservation: a refused attempt is not a failure) past the limit. Returns
        the reservation, for :meth:`succeeded`; a failure simply keeps it."""
        now = self._clock()
        reservation = await self._failures.reserve(keys, now, self._window)
        since = now - self._window
        for key in keys:
            recent = await self._failures.recent(key, since, self._max + 1)
            if len(recent) > self._max:
                await self._failures.release(reservation)
                oldest_counted = recent[self._max]
                retry = (oldest_counted + self._window - now).total_seconds()
                raise RateLimited(
                    "too many failed sign-ins; try again later", retry_after=max(retry, 1.0)
                )
        return reservation

    async def succeeded(self, reservation: list[str], clear: list[str]) -> None:
        """The attempt was right: it is no failure, and the ``clear`` keys start afresh."""
        await self._failures.release(reservation)
        await self._failures.clear(clear)
