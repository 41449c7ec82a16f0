"""Text-and-image consultations (kind ``text``): the doctor's text queue, ending one, turning
one into a video call, and the admin's counts (PROTOCOL.md, "Text consultations")."""
