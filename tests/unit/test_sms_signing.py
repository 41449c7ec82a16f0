"""The SMS adapters sign as Alibaba Cloud and Tencent Cloud document, checked against the
worked examples of their documentation, then against a local server that checks a request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.notifications import aliyun, tencent
from server.notifications.sms import SmsError, SmsRequest

# Alibaba Cloud's SMS documentation, "Request signatures": the SendSms example, whose
# signature is given as zJDF+Lrzhj/ThnlvIToysFRq6t4=.
ALIYUN_EXAMPLE = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}


def test_aliyun_signs_the_documented_example() -> None:
    assert aliyun.sign(ALIYUN_EXAMPLE, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert aliyun.string_to_sign(ALIYUN_EXAMPLE).startswith("GET&%2F&AccessKeyId%3DtestId")


def test_tencent_signs_the_documented_example() -> None:
    # Tencent Cloud's "Signature v3" worked example (CVM DescribeInstances, 2019-02-25), with
    # the documentation's masked credentials and its signature.
    header = tencent.authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3*******",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        payload='{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], '
        '"Name": "instance-name"}]}',
        timestamp=1551113065,
    )
    assert header == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )


def test_aliyun_numbers_drop_the_mainland_prefix() -> None:
    assert aliyun.provider_number("+8613800138000") == "13800138000"
    assert aliyun.provider_number("+85291234567") == "85291234567"


REQUEST = SmsRequest(
    phone="+8613800138000",
    template="SMS_1",
    params={"time": "2026-03-03 09:00 (Asia/Shanghai)", "link": "https://c.example/consult/a"},
    text="...",
)


async def serve(handler: Any) -> TestServer:
    app = web.Application()
    app.router.add_route("*", "/", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_aliyun_sends_a_request_the_server_can_verify() -> None:
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        params = dict(request.query)
        seen.append(params)
        signature = params.pop("Signature")
        assert aliyun.sign(params, "secret-1") == signature
        assert params["Action"] == "SendSms"
        assert params["Version"] == "2017-05-25"
        assert params["PhoneNumbers"] == "13800138000"
        assert params["SignName"] == "诊所"
        assert json.loads(params["TemplateParam"]) == REQUEST.params
        return web.json_response({"Code": "OK", "BizId": "biz-1", "RequestId": "r"})

    server = await serve(handler)
    try:
        provider = aliyun.AliyunSmsProvider(
            access_key_id="id-1",
            access_key_secret="secret-1",
            sign_name="诊所",
            endpoint=str(server.make_url("/")),
            clock=lambda: datetime(2026, 3, 2, tzinfo=UTC),
        )
        assert await provider.send(REQUEST) == "biz-1"
        assert seen[0]["Timestamp"] == "2026-03-02T00:00:00Z"
    finally:
        await server.close()


async def test_aliyun_refusals_say_whether_to_retry() -> None:
    codes = iter(["isv.MOBILE_NUMBER_ILLEGAL", "isv.BUSINESS_LIMIT_CONTROL"])

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"Code": next(codes), "Message": "no"})

    server = await serve(handler)
    try:
        provider = aliyun.AliyunSmsProvider(
            access_key_id="i",
            access_key_secret="s",
            sign_name="n",
            endpoint=str(server.make_url("/")),
        )
        with pytest.raises(SmsError) as bad_number:
            await provider.send(REQUEST)
        assert bad_number.value.permanent
        with pytest.raises(SmsError) as throttled:
            await provider.send(REQUEST)
        assert not throttled.value.permanent
    finally:
        await server.close()


async def test_tencent_sends_a_request_the_server_can_verify() -> None:
    async def handler(request: web.Request) -> web.Response:
        body = await request.text()
        assert request.method == "POST"
        assert request.headers["X-TC-Action"] == "SendSms"
        assert request.headers["X-TC-Version"] == "2021-01-11"
        assert request.headers["X-TC-Region"] == "ap-guangzhou"
        assert request.headers["Content-Type"] == "application/json; charset=utf-8"
        expected = tencent.authorization(
            secret_id="AKID1",
            secret_key="key-1",
            service="sms",
            host="sms.tencentcloudapi.com",
            payload=body,
            timestamp=int(request.headers["X-TC-Timestamp"]),
        )
        assert request.headers["Authorization"] == expected
        sent = json.loads(body)
        assert sent == {
            "PhoneNumberSet": ["+8613800138000"],
            "SmsSdkAppId": "1400000000",
            "SignName": "诊所",
            "TemplateId": "SMS_1",
            "TemplateParamSet": list(REQUEST.params.values()),
        }
        return web.json_response(
            {"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": "s-1"}], "RequestId": "r"}}
        )

    server = await serve(handler)
    try:
        provider = tencent.TencentSmsProvider(
            secret_id="AKID1",
            secret_key="key-1",
            app_id="1400000000",
            sign_name="诊所",
            region="ap-guangzhou",
            endpoint=str(server.make_url("/")),
            clock=lambda: 1772409600.0,
        )
        assert await provider.send(REQUEST) == "s-1"
    finally:
        await server.close()


async def test_tencent_errors_say_whether_to_retry() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(
            {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "x"}}}
        )

    server = await serve(handler)
    try:
        provider = tencent.TencentSmsProvider(
            secret_id="a",
            secret_key="b",
            app_id="1",
            sign_name="n",
            region="ap-guangzhou",
            endpoint=str(server.make_url("/")),
        )
        with pytest.raises(SmsError) as refused:
            await provider.send(REQUEST)
        assert refused.value.permanent
        assert refused.value.code == "AuthFailure.SignatureFailure"
    finally:
        await server.close()


def test_percent_encoding_is_rfc_3986() -> None:
    assert aliyun.percent_encode("a b*~") == "a%20b%2A~"
    assert quote("/", safe="") == "%2F"
