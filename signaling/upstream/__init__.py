"""What the hub's transport takes from the insides of its libraries (aiohttp, python-engineio,
python-socketio), in one place: ``copied.py`` lists every upstream function the transport copied
or reimplemented, with the hash of the upstream source it was read from, so that an upgrade that
changes one fails its drift test (tests/unit/test_upstream_drift.py) until someone re-reads it."""
