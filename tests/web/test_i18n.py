"""The message catalogues of the browser app: same keys and placeholders in both languages, the
pre-call advice exactly as the contract words it, and no human-readable text outside them
(web/scripts/check-i18n.mjs, over the real sources and over samples it must refuse)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CATALOGUES = WEB / "src" / "i18n"
CHECKER = WEB / "scripts" / "check-i18n.mjs"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
HAN = re.compile(r"[\u4e00-\u9fff]")


def load(name: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((CATALOGUES / name).read_text(encoding="utf-8"))
    return data


EN = load("en.json")
ZH = load("zh-CN.json")


def test_both_catalogues_have_the_same_keys() -> None:
    assert set(EN) == set(ZH)
    assert len(EN) > 300


def test_placeholders_match_and_nothing_is_empty() -> None:
    empty = [k for k in EN if not EN[k].strip() or not ZH.get(k, "").strip()]
    mismatched = [
        k
        for k in EN
        if sorted(PLACEHOLDER.findall(EN[k])) != sorted(PLACEHOLDER.findall(ZH.get(k, "")))
    ]
    assert empty == []
    assert mismatched == []


def test_chinese_catalogue_is_chinese() -> None:
    """Every message with words is in Chinese (a copied English string would pass the key
    check); units, symbols and the English language name are the exceptions."""
    untranslated = [
        key
        for key, text in ZH.items()
        if re.search(r"[A-Za-z]{3,}", PLACEHOLDER.sub("", text))
        and not HAN.search(text)
        and key not in {"lang.en"}
        and not key.startswith("unit.")
    ]
    assert untranslated == []


def _protocol_advice() -> dict[str, tuple[str, str]]:
    text = (ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    # only the pre-call section's table: other sections word other codes (recording, ...)
    section = text.split("## Pre-call check", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \| (.+?) \|$", section, flags=re.MULTILINE)
    return {code: (english, chinese) for code, english, chinese in rows}


def test_precall_advice_is_worded_as_the_contract_says() -> None:
    advice = _protocol_advice()
    assert "connection_failed" in advice
    for code, (english, chinese) in advice.items():
        assert EN[f"precall.advice.{code}"] == english
        assert ZH[f"precall.advice.{code}"] == chinese


def _protocol_recording_words() -> dict[str, tuple[str, str]]:
    text = (ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    after = text.split("### Consented recording\n", 1)[1]
    section = re.split(r"\n##+ ", after, maxsplit=1)[0]  # up to the next section, of any level
    rows = re.findall(r"^\| (`\w+`|[\w ]+?) \| (.+?) \| (.+?) \|$", section, flags=re.MULTILINE)
    return {
        code.strip("`"): (english, chinese) for code, english, chinese in rows if code != "code"
    }


def test_recording_words_are_worded_as_the_contract_says() -> None:
    """The indicator and the recording error codes, exactly as PROTOCOL.md's table says."""
    words = _protocol_recording_words()
    assert set(words) == {
        "recording indicator",
        "notice_outdated",
        "recording_disabled",
        "still_recording",
    }
    keys = {code: f"error.{code}" for code in words}
    keys["recording indicator"] = "recording.indicator"
    for code, (english, chinese) in words.items():
        assert (EN[keys[code]], ZH[keys[code]]) == (english, chinese), code


def test_every_contract_error_code_has_a_message() -> None:
    codes = [
        "invalid_input",
        "malformed_request",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "payload_too_large",
        "rate_limited",
        "unavailable",
        "internal_error",
        "unknown_event",
        "too_early",
        "consultation_over",
        "not_video",
        "in_another_consultation",
        "patient_not_waiting",
        "not_started",
    ]
    assert [c for c in codes if f"error.{c}" not in EN] == []


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (WEB / "node_modules" / "typescript").is_dir():
        pytest.fail("node and web/node_modules are needed: run scripts/test.sh (web_assets)")
    return node


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_node(), str(CHECKER), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_no_hard_coded_text_in_the_sources() -> None:
    result = _check()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ('export const A = () => <p>{t("a")} Hello</p>;', "text in markup"),
        ('export const A = () => <b aria-label="Close">{t("a")}</b>;', "aria-label"),
        ('export const A = () => <input placeholder={"Name"} title={t("a")} />;', "placeholder"),
        ('export const A = () => <b>{t("a")}{"ok"}</b>;\nexport const B = "您好";', "Chinese"),
        ('export const A = () => <b>{t("a")}{t("nope")}</b>;', "key not in the catalogues"),
        ('export const A = () => <b>{t("b")}</b>;', "never used"),
    ],
)
def test_the_checker_refuses_hard_coded_text(source: str, complaint: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "i18n").mkdir(parents=True)
    (src / "i18n" / "en.json").write_text('{"a": "A", "b": "B"}', encoding="utf-8")
    (src / "i18n" / "zh-CN.json").write_text('{"a": "甲", "b": "乙"}', encoding="utf-8")
    (src / "page.tsx").write_text('import { t } from "./i18n";\n' + source, encoding="utf-8")
    result = _check("--src", str(src))
    assert result.returncode == 1
    assert complaint in result.stderr


def test_the_checker_refuses_catalogues_that_differ(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "i18n").mkdir(parents=True)
    (src / "i18n" / "en.json").write_text('{"a": "Hi {name}", "b": "B"}', encoding="utf-8")
    (src / "i18n" / "zh-CN.json").write_text('{"a": "你好 {who}"}', encoding="utf-8")
    (src / "page.tsx").write_text(
        'import { t } from "./i18n";\nexport const A = () => <b>{t("a")}{t("b")}</b>;',
        encoding="utf-8",
    )
    result = _check("--src", str(src))
    assert result.returncode == 1
    assert "missing key b" in result.stderr
    assert "placeholders" in result.stderr
