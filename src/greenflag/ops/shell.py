"""Shell command lines and Markdown that stay intact whatever the spec's values contain (pure).

Every argument is quoted with `shlex.quote`, so a value with spaces, quotes, `;`, `$(…)` or backticks reaches
the command as one literal argument. The only expansions are the runbook's own placeholders (`Var`), written as
`"$NAME"`, which the reader sets first (`VERSION=v2`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

__all__ = ["Var", "cell", "cmd", "code", "fence"]

__pure__ = True


@dataclass(frozen=True)
class Var:
    """A placeholder the reader sets (`VERSION=v2`): written as `"$NAME"` between optional literal prefix and suffix."""

    name: str
    suffix: str = ""
    prefix: str = ""

    def render(self) -> str:
        before = shlex.quote(self.prefix) if self.prefix else ""
        return before + f'"${self.name}"' + (shlex.quote(self.suffix) if self.suffix else "")


def cmd(*argv: str | Var) -> str:
    """One command line; each argument a single word to the shell."""
    return " ".join(a.render() if isinstance(a, Var) else shlex.quote(a) for a in argv)


def _longest_run(text: str, char: str = "`") -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)


def fence(body: str, info: str = "sh") -> str:
    """A fenced code block that no backtick run inside `body` can close early."""
    ticks = "`" * max(3, _longest_run(body) + 1)
    return f"{ticks}{info}\n{body.rstrip()}\n{ticks}\n"


def code(text: str) -> str:
    """An inline code span for any text (one line): backtick runs inside cannot end it."""
    flat = " ".join(text.splitlines())
    ticks = "`" * (_longest_run(flat) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def cell(text: str) -> str:
    """Text as code inside a Markdown table cell (pipes escaped, as GitHub's tables need even in code)."""
    return code(text).replace("|", "\\|")
