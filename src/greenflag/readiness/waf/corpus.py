"""The WAF payload corpus: YAML files shipped with greenflag (one per attack class) and any the user adds.

A file names its attack class, the OWASP Top 10 (2021) category it belongs to, the placeholders and encoders its
payloads travel through, the attack payloads, and benign look-alikes: legitimate text that resembles the attack
("union was a great select for the team") and must pass. Bad files fail with the file and key path.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from greenflag.config import load_yaml, parse_model
from greenflag.errors import ConfigError
from greenflag.readiness.waf.plan import COMPATIBLE, PayloadSet

__all__ = ["builtin_corpus_files", "load_corpus"]

Placeholder = Literal["query", "form", "json", "xml", "header", "cookie", "path"]
Encoder = Literal["plain", "url", "double_url", "unicode", "base64"]


def _benign_encoders() -> list[Encoder]:
    return ["plain", "url"]  # plan.BENIGN_ENCODERS: the encodings legitimate clients use


class CorpusFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str
    owasp: str
    placeholders: list[Placeholder] = Field(min_length=1)
    encoders: list[Encoder] = Field(min_length=1)
    json_raw: bool = False
    attacks: list[str] = Field(min_length=1)
    benign: list[str] = Field(default_factory=list)
    benign_placeholders: list[Placeholder] | None = None  # default: the attacks' placeholders
    benign_encoders: list[Encoder] = Field(default_factory=_benign_encoders)

    @model_validator(mode="after")
    def _usable(self) -> CorpusFile:
        for placeholder in self.placeholders:
            if not COMPATIBLE[placeholder] & set(self.encoders):
                usable = ", ".join(sorted(COMPATIBLE[placeholder]))
                raise ValueError(f"placeholder {placeholder!r} takes none of these encoders (it takes {usable})")
        benign_encoders = set(self.benign_encoders) & set(self.encoders)
        for placeholder in self.benign_placeholders or []:
            if self.benign and not COMPATIBLE[placeholder] & benign_encoders:
                raise ValueError(f"benign placeholder {placeholder!r} takes none of the benign encoders")
        return self


def builtin_corpus_files() -> list[Path]:
    folder = resources.files("greenflag.readiness.waf") / "corpus"
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def _files(paths: Sequence[str | Path]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
            if not found:
                raise ConfigError(f"{path}: no .yaml corpus files in this directory")
            out.extend(found)
        else:
            out.append(path)
    return out


def load_corpus(extra: Sequence[str | Path] = (), *, builtin: bool = True) -> list[PayloadSet]:
    """The shipped sets (unless builtin=False) plus the files or directories in `extra`; ids must be unique."""
    files = (builtin_corpus_files() if builtin else []) + _files(extra)
    sets: list[PayloadSet] = []
    seen: dict[str, Path] = {}
    for file in files:
        data, lines = load_yaml(file)
        model = parse_model(CorpusFile, data, str(file), lines)
        if model.id in seen:
            raise ConfigError(f"{file}: id: {model.id!r} is already defined in {seen[model.id]}")
        seen[model.id] = file
        sets.append(
            PayloadSet(
                model.id,
                model.title,
                model.owasp,
                tuple(model.placeholders),
                tuple(model.encoders),
                tuple(model.attacks),
                tuple(model.benign),
                model.json_raw,
                tuple(model.benign_placeholders) if model.benign_placeholders else None,
                tuple(model.benign_encoders),
            )
        )
    if not sets:
        raise ConfigError("the WAF corpus is empty: give at least one corpus file")
    return sets
