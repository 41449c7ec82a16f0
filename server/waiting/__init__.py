"""The doctor's word to everyone in their waiting room (``POST /doctors/{id}/running-late``)."""
