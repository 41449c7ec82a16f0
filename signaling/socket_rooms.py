"""The Socket.IO rooms the hub emits to (an audience of sockets, on every node; not the
consultation ``Room`` of domain/consultation.py)."""

from __future__ import annotations

# Every admin's sockets on the admin namespace: the live rooms feed.
ADMINS_ROOM = "admins"
# Every pharmacist's sockets on the main namespace: the review queue and the orders to fulfil.
PHARMACISTS_ROOM = "pharmacists"


def consult_room(appointment_id: str) -> str:
    """The sockets of a consultation's participants (and of a text consultation opened)."""
    return f"consult:{appointment_id}"


def user_room(user_id: str) -> str:
    """Every open socket of a user, and of the accounts that manage them."""
    return f"user:{user_id}"
