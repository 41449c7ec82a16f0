"""Sign-outs the person did not ask for, in a real browser: after a while without activity the
server ends the sign-in, the page goes to the sign-in page by itself, and that page says why,
in English and in Chinese. The server here logs off after a few seconds of inactivity."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from domain.users import Role
from server.settings import AuthSettings
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import ContextFactory, Live, serve, shoot, sign_in

pytestmark = pytest.mark.browser

IDLE_SECONDS = 3


@pytest.fixture(scope="module")
def live(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    # model_construct: the setting's floor (60 s) is for deployments; this test cannot wait
    # a minute of idleness.
    auth = AuthSettings.model_construct(
        **{**AuthSettings(jwt_secret=TEST_SECRET).model_dump(), "idle_timeout": IDLE_SECONDS}
    )
    with serve(mongo_url, tmp_path_factory, auth=auth) as served:
        yield served


def test_an_idle_sign_in_ends_and_the_sign_in_page_says_why(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "Zhou Min")
    page = sign_in(new_context(locale="en-US"), patient, live)
    # Nobody touches the page: the server logs the sign-in off and the page follows.
    expect(page).to_have_url(f"{live.url}/?next=%2Fpatient&reason=inactivity", timeout=30_000)
    reason = page.get_by_test_id("signout-reason")
    expect(reason).to_have_text(
        "You were signed out because the page was not used for a while. This protects your "
        "health information. Please sign in again."
    )
    shoot(page, "signin-after-inactivity-en")
    page.get_by_test_id("lang-zh-CN").click()
    expect(reason).to_have_text(
        "由于一段时间未使用，您已自动退出登录，以保护您的健康信息。请重新登录。"
    )
    # Signing in again goes back to where the person was.
    page.get_by_test_id("email").fill(patient.email)
    page.get_by_test_id("password").fill(patient.password)
    page.get_by_test_id("login").click()
    expect(page).to_have_url(f"{live.url}/patient")
