"""A platform command → an argument list and an environment (pure): placeholders never become shell code.

A template (`platform.command`, or the argument list of a `deploy`, `launch`, `stop` or `status` command) is split
first (shell-like quoting, `shlex`; a list is already split), then the placeholders (`{port}`, `{version}`,
`{service}`, `{instance}`, `{slot}`, `{address}`) are substituted into the split arguments, so a value is always
exactly one argument, whatever it contains. A shell's inline script (`sh -c '…'`, `bash -ec '…'`) gets no value
pasted into its text: there the placeholder becomes a reference to the environment variable that carries the value
(`{version}` → `${GREENFLAG_VERSION}`, and inside single quotes `'"${GREENFLAG_VERSION}"'`), so the shell expands it
as data and never parses it as code. The command
gets every value in the environment too (`GREENFLAG_VERSION`, `GREENFLAG_SLOT`, …; a process instance also `PORT`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence

from greenflag.spec.platform_base import PLACEHOLDERS

__all__ = ["SHELLS", "command_argv", "command_env", "shell_script_index"]
__pure__ = True

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox"})
_PLACEHOLDER = re.compile(r"(?<!\$)\{(" + "|".join(PLACEHOLDERS) + r")\}")


def shell_script_index(argv: list[str]) -> int | None:
    """The index of a shell's inline script in `argv` (the first operand after sh/bash/… when `-c` is among its
    options), else None (no shell, or a shell running a script file)."""
    shell = next((i for i, arg in enumerate(argv) if arg.rsplit("/", 1)[-1] in SHELLS), None)
    if shell is None:
        return None
    inline, j = False, shell + 1
    while j < len(argv):
        option = argv[j]
        if option == "--":
            j += 1
            break
        if option[:1] not in ("-", "+") or len(option) < 2:
            break  # the first operand: the inline script (with -c) or a script file
        if option[:2] == "--":
            j += 1
            continue
        inline = inline or (option[0] == "-" and "c" in option[1:])
        j += 2 if option[1:] in ("o", "O") else 1  # -o NAME / +O NAME take an argument
    return j if inline and j < len(argv) else None


def _substitute(text: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _single_quoted(script: str) -> set[int]:
    """The offsets of `script` that a POSIX shell reads inside single quotes (where `$VAR` is not expanded):
    quotes and backslashes are followed, and `$(…)` opens a new quoting context, also inside double quotes."""
    inside: set[int] = set()
    stack = [""]  # "" unquoted (or inside $(...)), "'" single-quoted, '"' double-quoted
    i = 0
    while i < len(script):
        c, top = script[i], stack[-1]
        if top == "'":
            if c == "'":
                stack.pop()
            else:
                inside.add(i)
        elif c == "\\":
            i += 1  # the next character is escaped
        elif script.startswith("$(", i):
            stack.append("(")
            i += 1
        elif c == ")" and top == "(":
            stack.pop()
        elif c == '"':
            if top == '"':
                stack.pop()
            else:
                stack.append('"')
        elif c == "'" and top != '"':
            stack.append("'")
        i += 1
    return inside


def _references(script: str, values: Mapping[str, str]) -> str:
    """A shell script's placeholders as references to the variables that carry their values: `${GREENFLAG_SLOT}`;
    inside single quotes, where the shell would not expand it, `'"${GREENFLAG_SLOT}"'` (out of the quotes and back)."""
    quoted = _single_quoted(script)

    def reference(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values or name not in PLACEHOLDERS:
            return match.group(0)
        variable = "${" + PLACEHOLDERS[name] + "}"
        return f"'\"{variable}\"'" if match.start() in quoted else variable

    return _PLACEHOLDER.sub(reference, script)


def command_argv(template: str | Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Split `template` (a list is already split), then substitute `values` (placeholder name → text) into each
    argument; in a shell's inline script, placeholders become `${GREENFLAG_…}` references instead. ValueError for
    bad quoting or an empty command."""
    argv = shlex.split(template) if isinstance(template, str) else list(template)
    if not argv:
        raise ValueError("the command is empty")
    script = shell_script_index(argv)
    return [_references(arg, values) if i == script else _substitute(arg, values) for i, arg in enumerate(argv)]


def command_env(values: Mapping[str, str]) -> dict[str, str]:
    """The environment that carries the values: GREENFLAG_PORT, GREENFLAG_VERSION, … and PORT."""
    env = {PLACEHOLDERS[name]: value for name, value in values.items() if name in PLACEHOLDERS}
    if "port" in values:
        env["PORT"] = values["port"]
    return env
