"""Payment providers behind one interface (server/payments/provider.py)."""
