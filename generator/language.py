"""Texts written in another language than the tenant's `locale` (a warning, never an error).

A simple stop-word check: each client-facing text (labels, descriptions, questions and
answers, options, titles) is scored by the short words (and letters) only one of Portuguese,
English and Spanish uses. The texts of each file (the tenant file and every base it extends)
are counted apart, so a Spanish tenant extending the Portuguese base is told which file to
replace: one warning per file, at its first text in another language.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, display_path
from .loader import Document, PathT, format_path

LANGUAGES = {"pt-BR": "Portuguese", "en": "English", "es": "Spanish"}

# words (lower case) that one of the three languages uses and the other two do not
STOP_WORDS = {
    "pt-BR": {"do", "da", "dos", "das", "não", "você", "seu", "sua", "seus", "suas", "em", "na",
              "nos", "nas", "um", "uma", "com", "ou", "é", "são", "pelo", "pela", "ao",
              "às", "quando", "meu", "minha", "meus", "minhas", "onde", "aqui", "também",
              "está", "dúvidas", "atendimento", "contato", "entrar"},
    "en": {"the", "and", "of", "to", "your", "you", "for", "with", "is", "in", "on", "how",
           "what", "my", "or", "our", "we", "when", "where", "from", "this", "it", "be", "are",
           "can", "at", "by", "an", "us", "contact", "questions"},
    "es": {"el", "los", "las", "del", "y", "su", "sus", "un", "una", "con", "es", "por", "al",
           "en", "qué", "cómo", "cuándo", "dónde", "usted", "le", "mi", "mis", "nuestra",
           "nuestro", "muy", "pero", "solicitudes", "consultas", "contáctenos"},
}
# letters only one of them writes
LETTERS = {"pt-BR": set("ãõçê"), "es": set("ñ¿¡"), "en": set()}
# keys whose text values clients read
TEXT_KEYS = {"label", "description", "text", "q", "a", "title", "alt", "options", "categories"}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def guess(text: str) -> str | None:
    """The language a text is written in, when its words tell; None when they do not."""
    words = [w.lower() for w in _WORD.findall(text)]
    scores = {lang: sum(w in STOP_WORDS[lang] for w in words)
              + 2 * sum(ch in LETTERS[lang] for ch in text.lower())
              for lang in LANGUAGES}
    best = max(scores.values())
    winners = [lang for lang, score in scores.items() if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


def _texts(data: Any, path: PathT, inside: bool = False):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _texts(value, (*path, key), key in TEXT_KEYS)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _texts(value, (*path, i), inside)
    elif inside and isinstance(data, str):
        yield path, data


def _shown(file: str) -> str:
    return display_path(os.path.normpath(file))


def _base_of(file: str, locale: str) -> str | None:
    """The same base in `locale`: construtora.yaml (pt-BR), construtora.en.yaml, .es.yaml."""
    path = Path(file)
    stem = re.sub(r"\.(en|es)$", "", path.stem)
    other = path.with_name(f"{stem}.yaml" if locale == "pt-BR" else f"{stem}.{locale}.yaml")
    return str(other) if other != path and other.is_file() else None


def check(doc: Document) -> list[Diagnostic]:
    """One warning per source file whose texts are mostly in another language than locale."""
    locale = (doc.data.get("tenant") or {}).get("locale") if isinstance(doc.data, dict) else None
    if locale not in LANGUAGES:
        return []
    per_file: dict[str, dict[str, list]] = {}
    for path, text in _texts(doc.data, ()):
        lang = guess(text)
        if lang is None:
            continue
        loc = doc.loc(path)
        per_file.setdefault(loc.file, {}).setdefault(lang, []).append((loc, path, text))
    out = []
    for file, found in per_file.items():
        own = len(found.get(locale, []))
        other = max((lang for lang in found if lang != locale),
                    key=lambda lang: len(found[lang]), default=None)
        if other is None or len(found[other]) < max(2, own + 1):
            continue
        loc, path, text = min(found[other], key=lambda f: (f[0].line, f[0].column))
        where = "this file" if file == doc.file else f"the base {_shown(file)}"
        message = (f'texts in {where} look {LANGUAGES[other]} ({len(found[other])} of them, e.g. '
                   f'"{text}"), but tenant.locale is {locale} ({LANGUAGES[locale]}): translate '
                   "them")
        sibling = _base_of(file, locale)
        if file != doc.file and sibling:
            message += f" or extend {_shown(sibling)} instead"
        out.append(Diagnostic(file, loc.line, loc.column, format_path(path), message, "warning"))
    return out
