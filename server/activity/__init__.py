"""The admin's activity history (``GET /admin/activity``), kept on the server across nodes."""
