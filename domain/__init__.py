"""Plain domain logic shared by every layer: ids, errors, principals, state machines.

Nothing in this package does I/O; clocks are injected.
"""
