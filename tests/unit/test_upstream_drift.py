"""Every upstream function the transport copied or replaced (signaling/upstream/copied.py) is
still, in the installed library, the source it was read from: an upgrade that changes one fails
here until someone has re-read that function's upstream diff and carried it into the copy."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from signaling.upstream.copied import COPIED, Copied, resolve, source_sha256


@pytest.mark.parametrize("copied", COPIED, ids=[c.upstream for c in COPIED])
def test_the_upstream_source_is_the_one_copied(copied: Copied) -> None:
    distribution, _, recorded = copied.version.partition(" ")
    assert source_sha256(copied.upstream) == copied.sha256, (
        f"{copied.upstream} changed upstream since {copied.version} (installed: "
        f"{distribution} {version(distribution)}). Re-read its upstream diff, carry what matters "
        f"into {copied.ours}, then record the new hash and version in signaling/upstream/copied.py."
    )
    assert recorded


@pytest.mark.parametrize("copied", COPIED, ids=[c.ours for c in COPIED])
def test_the_hubs_version_exists(copied: Copied) -> None:
    assert callable(resolve(copied.ours))
