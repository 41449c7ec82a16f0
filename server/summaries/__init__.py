"""The after-visit summary of an appointment (``/appointments/{id}/summary``)."""
