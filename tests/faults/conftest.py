"""The hub fixtures (a running app with a fake clock, and a clinic builder) for fault tests."""

from tests.signaling.conftest import clinic, make_clinic

__all__ = ["clinic", "make_clinic"]
