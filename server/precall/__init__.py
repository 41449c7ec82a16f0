"""The pre-call check's REST endpoints (the echo peers themselves live in ``media.precall``)."""
