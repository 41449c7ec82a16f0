"""The audit chain's canonical encoding (RFC 8785 JCS, storage/canonical.py): the same entry
always gives the same bytes, different entries never do, and what cannot round-trip is refused."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import bson
import pytest
from bson.codec_options import CodecOptions

from storage.audit import entry_hash
from storage.canonical import (
    CanonicalizationError,
    canonical_datetime,
    canonical_json,
    storable,
)


def test_key_order_does_not_matter_and_keys_sort_by_utf16_code_units() -> None:
    assert canonical_json({"b": 1, "a": 2}) == canonical_json({"a": 2, "b": 1}) == b'{"a":2,"b":1}'
    # RFC 8785 section 3.2.3's example: a non-BMP key sorts by its surrogates (0xD83D) before
    # U+FB33, although its code point is larger.
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    encoded = canonical_json(dict.fromkeys(keys, 0)).decode()
    positions = [encoded.index(k if k != "\r" else "\\r") for k in keys]
    order = [k for _, k in sorted(zip(positions, keys, strict=True))]
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_unicode_is_never_normalised_and_non_bmp_is_raw_utf8() -> None:
    nfc = unicodedata.normalize("NFC", "café 医生")
    nfd = unicodedata.normalize("NFD", "café 医生")
    assert nfc != nfd
    assert canonical_json({"t": nfc}) != canonical_json({"t": nfd})
    assert entry_hash({"t": nfc}) != entry_hash({"t": nfd})
    assert canonical_json({"t": "\U0001f600"}) == b'{"t":"\xf0\x9f\x98\x80"}'


def test_strings_carry_only_the_mandatory_escapes() -> None:
    text = 'a"b\\c/d\n\t\x01\u2028e'
    assert canonical_json({"t": text}) == b'{"t":"a\\"b\\\\c/d\\n\\t\\u0001\xe2\x80\xa8e"}'


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (1, b"1"),
        (1.0, b"1"),
        (-0.0, b"0"),
        (0.1, b"0.1"),
        (1e21, b"1e+21"),
        (1e-7, b"1e-7"),
        (123456789012.5, b"123456789012.5"),
        (2**53 - 1, b"9007199254740991"),
        (-(2**53 - 1), b"-9007199254740991"),
        (True, b"true"),
        (None, b"null"),
    ],
)
def test_numbers_and_literals_as_ecmascript_prints_them(value: object, encoded: bytes) -> None:
    assert canonical_json({"n": value}) == b'{"n":' + encoded + b"}"


@pytest.mark.parametrize(
    "value", [2**53, -(2**53), 2**63 - 1, float("nan"), float("inf"), b"bytes", {1, 2}, object()]
)
def test_what_cannot_round_trip_is_refused(value: object) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json({"v": value})


def test_keys_must_be_strings() -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json({"d": {1: "one"}})


def test_datetimes_are_utc_with_milliseconds() -> None:
    moment = datetime(2026, 3, 2, 8, 3, 4, 123456, tzinfo=timezone(timedelta(hours=8)))
    assert canonical_datetime(moment) == "2026-03-02T00:03:04.123Z"
    # The same instant in another zone, or naive (taken as UTC), is the same string.
    assert canonical_datetime(moment.astimezone(UTC)) == "2026-03-02T00:03:04.123Z"
    assert canonical_datetime(datetime(2026, 3, 2, 0, 3, 4, 123999)) == "2026-03-02T00:03:04.123Z"
    assert canonical_datetime(datetime(2026, 3, 2, tzinfo=UTC)) == "2026-03-02T00:00:00.000Z"
    assert storable(moment) == datetime(2026, 3, 2, 0, 3, 4, 123000, tzinfo=UTC)


def test_nested_details_and_arrays() -> None:
    doc = {"details": {"z": [1, (2, 3)], "a": {"y": None, "x": "文"}}}
    assert canonical_json(doc) == '{"details":{"a":{"x":"文","y":null},"z":[1,[2,3]]}}'.encode()


def test_a_stored_entry_hashes_the_same_after_a_bson_round_trip() -> None:
    entry = storable(
        {
            "_id": "65f000000000000000000001",
            "seq": 7,
            "prev_hash": "0" * 64,
            "at": datetime(2026, 3, 2, 0, 3, 4, 123456, tzinfo=UTC),
            "details": {
                "count": 2**40,
                "ratio": 0.5,
                "when": datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8))),
                "ids": ("a", "b"),
                "text": "e\u0301 \U0001f600",
            },
        }
    )
    back = bson.decode(bson.encode(entry), codec_options=CodecOptions(tz_aware=True))
    assert entry_hash(back) == entry_hash(entry)
    expected = hashlib.sha256(canonical_json(entry)).hexdigest()
    assert entry_hash(entry) == expected
    assert entry_hash({**entry, "hash": "anything"}) == expected  # the hash is not hashed
