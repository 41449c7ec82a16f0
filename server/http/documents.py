"""The two machine-readable contracts, written to a folder without starting anything:
``python -m server.http.documents DIR`` writes ``DIR/openapi.json`` (REST) and
``DIR/asyncapi.json`` (Socket.IO). ``scripts/gen-types.sh`` turns them into the browser app's
TypeScript types; the server serves the same documents under ``/api/v1/``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TITLE = "Telemed API"
HUB_TITLE = "Telemed hub"


def documents(version: str) -> dict[str, dict[str, Any]]:
    from server.app import build_api
    from server.http.api import openapi_document
    from server.http.asyncapi import asyncapi_document

    return {
        "openapi.json": openapi_document(build_api(), title=TITLE, version=version),
        "asyncapi.json": asyncapi_document(title=HUB_TITLE, version=version),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m server.http.documents DIR", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    for name, document in documents("contract").items():
        (folder / name).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
