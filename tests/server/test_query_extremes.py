"""Property: every query parameter of the OpenAPI document, given extreme values of its type
(huge and negative integers, far dates with odd offsets, forged cursors, unicode, empty,
repeated), never makes the real server answer 5xx (issue 22).

One live server for every example (the module-scoped ``live`` of the schemathesis test: the real
app on a real socket, on the real database, with a seeded clinic); examples are bounded and the
deadline is off, so the test stays fast and deterministic enough under load.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.test_openapi_fuzz import DOCUMENT, LiveServer, live

__all__ = ["live"]  # the fixture, imported for pytest

INT64 = 2**63
INTEGERS = [
    "0",
    "-1",
    str(-INT64 - 1),
    str(INT64 - 1),
    str(INT64),
    str(2**64),
    "9" * 400,
    "1e309",
    "-0",
    "0x10",
    " 7",
    "NaN",
    "",
]
ODD_TEXT = [
    "",
    " ",
    "\x00",
    "\u202e",
    "\u200b",
    "%",
    "%ff",
    "王" * 90,
    "a" * 600,
    "\udcff"[:0],
    "😀",
]
# The ends of Python's datetime range, one offset away from overflowing it.
EDGE_TIMES = [
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999-23:59",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00+23:59",
]
SCOPES = ["doctors", "slots", "appointments", "notes", "vitals", "reminders", "audit", "x"]


def _years() -> st.SearchStrategy[int]:
    return st.sampled_from([1, 1899, 1900, 2026, 2999, 3000, 9999])


@st.composite
def far_times(draw: st.DrawFn) -> str:
    """Times at the edges: first and last days of far years, the first and last second of a
    day, offsets up to a minute short of a day either way (and none)."""
    year = draw(_years())
    day = draw(st.sampled_from(["01-01", "12-31", "02-29", "06-15"]))
    time = draw(st.sampled_from(["00:00:00", "23:59:59", "12:00:00", "23:59:59.999999"]))
    offset_minutes = draw(st.sampled_from([-(24 * 60 - 1), -60, -1, 1, 24 * 60 - 1]))
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    zone = draw(st.sampled_from(["Z", f"{sign}{hours:02d}:{minutes:02d}", ""]))
    return f"{year:04d}-{day}T{time}{zone}"


@st.composite
def forged_cursors(draw: st.DrawFn) -> str:
    kind, value = draw(
        st.sampled_from([("d", None), ("n", None), ("s", None), ("n", INT64), ("d", 5), ("x", "y")])
    )
    if kind == "d" and value is None:
        value = draw(far_times())
    elif kind == "s":
        value = draw(st.sampled_from(ODD_TEXT))
    data = {
        "s": draw(st.sampled_from(SCOPES)),
        "k": kind,
        "v": value,
        "i": draw(st.sampled_from(["", "0" * 24, "x" * 200])),
    }
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _kind(schema: dict[str, Any]) -> str:
    options = schema.get("anyOf", [schema])
    for option in options:
        if option.get("type") == "integer":
            return "integer"
        if option.get("format") == "date-time":
            return "date-time"
    return "string"


def values_for(name: str, schema: dict[str, Any]) -> st.SearchStrategy[str]:
    kind = _kind(schema)
    anything = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=40))
    if kind == "integer":
        return st.one_of(st.sampled_from(INTEGERS), st.integers().map(str), anything)
    if kind == "date-time":
        return st.one_of(st.sampled_from(EDGE_TIMES), far_times(), anything)
    if name == "cursor":
        return st.one_of(forged_cursors(), anything)
    return anything


OPERATIONS = [
    (method.upper(), path, [p for p in op.get("parameters", []) if p["in"] == "query"])
    for path, methods in DOCUMENT["paths"].items()
    for method, op in methods.items()
    if any(p["in"] == "query" for p in op.get("parameters", []))
]


@st.composite
def requests_(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, str]]]:
    """One operation; one of its query parameters (sometimes two) with an extreme value of its
    type, sometimes repeated; the others left out, so the extreme value is what gets checked."""
    method, path, parameters = draw(st.sampled_from(OPERATIONS))
    chosen = draw(st.lists(st.sampled_from(parameters), min_size=1, max_size=2, unique_by=str))
    query: list[tuple[str, str]] = []
    for parameter in chosen:
        repeats = draw(st.sampled_from([1, 1, 1, 2]))
        strategy = values_for(parameter["name"], parameter["schema"])
        query += [(parameter["name"], draw(strategy)) for _ in range(repeats)]
    return method, path, query


def test_no_query_value_makes_the_server_fail(live: LiveServer) -> None:
    def url_of(path: str) -> str:
        def real(match: re.Match[str]) -> str:
            return live.ids.get(match.group(1), "0123456789abcdef01234567")

        return live.url + re.sub(r"\{([^}]+)\}", real, path)

    @settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(requests_())
    def check(request: tuple[str, str, list[tuple[str, str]]]) -> None:
        method, path, query = request
        who = "admin" if path.startswith("/api/v1/admin") else "doctor"
        response = live.session.request(
            method, url_of(path), params=query, headers=live.auth(who), timeout=30
        )
        assert response.status_code < 500, (method, path, query, response.text)

    check()
