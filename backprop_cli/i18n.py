"""Human sentences, one catalogue file per language (backprop_cli/locale/*.toml).

Numbers, formulas, JSON keys and exit codes never go through here.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

DEFAULT_LANGUAGE = "en"
ENVIRONMENT_VARIABLE = "BACKPROP_LANG"


def available_languages() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("backprop_cli.locale").iterdir()
                  if p.name.endswith(".toml"))


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
        self.language = language or os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_LANGUAGE
        self.entries = catalogue(self.language)

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
