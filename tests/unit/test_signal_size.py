"""The hub skips computing a signal's size (SDP bytes plus the rest as JSON) when the whole
payload, as JSON, is within the cap: that shortcut is only sound if the size is never more
than the payload's JSON, for any payload that validates, and the data relayed as received is
what the model holds."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling.acks import parse_event
from signaling.models import SignalIn

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)

# Well-formed SDP (signaling/sdp.py) whose values hold quotes, backslashes and non-ASCII text.
sdp_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=60
)
sdps = st.lists(sdp_values, max_size=6).map(
    lambda values: "v=0\r\n" + "".join(f"a={v}\r\n" for v in values)
)
CANDIDATE = "candidate:842163049 1 udp 1677729535 203.0.113.7 61427 typ srflx"
ascii_tokens = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=8)
candidates = (
    st.just(CANDIDATE)
    | st.just("")
    | st.fixed_dictionaries(
        {"candidate": st.just(CANDIDATE)},
        optional={
            "sdpMid": ascii_tokens,
            "sdpMLineIndex": st.integers(0, 7),
            "usernameFragment": ascii_tokens,
        },
    )
)

signal_data = st.fixed_dictionaries(
    {"type": st.sampled_from(["offer", "answer", "candidate", "restart", "bye"])},
    optional={"sdp": sdps, "candidate": candidates, "extra": json_values},
).filter(lambda d: d["type"] not in ("offer", "answer") or bool(d.get("sdp")))


# Generation can be slow on a busy shared machine; the property is what is checked.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signal_data)
def test_signal_size_never_exceeds_the_payload_json(data: dict[str, Any]) -> None:
    payload = {"appointment_id": "a" * 24, "data": data}
    parsed, received = parse_event(SignalIn, (payload,), max_bytes=10**9)
    assert received.size == len(orjson.dumps(payload))
    assert parsed.data.size() <= received.size
    # relayed as received, which is what the strictly validated model holds
    assert received.raw["data"] == parsed.data.model_dump(mode="json", exclude_unset=True)
