"""Accounts: passwords, tokens, sign-in throttling, and the auth REST endpoints."""
