"""Text a person reads on someone else's screen (names, specialties, reasons, notes): the
characters it may not hold, so that nobody can spoof a display (a right-to-left override
turning "Dr Wang" into something else, a zero-width space making two names look alike, an ESC
starting a terminal sequence in a log viewer, a NUL truncating it elsewhere).

Refused: every control character (Unicode category Cc: NUL, ESC, DEL...; line breaks and tabs
only where the text may have lines), every format character (Cf: the bidi embeddings,
overrides and isolates, the zero-width space, joiners and marks, the BOM...), the line and
paragraph separators (Zl, Zp), surrogates and private-use or unassigned code points (Cs, Co, Cn).
One format character is kept where it cannot hide anything: the zero-width joiner between two
pictographs, which joins an emoji sequence (a woman and a medical symbol: a health worker).
"""

from __future__ import annotations

import unicodedata

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_LINE_CHARACTERS = frozenset("\n\r\t")
_ZWJ = "\u200d"
# What may stand either side of a joiner in an emoji sequence: a symbol (So), a skin-tone
# modifier (Sk), or the emoji variation selector (Mn, after a symbol).
_EMOJI_SIDES = frozenset({"So", "Sk"})
_EMOJI_PRESENTATION = "\ufe0f"


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Why ``value`` may not be shown to a person as it is, or ``None``."""
    for i, char in enumerate(value):
        if multiline and char in _LINE_CHARACTERS:
            continue
        if char == _ZWJ and _joins_emoji(value, i):
            continue
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return f"must not contain the character U+{ord(char):04X}"
    return None


def _joins_emoji(value: str, i: int) -> bool:
    before = value[i - 1] if i > 0 else ""
    if before == _EMOJI_PRESENTATION and i > 1:
        before = value[i - 2]
    after = value[i + 1] if i + 1 < len(value) else ""
    return (
        bool(before)
        and bool(after)
        and unicodedata.category(before) in _EMOJI_SIDES
        and unicodedata.category(after) in _EMOJI_SIDES
    )
