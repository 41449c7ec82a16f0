"""Encryption at rest of the most sensitive fields (chat text, doctors' notes, documents' bytes:
``storage/documents.py`` seals them in frames), with PyMongo's
explicit client-side field level encryption (libmongocrypt, through pymongocrypt).

Off unless ``TELEMED_FIELD_ENCRYPTION_KEY_FILE`` names a **master key**: a local file of 96
random bytes (``head -c 96 /dev/urandom > key && chmod 600 key``) that only the server's user may
read. The master key never reaches the database: it wraps one **data key** (AES-256, made by
libmongocrypt on first start) stored in the ``telemed_keys`` key vault collection of the same
database under the name ``telemed-fields``, so a backup carries the wrapped data key with the
data and a restored database opens with the same master key file.

A sealed value is stored as BSON binary subtype 6, encrypted with
``AEAD_AES_256_CBC_HMAC_SHA_512-Random`` (a random IV: the same text twice gives two different
ciphertexts, so nothing can be matched or counted by value; nothing sealed is ever queried).
Reads open whatever is sealed and pass plain values through, so encryption can be turned on over
an existing database (older entries stay readable, and stay in the clear until rewritten); a
sealed value read without the key raises :class:`FieldEncryptionError` rather than showing
ciphertext as text.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from bson.binary import STANDARD, Binary
from bson.codec_options import CodecOptions
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.asynchronous.encryption import AsyncClientEncryption
from pymongo.encryption_shared import Algorithm
from pymongo.errors import PyMongoError

KEY_VAULT = "telemed_keys"
KEY_NAME = "telemed-fields"
MASTER_KEY_BYTES = 96
ENCRYPTED = 6  # BSON binary subtype of an encrypted value
ALGORITHM = Algorithm.AEAD_AES_256_CBC_HMAC_SHA_512_Random
PROBE = "telemed field encryption probe"


class FieldEncryptionError(Exception):
    """The master key is missing or wrong, or a sealed value cannot be opened."""


def read_master_key(path: Path) -> bytes:
    """The 96-byte local master key at ``path``; refused when missing, of another size, or
    readable by anyone but its owner."""
    try:
        mode = path.stat().st_mode
        key = path.read_bytes()
    except OSError as exc:
        raise FieldEncryptionError(
            f"TELEMED_FIELD_ENCRYPTION_KEY_FILE: cannot read {path} ({exc.strerror}); create it "
            f"with: head -c {MASTER_KEY_BYTES} /dev/urandom > {path} && chmod 600 {path}"
        ) from None
    if len(key) != MASTER_KEY_BYTES:
        raise FieldEncryptionError(
            f"TELEMED_FIELD_ENCRYPTION_KEY_FILE: {path} holds {len(key)} bytes, "
            f"not {MASTER_KEY_BYTES}"
        )
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise FieldEncryptionError(
            f"TELEMED_FIELD_ENCRYPTION_KEY_FILE: {path} may be read by others: chmod 600 {path}"
        )
    return key


def is_sealed(value: Any) -> bool:
    return isinstance(value, Binary) and value.subtype == ENCRYPTED


class FieldCipher:
    """Seals and opens field values with the clinic's data key."""

    def __init__(self, encryption: AsyncClientEncryption[Any], key_id: Binary) -> None:
        self._encryption = encryption
        self._key_id = key_id

    @classmethod
    async def open(
        cls, client: AsyncMongoClient[Any], database: str, master_key: bytes
    ) -> FieldCipher:
        """Find the data key in the key vault (creating it on first start: a unique index on
        its name lets one of two starting servers make it) and check the master key opens it."""
        vault = client[database][KEY_VAULT]
        await vault.create_index(
            "keyAltNames",
            unique=True,
            partialFilterExpression={"keyAltNames": {"$exists": True}},
            name="key_alt_names",
        )
        encryption: AsyncClientEncryption[Any] = AsyncClientEncryption(
            {"local": {"key": master_key}},
            f"{database}.{KEY_VAULT}",
            client,
            CodecOptions(uuid_representation=STANDARD),
        )
        try:
            key = await encryption.get_key_by_alt_name(KEY_NAME)
            if key is not None:
                key_id = key["_id"]
            else:
                try:
                    key_id = await encryption.create_data_key("local", key_alt_names=[KEY_NAME])
                except PyMongoError:  # another server made it first
                    made = await encryption.get_key_by_alt_name(KEY_NAME)
                    if made is None:
                        raise
                    key_id = made["_id"]
            cipher = cls(encryption, key_id)
            try:
                opened = await cipher.open_value(await cipher.seal(PROBE))
            except PyMongoError as exc:
                raise FieldEncryptionError(
                    "TELEMED_FIELD_ENCRYPTION_KEY_FILE: this master key does not open the data "
                    f"key {KEY_NAME!r} in {database}.{KEY_VAULT} (another clinic's key, or a "
                    f"new one over old data): {exc}"
                ) from None
            if opened != PROBE:
                raise FieldEncryptionError("field encryption does not round-trip")
            return cipher
        except BaseException:
            await encryption.close()
            raise

    async def seal(self, value: str) -> Binary:
        return await self._encryption.encrypt(value, ALGORITHM, key_id=self._key_id)

    async def seal_bytes(self, value: bytes) -> Binary:
        return await self._encryption.encrypt(value, ALGORITHM, key_id=self._key_id)

    async def seal_value(self, value: dict[str, Any]) -> Binary:
        return await self._encryption.encrypt(value, ALGORITHM, key_id=self._key_id)

    async def open_value(self, value: Binary) -> Any:
        return await self._encryption.decrypt(value)

    async def close(self) -> None:
        await self._encryption.close()


async def check_no_sealed_data(db: AsyncDatabase[Any]) -> None:
    """Refuse a database whose fields were sealed when no key is given (a server would fail on
    each of them): the key vault holds the data key once anything was sealed."""
    if await db[KEY_VAULT].find_one({"keyAltNames": KEY_NAME}, {"_id": 1}) is not None:
        raise FieldEncryptionError(
            f"the database {db.name!r} holds fields encrypted at rest (its {KEY_VAULT} key "
            "vault has the data key): set TELEMED_FIELD_ENCRYPTION_KEY_FILE to its master key"
        )


async def seal(cipher: FieldCipher | None, value: str, *, owner: str) -> str | Binary:
    """``value`` as it is stored in the document whose ``_id`` is ``owner``: when encryption is
    on, ``{owner, value}`` sealed together (so it opens only in that document), else as it is."""
    if cipher is None:
        return value
    return await cipher.seal_value({"owner": owner, "value": value})


async def reveal(cipher: FieldCipher | None, value: Any) -> Any:
    """A stored value as the application sees it: opened when sealed, else as it is."""
    if not is_sealed(value):
        return value
    if cipher is None:
        raise FieldEncryptionError(
            "a field is stored encrypted but TELEMED_FIELD_ENCRYPTION_KEY_FILE is not set"
        )
    try:
        return await cipher.open_value(value)
    except PyMongoError as exc:
        raise FieldEncryptionError(f"an encrypted field cannot be opened: {exc}") from None


async def reveal_fields(cipher: FieldCipher | None, doc: dict[str, Any], *names: str) -> None:
    """Open the sealed ``names`` of a stored document, in place; refuses a value sealed for
    another document (moved or copied there)."""
    for name in names:
        if not is_sealed(doc.get(name)):
            continue
        opened = await reveal(cipher, doc[name])
        if not isinstance(opened, dict) or opened.get("owner") != doc["_id"]:
            raise FieldEncryptionError(
                f"the encrypted {name} of {doc['_id']} was sealed for another document"
            )
        doc[name] = opened["value"]
