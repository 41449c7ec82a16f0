"""Tencent Cloud SMS (短信, API version 2021-01-11): the ``SendSms`` action, a JSON ``POST``
signed with TC3-HMAC-SHA256, as Tencent Cloud documents it ("Signature v3"):

1. CanonicalRequest = ``POST\\n/\\n\\n`` + the canonical headers (``content-type`` and
   ``host``, lower-case, ``name:value\\n`` each) + ``\\n`` + the signed header names
   (``content-type;host``) + ``\\n`` + hex(SHA-256(payload));
2. StringToSign = ``TC3-HMAC-SHA256\\n`` + timestamp + ``\\n`` + the credential scope
   ``<UTC date>/<service>/tc3_request`` + ``\\n`` + hex(SHA-256(CanonicalRequest));
3. the key is derived: HMAC-SHA256 of the date under ``"TC3" + SecretKey``, then of the service,
   then of ``tc3_request``; Signature = hex(HMAC-SHA256(key, StringToSign));
4. ``Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<scope>, SignedHeaders=content-type;host,
   Signature=<signature>`` with the ``X-TC-Action``, ``X-TC-Timestamp``, ``X-TC-Version`` and
   ``X-TC-Region`` headers.

The answer is ``{"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": ...}]}}``, or
``{"Response": {"Error": {"Code", "Message"}}}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp

from server.notifications.sms import SmsError, SmsRequest

HOST = "sms.tencentcloudapi.com"
SERVICE = "sms"
API_VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
ALGORITHM = "TC3-HMAC-SHA256"
PERMANENT_CODES = frozenset(
    {
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.TemplateIncorrectOrUnapproved",
        "FailedOperation.SignatureIncorrectOrUnapproved",
        "FailedOperation.PhoneNumberInBlacklist",
        "InvalidParameterValue.TemplateParameterFormatError",
        "AuthFailure.SecretIdNotFound",
        "AuthFailure.SignatureFailure",
        "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
    }
)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def authorization(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    payload: str,
    timestamp: int,
    content_type: str = CONTENT_TYPE,
) -> str:
    """The ``Authorization`` header of a TC3-HMAC-SHA256 signed POST to ``/``."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload.encode()).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


class TencentSmsProvider:
    name = "tencent"

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        app_id: str,
        sign_name: str,
        region: str,
        endpoint: str | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._id = secret_id
        self._key = secret_key
        self._app_id = app_id
        self._sign_name = sign_name
        self._region = region
        self._endpoint = endpoint or f"https://{HOST}/"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock

    def signed_request(self, request: SmsRequest) -> tuple[dict[str, str], str]:
        """The headers and body of the send."""
        payload = json.dumps(
            {
                "PhoneNumberSet": [request.phone],
                "SmsSdkAppId": self._app_id,
                "SignName": self._sign_name,
                "TemplateId": request.template,
                "TemplateParamSet": list(request.params.values()),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        timestamp = int(self._clock())
        headers = {
            "Authorization": authorization(
                secret_id=self._id,
                secret_key=self._key,
                service=SERVICE,
                host=HOST,
                payload=payload,
                timestamp=timestamp,
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": HOST,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": API_VERSION,
            "X-TC-Region": self._region,
        }
        return headers, payload

    async def send(self, request: SmsRequest) -> str:
        headers, payload = self.signed_request(request)
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.post(self._endpoint, data=payload.encode(), headers=headers) as response,
            ):
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SmsError(f"tencent: {type(exc).__name__}") from None
        answer = body.get("Response", {}) if isinstance(body, dict) else {}
        error = answer.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code", ""))
            raise SmsError(f"tencent: {code}", code=code, permanent=code in PERMANENT_CODES)
        statuses = answer.get("SendStatusSet") or [{}]
        code = str(statuses[0].get("Code", ""))
        if code != "Ok":
            raise SmsError(
                f"tencent: {code or 'no status'}", code=code, permanent=code in PERMANENT_CODES
            )
        return str(statuses[0].get("SerialNo", ""))
