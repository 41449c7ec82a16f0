"""Issue 23, second half, in real Chromium: the admin's chart of the last half hour comes from
the server (on open and after a reload)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from domain.activity import ActivitySample, slot_of
from domain.clock import utc_now
from domain.users import Role
from server import keys
from tests.e2e.conftest import ContextFactory, Live, shoot, sign_in

pytestmark = pytest.mark.browser


def test_the_admin_chart_shows_the_half_hour_the_server_recorded(
    live: Live, new_context: ContextFactory
) -> None:
    # The server sampled 20 minutes ago, before any admin page was open.
    earlier = utc_now() - timedelta(minutes=20)
    slot = slot_of(earlier)
    history = live.app[keys.ACTIVITY].history
    live.loop.run(history.record(ActivitySample(at=slot, rooms=3, people=5)))
    # The sample's slot as the page shows it: the contexts' time zone, zh-CN's HH:mm.
    shown = datetime.fromtimestamp(slot, ZoneInfo("Asia/Shanghai"))
    expected = f"{shown:%H:%M}"
    admin = live.person(Role.ADMIN, "Admin")
    a = sign_in(new_context(locale="zh-CN"), admin, live)
    expect(a).to_have_url(f"{live.url}/admin")
    since = a.get_by_test_id("activity-since")
    expect(since).to_contain_text(f"服务器自 {expected} 起记录")
    expect(a.get_by_test_id("activity-chart")).to_be_visible()
    assert int(since.get_attribute("data-samples") or 0) >= 2
    a.reload()
    expect(a.get_by_test_id("activity-since")).to_contain_text(expected)  # not reset
    a.get_by_test_id("lang-en").click()
    expect(a.get_by_test_id("activity-since")).to_contain_text("Recorded by the server since")
    shoot(a, "admin-activity-history-en")
