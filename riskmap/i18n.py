"""User-interface language: Chinese by default, English selectable.

Texts are written inline as pairs, ``tr("打开工程", "Open project")``, so a module's
strings live beside its code and no catalogue has to be kept in sync.
"""
from __future__ import annotations

import os

LANGUAGES = {"zh": "中文", "en": "English"}
_current = os.environ.get("RISKMAP_LANG", "zh") if os.environ.get("RISKMAP_LANG") in LANGUAGES else "zh"


def set_language(code: str) -> None:
    """Switch the language (``"zh"`` or ``"en"``); widgets built afterwards use it."""
    global _current
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}; use one of {', '.join(LANGUAGES)}")
    _current = code


def language() -> str:
    """The current language code."""
    return _current


def tr(zh: str, en: str) -> str:
    """The text in the current language."""
    return en if _current == "en" else zh
