"""Alibaba Cloud SMS (短信服务, dysmsapi 2017-05-25): the ``SendSms`` operation over its RPC
API, signed with signature version 1.0 (HMAC-SHA1), as Alibaba Cloud documents it:

1. the parameters (common and the operation's, without ``Signature``) sorted by name, each
   name and value percent-encoded per RFC 3986 (``~`` kept; space as ``%20``) and joined
   ``name=value`` with ``&``: the canonicalized query string;
2. ``StringToSign = "GET&%2F&" + percentEncode(canonicalized query string)``;
3. ``Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))``, sent as one more
   parameter.

The answer is JSON; ``Code`` is ``OK`` on success.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp

from server.notifications.sms import SmsError, SmsRequest

ENDPOINT = "https://dysmsapi.aliyuncs.com/"
API_VERSION = "2017-05-25"
# Codes a retry will not fix (the number, the template or the account is wrong).
PERMANENT_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.INVALID_PARAMETERS",
        "isv.ACCOUNT_NOT_EXISTS",
        "isv.ACCOUNT_ABNORMAL",
        "isv.DENY_IP_RANGE",
        "InvalidAccessKeyId.NotFound",
        "SignatureDoesNotMatch",
    }
)


def percent_encode(value: str) -> str:
    return quote(value, safe="~")


def string_to_sign(params: Mapping[str, str], method: str = "GET") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def sign(params: Mapping[str, str], secret: str, method: str = "GET") -> str:
    digest = hmac.new(
        f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def provider_number(phone: str) -> str:
    """The number as dysmsapi takes it: mainland numbers without the country code, others as
    country code and number without the ``+``."""
    digits = phone.lstrip("+")
    return digits[2:] if phone.startswith("+86") else digits


class AliyunSmsProvider:
    name = "aliyun"

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        endpoint: str | None = None,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._id = access_key_id
        self._secret = access_key_secret
        self._sign_name = sign_name
        self._endpoint = endpoint or ENDPOINT
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._nonce = nonce

    def signed_params(self, request: SmsRequest) -> dict[str, str]:
        params = {
            "AccessKeyId": self._id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": provider_number(request.phone),
            "RegionId": "cn-hangzhou",
            "SignName": self._sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self._nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": request.template,
            "TemplateParam": json.dumps(request.params, ensure_ascii=False, sort_keys=True),
            "Timestamp": self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        params["Signature"] = sign(params, self._secret)
        return params

    async def send(self, request: SmsRequest) -> str:
        params = self.signed_params(request)
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.get(self._endpoint, params=params) as response,
            ):
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SmsError(f"aliyun: {type(exc).__name__}") from None
        code = str(body.get("Code", "")) if isinstance(body, dict) else ""
        if code != "OK":
            raise SmsError(
                f"aliyun: {code or 'no code'}", code=code, permanent=code in PERMANENT_CODES
            )
        return str(body.get("BizId", ""))
