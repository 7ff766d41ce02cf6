"""Labels of the web pages in Chinese (the default) and English.

Each area keeps its labels in ``parking.web.text.<area>`` as ``TEXT = {key: (zh, en)}``;
a key is written once with both languages, so neither can be forgotten. A problem's
``type`` has its words under ``error.<type>``; a type without them shows the problem's
own (English) detail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from parking.web.text import admin, common, manager, prices, resident

__all__ = ["DEFAULT_LANG", "LANGS", "TEXT", "Lang", "problem_text", "translator"]

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"


def _merge(*areas: Mapping[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for area in areas:
        for key, words in area.items():
            if key in merged:
                raise ValueError(f"label {key!r} is defined twice")
            merged[key] = words
    return merged


TEXT = _merge(common.TEXT, resident.TEXT, manager.TEXT, prices.TEXT, admin.TEXT)


def translator(lang: Lang) -> Callable[..., str]:
    """``t(key, **values)``: the label in ``lang``, with ``{name}`` fields filled in."""
    index = LANGS.index(lang)

    def t(key: str, /, **values: Any) -> str:
        words = TEXT.get(key)
        if words is None:
            return key  # visible, and caught by tests/web/test_text.py
        return words[index].format(**values) if values else words[index]

    return t


def problem_text(lang: Lang, type_: str, detail: str) -> str:
    """The words for a problem: its type's label when there is one, else its detail."""
    words = TEXT.get(f"error.{type_}")
    return words[LANGS.index(lang)] if words else detail
