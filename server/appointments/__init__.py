"""Doctors, their weekly availability and free slots, and appointments (REST)."""
