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
        return DEFAULT_LANGUAGE
    value = requested.strip()
    if value in ("C", "POSIX") or value.startswith(("C.", "POSIX.")):
        return DEFAULT_LANGUAGE
    match = _LOCALE.match(value)
    language = match.group(1).lower() if match else None
    if language not in available_languages():
        shown = requested if len(requested) <= 40 else requested[:40] + "…"
        separator = " " if where == "--lang" else "="
        raise BackpropError(f"{where}{separator}{shown}: no such language; available: "
                            f"{', '.join(available_languages())}",
                            hint="a language (zh) or a locale (zh_CN, en_US.UTF-8)")
    return language


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
