"""A third participant in a video consultation: invitations and their one-time links."""
