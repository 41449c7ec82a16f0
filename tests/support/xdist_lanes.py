"""How pytest-xdist shares the suite among its workers (scripts/test.sh runs it with
``--dist loadscope``, which tests/conftest.py's ``pytest_xdist_make_scheduler`` maps to
:class:`BrowserLanes`).

- A module's tests run on one worker, so a module-scoped server, browser or impaired link starts
  once.
- A module much longer than the others is cut into :data:`SPLIT` units (its tests by a hash of
  their ids), each starting its module-scoped fixtures once, so it does not set the run's length
  alone.
- The modules that drive Chromium (``tests/e2e/``) share :data:`BROWSER_LANES` work units, so
  at most that many browsers run at a time while the other workers run the rest of the suite.
  One: on a 2-core machine two calls at once (each two or three Chromium pages sending and
  decoding video) slow each other far more than the sum of their CPU. The any-page
  accessibility audit (50-61 s alone) and the three-way guest call (34-55 s alone) took 260
  and 244 s run side by side, past the 120 s timeout; all 64 browser tests alone, one after
  the other, take 12.5 minutes.

xdist's public way to shape the distribution is its ``pytest_xdist_make_scheduler`` hook; the
grouping inside a scheduler is ``LoadScopeScheduling._split_scope``, the method its own
``loadfile`` and ``loadgroup`` schedulers override. ``--dist loadgroup`` itself does not group
under pytest 9.2 (xdist writes the group into ``Item._nodeid``, which pytest 9.2 no longer reads:
pytest-dev/pytest-xdist#1386). tests/unit/test_xdist_lanes.py fails when xdist changes that
method's role.
"""

from __future__ import annotations

import zlib

from xdist.scheduler import LoadScopeScheduling

BROWSER_LANES = 1
BROWSER_MODULES = "tests/e2e/"
# Modules cut into that many units: the OpenAPI fuzzing's hundreds of operations take about a
# fifth of the whole suite's time.
SPLIT = {"tests/server/test_openapi_fuzz.py": 3}


def lanes(modules: set[str], count: int = BROWSER_LANES) -> dict[str, int]:
    """The lane of each browser module among ``count``: in name order, taken in turn."""
    browser = sorted(m for m in modules if m.startswith(BROWSER_MODULES))
    return {module: i % count for i, module in enumerate(browser)}


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


class BrowserLanes(LoadScopeScheduling):
    _lanes: dict[str, int] | None = None

    def _split_scope(self, nodeid: str) -> str:
        module = module_of(nodeid)
        if self._lanes is None and self.collection is not None:
            self._lanes = lanes({module_of(n) for n in self.collection})
        lane = (self._lanes or {}).get(module)
        if lane is not None:
            return f"browser-lane-{lane}"
        parts = SPLIT.get(module)
        if parts is not None:
            return f"{module}#{zlib.crc32(nodeid.encode()) % parts}"
        return module
