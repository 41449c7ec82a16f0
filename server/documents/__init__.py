"""Patients' documents and medical images (PROTOCOL.md, "Documents")."""
