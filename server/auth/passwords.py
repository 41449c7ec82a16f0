"""Password hashing (argon2id) and the password-strength rule."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

MAX_PASSWORD_LENGTH = 256


class Passwords:
    """argon2id with the library's RFC 9106 defaults; hashing runs off the event loop."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Verified for unknown emails so that "no such user" costs as much as "wrong password".
        self._dummy_hash = self._hasher.hash("not-a-real-password-just-for-timing")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                password_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def password_problem(password: str, *, min_length: int, user_inputs: list[str]) -> str | None:
    """Why a password is too weak, or ``None``. Length plus a guessability estimate (zxcvbn),
    following NIST SP 800-63B: no composition rules, but no common or personal passwords."""
    if len(password) < min_length:
        return f"must be at least {min_length} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters"
    result = zxcvbn(password[:100], user_inputs=[u for u in user_inputs if u])
    if result["score"] < 3:
        hint = result["feedback"].get("warning") or "it is too easy to guess"
        return f"is too weak: {hint}".rstrip(".")
    return None
