"""Telling people outside the app: e-mail, SMS and the browser behind one interface
(docs/ARCHITECTURE.md, "Notifications")."""
