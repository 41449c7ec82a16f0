"""What display text may hold (domain.text): spoofing characters are refused, real names of
every script pass."""

from __future__ import annotations

import pytest

from domain.text import text_problem

SPOOFING = [
    "\x00",  # NUL
    "\x1b",  # ESC
    "\x7f",  # DEL
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u202a",  # LEFT-TO-RIGHT EMBEDDING
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u2069",  # POP DIRECTIONAL ISOLATE
    "\u200b",  # ZERO WIDTH SPACE
    "\u200d",  # ZERO WIDTH JOINER
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\ufeff",  # BOM
    "\u2028",  # LINE SEPARATOR
    "\udcff",  # a lone surrogate
    "\ue000",  # private use
]


@pytest.mark.parametrize("char", SPOOFING)
def test_spoofing_characters_are_refused_anywhere(char: str) -> None:
    for value in (char, f"Dr {char}Wang", f"王医生{char}"):
        for multiline in (False, True):
            problem = text_problem(value, multiline=multiline)
            assert problem is not None
            assert f"U+{ord(char):04X}" in problem


@pytest.mark.parametrize(
    "name", ["王小明", "Zoë O'Brien-Łukasiewicz", "محمد", "Dr. José García", "佐藤 花子", "Ana 🙂"]
)
def test_real_names_pass(name: str) -> None:
    assert text_problem(name, multiline=False) is None


def test_line_breaks_only_where_text_has_lines() -> None:
    text = "chest pain\r\nsince Monday\tworse at night"
    assert text_problem(text, multiline=True) is None
    assert text_problem(text, multiline=False) is not None


@pytest.mark.parametrize("emoji", ["👩\u200d⚕️", "👨🏽\u200d⚕️", "❤️\u200d🔥", "🏳️\u200d🌈"])
def test_a_joiner_inside_an_emoji_sequence_passes(emoji: str) -> None:
    assert text_problem(f"thanks {emoji}!", multiline=False) is None


@pytest.mark.parametrize("value", ["a\u200db", "🙂\u200d", "\u200d🙂", "王\u200d医", "🙂\u200dx"])
def test_a_joiner_not_between_two_pictographs_is_refused(value: str) -> None:
    assert text_problem(value, multiline=False) == "must not contain the character U+200D"
