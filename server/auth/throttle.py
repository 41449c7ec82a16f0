"""Sign-in throttling per client address and per account.

* Per address: at most ``max_failures`` failed sign-ins in ``window``, whatever the accounts.
* Per account: at most ``max_failures`` failures in ``window`` from browsers the account has
  never signed in from. A browser that once signed in successfully holds a device token
  (OWASP "device cookies") and is counted on its own, so an attacker hammering someone's
  account from elsewhere cannot lock the real user out.

Failures live in MongoDB, so every server process enforces the same counts.
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

    async def check(self, keys: list[str]) -> None:
        """Raise :class:`RateLimited` if any key has reached its limit."""
        now = self._clock()
        since = now - self._window
        for key in keys:
            recent = await self._failures.recent(key, since, self._max)
            if len(recent) >= self._max:
                oldest_counted = recent[self._max - 1]
                retry = (oldest_counted + self._window - now).total_seconds()
                raise RateLimited(
                    "too many failed sign-ins; try again later", retry_after=max(retry, 1.0)
                )

    async def failed(self, keys: list[str]) -> None:
        await self._failures.record(keys, self._clock(), self._window)

    async def succeeded(self, keys: list[str]) -> None:
        await self._failures.clear(keys)
