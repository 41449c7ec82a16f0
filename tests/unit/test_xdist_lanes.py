"""The suite's distribution over pytest-xdist workers (tests/support/xdist_lanes.py)."""

from __future__ import annotations

import inspect

from xdist.scheduler import LoadFileScheduling, LoadScopeScheduling

from tests.support.xdist_lanes import BrowserLanes, lanes

COLLECTION = [
    "tests/e2e/test_a.py::test_one",
    "tests/e2e/test_a.py::test_two",
    "tests/e2e/test_b.py::test_one",
    "tests/e2e/test_c.py::Case::test_one",
    "tests/server/test_auth.py::test_login",
    "tests/server/test_auth.py::Refresh::test_rotates",
    "tests/unit/test_ice.py::test_vector[one]",
]


def scheduler() -> BrowserLanes:
    made = BrowserLanes.__new__(BrowserLanes)  # its grouping needs only the collection
    made.collection = COLLECTION
    return made


def test_browser_modules_take_the_lanes_in_turn() -> None:
    modules = {"tests/e2e/test_b.py", "tests/e2e/test_a.py", "tests/unit/x.py"}
    assert lanes(modules, 2) == {"tests/e2e/test_a.py": 0, "tests/e2e/test_b.py": 1}
    assert lanes(modules, 1) == {"tests/e2e/test_a.py": 0, "tests/e2e/test_b.py": 0}


def test_a_module_is_one_unit_and_browser_modules_share_one() -> None:
    """One browser at a time (BROWSER_LANES): every browser module in one work unit."""
    scopes = {nodeid: scheduler()._split_scope(nodeid) for nodeid in COLLECTION}
    assert scopes == {
        "tests/e2e/test_a.py::test_one": "browser-lane-0",
        "tests/e2e/test_a.py::test_two": "browser-lane-0",
        "tests/e2e/test_b.py::test_one": "browser-lane-0",
        "tests/e2e/test_c.py::Case::test_one": "browser-lane-0",
        # a class's tests stay with their module (its module-scoped fixtures start once)
        "tests/server/test_auth.py::test_login": "tests/server/test_auth.py",
        "tests/server/test_auth.py::Refresh::test_rotates": "tests/server/test_auth.py",
        "tests/unit/test_ice.py::test_vector[one]": "tests/unit/test_ice.py",
    }


def test_a_long_module_is_cut_into_units_of_whole_tests() -> None:
    ids = [f"tests/server/test_openapi_fuzz.py::test_op[GET /x/{i}]" for i in range(60)]
    made = scheduler()
    scopes = [made._split_scope(nodeid) for nodeid in ids]
    assert set(scopes) == {f"tests/server/test_openapi_fuzz.py#{i}" for i in range(3)}
    assert scopes == [made._split_scope(nodeid) for nodeid in ids]  # the same on every call


def test_xdist_still_groups_through_split_scope() -> None:
    """The upstream contract BrowserLanes relies on (pytest-xdist 3.8): the load-scope scheduler
    builds its work units from ``_split_scope`` of each collected node id, and xdist's own
    schedulers customise the grouping by overriding it. When an upgrade changes either, this
    fails, and tests/support/xdist_lanes.py needs a new look."""
    assert "_split_scope" in LoadFileScheduling.__dict__
    schedule = inspect.getsource(LoadScopeScheduling.schedule)
    assert "scope = self._split_scope(nodeid)" in schedule
    completed = inspect.getsource(LoadScopeScheduling.mark_test_complete)
    assert "self._split_scope(nodeid)" in completed
