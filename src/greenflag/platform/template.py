"""`platform.command` → an argument list and an environment (pure): placeholders never become shell code.

The template is split first (shell-like quoting, `shlex`), then `{port}`, `{version}`, `{service}` and
`{instance}` are substituted into the split arguments, so a value is always exactly one argument, whatever it
contains. A shell's inline script (`sh -c '…'`, `bash -ec '…'`) gets no value pasted into its text: there the
placeholder becomes a reference to the environment variable that carries the value (`{version}` →
`${GREENFLAG_VERSION}`), so the shell expands it as data and never parses it as code. Every instance gets
`GREENFLAG_PORT`, `GREENFLAG_VERSION`, `GREENFLAG_SERVICE`, `GREENFLAG_INSTANCE` and `PORT`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from greenflag.spec.platform import PLACEHOLDERS

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
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def command_argv(template: str, values: Mapping[str, str]) -> list[str]:
    """Split `template`, then substitute `values` (placeholder name → text) into each argument; in a shell's
    inline script, placeholders become `${GREENFLAG_…}` references instead. ValueError for bad quoting."""
    argv = shlex.split(template)
    if not argv:
        raise ValueError("the command is empty")
    script = shell_script_index(argv)
    references = {name: "${" + variable + "}" for name, variable in PLACEHOLDERS.items()}
    return [_substitute(arg, references if i == script else values) for i, arg in enumerate(argv)]


def command_env(values: Mapping[str, str]) -> dict[str, str]:
    """The environment that carries the values: GREENFLAG_PORT, GREENFLAG_VERSION, … and PORT."""
    env = {PLACEHOLDERS[name]: value for name, value in values.items() if name in PLACEHOLDERS}
    if "port" in values:
        env["PORT"] = values["port"]
    return env
