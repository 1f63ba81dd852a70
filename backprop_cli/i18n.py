"""Human sentences, one catalogue file per language (backprop_cli/locale/*.toml).

Numbers, formulas, JSON keys and exit codes never go through here.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from importlib import resources

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from backprop_cli.errors import BackpropError

DEFAULT_LANGUAGE = "en"
ENVIRONMENT_VARIABLE = "BACKPROP_LANG"
_LOCALE = re.compile(r"^([A-Za-z]{2,3})(?:[_-][A-Za-z0-9]+)*(?:\.[A-Za-z0-9_-]+)?(?:@[A-Za-z0-9_-]+)?$")


@lru_cache(maxsize=None)
def available_languages() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("backprop_cli.locale").iterdir()
                  if p.name.endswith(".toml"))


def resolve_language(requested: str | None = None) -> str:
    """The catalogue for `--lang` or else $BACKPROP_LANG, written as a language (`zh`) or a locale
    (`zh_CN`, `zh-TW`, `en_US.UTF-8`; `C` and `POSIX` are English). Unknown: exit code 2."""
    where = "--lang"
    if requested is None:
        requested, where = os.environ.get(ENVIRONMENT_VARIABLE) or None, ENVIRONMENT_VARIABLE
    if requested is None:
        return _use(DEFAULT_LANGUAGE)
    value = requested.strip()
    if value in ("C", "POSIX") or value.startswith(("C.", "POSIX.")):
        return _use(DEFAULT_LANGUAGE)
    match = _LOCALE.match(value)
    language = match.group(1).lower() if match else None
    if language not in available_languages():
        shown = requested if len(requested) <= 40 else requested[:40] + "…"
        separator = " " if where == "--lang" else "="
        raise BackpropError(f"{where}{separator}{shown}: no such language; available: "
                            f"{', '.join(available_languages())}",
                            hint="a language (zh) or a locale (zh_CN, en_US.UTF-8)")
    return _use(language)


# The language the run resolved last (every command resolves one first): error messages, which
# are raised deep in the core and printed in one place, are shown in it.
_active = [DEFAULT_LANGUAGE]


def _use(language: str) -> str:
    _active[0] = language
    return language


def active_language() -> str:
    return _active[0]


@lru_cache(maxsize=None)
def catalogue(language: str) -> dict[str, str]:
    text = (resources.files("backprop_cli.locale") / f"{language}.toml").read_text(encoding="utf-8")
    flat: dict[str, str] = {}
    for section, entries in tomllib.loads(text).items():
        for key, sentence in entries.items():
            flat[f"{section}.{key}"] = sentence
    return flat


class Messages:
    def __init__(self, language: str | None = None):
        self.language = resolve_language(language)
        self.entries = catalogue(self.language)

    def sample(self) -> str:
        """Every sentence of the catalogue, for asking whether a stream can show them."""
        return "".join(self.entries.values())

    def __call__(self, key: str, **values: object) -> str:
        sentence = self.entries.get(key)
        if sentence is None:
            sentence = catalogue(DEFAULT_LANGUAGE)[key]
        return sentence.format(**values) if values else sentence

    def has(self, key: str) -> bool:
        return key in self.entries

    def rule(self, op: str, position: int) -> str:
        for key in (f"rule.{op}_{position}", f"rule.{op}"):
            if self.has(key):
                return self(key)
        return self("rule.function", name=op)


# ---------------------------------------------------------------- error messages

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@lru_cache(maxsize=None)
def _templates(section: str) -> list[tuple[str, re.Pattern]]:
    """(key, regex) for each English template of a section: its {parts} match any text."""
    result = []
    for key, sentence in catalogue(DEFAULT_LANGUAGE).items():
        if not key.startswith(section + "."):
            continue
        pattern, position, seen = [], 0, set()
        for match in _PLACEHOLDER.finditer(sentence):
            pattern.append(re.escape(sentence[position:match.start()]))
            name = match.group(1)
            pattern.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
            position = match.end()
        pattern.append(re.escape(sentence[position:]))
        result.append((key, re.compile("".join(pattern), re.DOTALL)))
    return result


def _translate(text: str, sections: tuple[str, ...], entries: dict[str, str], depth: int = 0) -> str:
    for section in sections:
        for key, pattern in _templates(section):
            match = pattern.fullmatch(text)
            if match is None or key not in entries:
                continue
            parts = {name: (_translate(value, (section, "error_part"), entries, depth + 1) if depth < 3 else value)
                     for name, value in match.groupdict().items()}
            return entries[key].format(**parts)
    return text


def translate_error(text: str, hint: bool = False, language: str | None = None) -> str:
    """An error message (or hint) worded by the code in English, in the run's language when it
    matches one of the catalogue's [error] ([error_hint]) templates whole; else as it is."""
    language = language or active_language()
    if language == DEFAULT_LANGUAGE:
        return text
    return _translate(text, ("error_hint",) if hint else ("error",), catalogue(language))
