"""Collect the code blocks of a Markdown page and what the docs harness must do with each (pure: text in, data out).

A block is classified by its fence language and by an optional annotation: an HTML comment on the line right
before the fence, `<!-- doc-test: KIND [ARGS] [— REASON] -->`. The vocabulary (docs/contributing-docs.md):

    run            sh / bash / shell / console / python blocks, without an annotation: executed
    validate       yaml blocks without an annotation: a greenflag.yaml fragment or a journeys file, validated
    file PATH      the block is written to PATH in the page's sandbox before the page runs; a command must use it
    keys SOURCE    a JSON (or YAML) example of an output, compared key by key with SOURCE after the page ran
                   (a file the page wrote, or `stdout`: the output of the last command of the run block before it);
                   options `maps=PATH,...` (keys are data, e.g. backend names) and `optional=PATH,...`
    checked-by P   verified by another test or file P (which must exist), with a reason
    skip           not run, with a reason (a Kubernetes manifest, a cloud account, an install command)

Anything else — an unknown kind, a skip without a reason, an unannotated block of a language the harness cannot
run or validate — is a problem, reported with the page and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

__all__ = [
    "RUN_LANGUAGES",
    "Annotation",
    "Block",
    "Page",
    "parse_annotation",
    "parse_page",
]

SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "console"})
PYTHON_LANGUAGES = frozenset({"python", "py"})
RUN_LANGUAGES = SHELL_LANGUAGES | PYTHON_LANGUAGES
YAML_LANGUAGES = frozenset({"yaml", "yml"})
KINDS = ("file", "keys", "checked-by", "skip")
_ANNOTATION = re.compile(r"^<!--\s*doc-test:\s*(?P<body>.*?)\s*-->\s*$", re.S)
_REASON_SEP = re.compile(r"\s+(?:—|--)\s+")


@dataclass(frozen=True)
class Annotation:
    kind: str
    args: tuple[str, ...] = ()
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    action: str  # "shell" | "python" | "validate" | "file" | "keys" | "checked-by" | "skip" | "problem"
    annotation: Annotation | None = None
    problem: str = ""
    heading_line: int = 0  # line of the heading of the section the block is in (0: before any heading)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class Page:
    name: str
    text: str
    blocks: tuple[Block, ...]

    @property
    def problems(self) -> list[str]:
        return [f"{b.where}: {b.problem}" for b in self.blocks if b.action == "problem"]

    def section_text(self, block: Block) -> str:
        """The prose of the section holding `block` (its heading to the next heading of the same or a higher
        level), without the code blocks."""
        lines = self.text.splitlines()
        start = block.heading_line - 1 if block.heading_line else 0
        level = _heading_level(lines[start]) if block.heading_line else 0
        out: list[str] = []
        fenced = False
        for i in range(start, len(lines)):
            line = lines[i]
            if i > start and not fenced and level and 0 < _heading_level(line) <= level:
                break
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
                continue
            if not fenced:
                out.append(line)
        return "\n".join(out)


def _heading_level(line: str) -> int:
    match = re.match(r"^(#{1,6})\s", line)
    return len(match.group(1)) if match else 0


def parse_annotation(comment: str) -> Annotation | str | None:
    """An annotation, a problem (str) for a malformed one, or None when the comment is no annotation."""
    match = _ANNOTATION.match(comment.strip())
    if match is None:
        return "doc-test annotation is malformed" if "doc-test" in comment else None
    body = match.group("body")
    parts = _REASON_SEP.split(body, maxsplit=1)
    head, reason = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")
    words = head.split()
    if not words:
        return "doc-test annotation names no kind"
    kind, rest = words[0], words[1:]
    if kind not in KINDS:
        return f"doc-test kind {kind!r} is unknown (expected one of {', '.join(KINDS)})"
    args = tuple(w for w in rest if "=" not in w)
    options = {k: tuple(v.split(",")) for k, _, v in (w.partition("=") for w in rest if "=" in w)}
    if kind in ("skip", "checked-by") and not reason:
        return f"doc-test: {kind} needs a reason after ' — '"
    if kind in ("file", "keys", "checked-by") and len(args) != 1:
        return f"doc-test: {kind} takes one argument (got {len(args)})"
    if kind != "keys" and options:
        return f"doc-test: {kind} takes no options"
    unknown = set(options) - {"maps", "optional"}
    if unknown:
        return f"doc-test: keys options are maps= and optional= (not {', '.join(sorted(unknown))})"
    if kind == "file" and (Path(args[0]).is_absolute() or ".." in Path(args[0]).parts):
        return f"doc-test: file {args[0]!r} must be a relative path inside the sandbox"
    return Annotation(kind, args, options, reason)


def _classify(language: str, annotation: Annotation | None) -> tuple[str, str]:
    """(action, problem) for a block."""
    if annotation is not None:
        if annotation.kind == "keys" and language not in ("json", *YAML_LANGUAGES):
            return "problem", f"doc-test: keys needs a json or yaml block (this one is {language or 'untagged'})"
        return annotation.kind, ""
    if language in SHELL_LANGUAGES:
        return "shell", ""
    if language in PYTHON_LANGUAGES:
        return "python", ""
    if language in YAML_LANGUAGES:
        return "validate", ""
    what = f"a {language!r} block" if language else "an untagged block"
    return "problem", (
        f"{what} the docs harness cannot run: annotate it right before the fence, e.g. "
        "<!-- doc-test: keys stdout --> for an output example or <!-- doc-test: skip — why it cannot run here -->"
    )


def parse_page(name: str, text: str) -> Page:
    tokens = MarkdownIt("commonmark").parse(text)
    blocks: list[Block] = []
    heading_line = 0
    previous = None
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            heading_line = token.map[0] + 1
        if token.type in ("fence", "code_block") and token.map:
            line = token.map[0] + 1
            language = token.info.strip().split()[0].lower() if token.info.strip() else ""
            annotation: Annotation | str | None = None
            if (
                previous is not None
                and previous.type == "html_block"
                and previous.map
                and (previous.map[1] == token.map[0])
            ):
                annotation = parse_annotation(previous.content)
            if isinstance(annotation, str):
                blocks.append(Block(name, line, language, token.content, "problem", None, annotation, heading_line))
            elif token.type == "code_block" and annotation is None:
                problem = "an indented code block: use a fenced block with a language (or annotate it)"
                blocks.append(Block(name, line, "", token.content, "problem", None, problem, heading_line))
            else:
                action, problem = _classify(language, annotation)
                blocks.append(Block(name, line, language, token.content, action, annotation, problem, heading_line))
        elif token.type == "html_block" and "doc-test" in token.content:
            nxt = tokens[index + 1] if index + 1 < len(tokens) else None
            if (
                nxt is None
                or nxt.type not in ("fence", "code_block")
                or not nxt.map
                or not token.map
                or (token.map[1] != nxt.map[0])
            ):
                line = token.map[0] + 1 if token.map else 0
                problem = "doc-test annotation is not on the line right before a fenced block"
                blocks.append(Block(name, line, "", "", "problem", None, problem, heading_line))
        if token.type not in ("heading_open", "inline", "heading_close"):
            previous = token
    return Page(name, text, tuple(blocks))
