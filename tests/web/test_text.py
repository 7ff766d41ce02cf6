"""Every label a page uses exists, in Chinese and in English."""

from __future__ import annotations

import re
from pathlib import Path

from parking.web.i18n import TEXT, translator

WEB = Path(__file__).resolve().parents[2] / "parking" / "web"
# t('key') in templates and t("key") in Python: a literal key, the whole first argument.
# A key put together at run time (t('kind.%s' % kind)) is not seen here; the page's own
# tests check each of its values.
USE = re.compile(r"""\bt\(\s*['"]([a-z0-9_.\-]+)['"]\s*[,)]""")


def _used_keys() -> dict[str, str]:
    used: dict[str, str] = {}
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        if "text" in path.parts:
            continue
        for key in USE.findall(path.read_text(encoding="utf-8")):
            used.setdefault(key, str(path.relative_to(WEB)))
    return used


def test_every_label_used_is_defined() -> None:
    used = _used_keys()
    assert used, "no labels found: the pattern no longer matches how pages use them"
    missing = {key: where for key, where in used.items() if key not in TEXT}
    assert missing == {}


def test_every_label_has_both_languages_and_the_same_fields() -> None:
    field = re.compile(r"\{(\w*)\}")
    for key, (zh, en) in TEXT.items():
        assert zh.strip() and en.strip(), key
        assert sorted(field.findall(zh)) == sorted(field.findall(en)), key


def test_chinese_is_the_default_and_english_is_there() -> None:
    assert translator("zh")("login.title") == "登录"
    assert translator("en")("login.title") == "Sign in"
