"""The audit log: the recorder REST handlers use, and the admin's read endpoint."""
