"""Text a person reads on someone else's screen (names, specialties, reasons, notes): the
characters it may not hold, so that nobody can spoof a display (a right-to-left override
turning "Dr Wang" into something else, a zero-width space making two names look alike, an ESC
starting a terminal sequence in a log viewer, a NUL truncating it elsewhere).

Refused: every control character (Unicode category Cc: NUL, ESC, DEL...; line breaks and tabs
only where the text may have lines), every format character (Cf: the bidi embeddings,
overrides and isolates, the zero-width space, joiners and marks, the BOM...), the line and
paragraph separators (Zl, Zp), surrogates and private-use or unassigned code points (Cs, Co, Cn).
"""

from __future__ import annotations

import unicodedata

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_LINE_CHARACTERS = frozenset("\n\r\t")


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Why ``value`` may not be shown to a person as it is, or ``None``."""
    for char in value:
        if multiline and char in _LINE_CHARACTERS:
            continue
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return f"must not contain the character U+{ord(char):04X}"
    return None
