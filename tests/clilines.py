"""Check greenflag command lines written in docs, runbooks and CI workflows against the real CLI.

`check_line(argv)` walks the typer app's command tree (`greenflag.cli.build_app`) to the named command and lets
click parse the remaining arguments exactly as `greenflag …` would (options exist, values given, required
arguments present), without running the command. Commands and options that are being added in parallel work
are listed in PENDING / PENDING_OPTIONS with a reason: while they are missing from the CLI, the line is reported
as skipped (the rest of its options still checked); once they exist, they are checked like any other.
"""

from __future__ import annotations

import shlex
from functools import lru_cache
from typing import Any

import typer

PENDING: dict[tuple[str, ...], str] = {
    ("check", "all"): "`check all` (readiness checklist) is being added in parallel",
    ("check", "tls"): "`check tls` is being added in parallel",
    ("drill", "postgres"): "`drill postgres` is being added in parallel",
    ("drill", "sqlite"): "`drill sqlite` is being added in parallel",
}
PENDING_OPTIONS: dict[tuple[tuple[str, ...], str], str] = {
    (("load", "run"), "--junit"): "`load run --junit` is being added in parallel",
    (("check", "all"), "--junit"): "`check all --junit` is being added in parallel",
}
SHELL_OPERATORS = {";", "&&", "||", "|", "&", "(", ")", ";;", "|&"}
REDIRECTIONS = {">", ">>", "<", "&>", ">|"}
COMMAND_PREFIXES = {"if", "!", "then", "else", "elif", "do", "while", "until", "time", "exec"}


@lru_cache(maxsize=1)
def root_command() -> Any:
    from greenflag.cli import build_app

    return typer.main.get_command(build_app())


def _option_names(command: Any) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *getattr(param, "secondary_opts", []))}


def check_line(argv: list[str]) -> str | None:
    """None when `argv` (starting with "greenflag") parses; the reason when it names pending work.

    Raises AssertionError naming the line and click's complaint when it does not parse.
    """
    assert argv and argv[0] == "greenflag", argv
    line = shlex.join(argv)
    command, path, args = root_command(), [], list(argv[1:])
    while hasattr(command, "commands") and args and not args[0].startswith("-"):
        name = args.pop(0)
        path.append(name)
        if name not in command.commands:
            words = (*path, *args)
            reason = next((why for key, why in PENDING.items() if words[: len(key)] == key), None)
            assert reason is not None, f"{line}: no command {' '.join(path)!r} in the CLI"
            return reason
        command = command.commands[name]
    assert not hasattr(command, "commands"), f"{line}: {' '.join(path)!r} needs a subcommand"
    skipped = None
    known = _option_names(command)
    for (where, option), reason in PENDING_OPTIONS.items():
        if tuple(path) == where and option in args and option not in known:
            index = args.index(option)
            del args[index : index + 2]
            skipped = reason
    try:
        command.make_context(" ".join(["greenflag", *path]), args)
    except Exception as exc:  # click's UsageError / BadParameter / NoSuchOption
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        raise AssertionError(f"{line}: {message}") from None
    return skipped


def greenflag_commands(script: str) -> list[list[str]]:
    """The greenflag command lines (greenflag in command position) in a shell script.

    Continuations are joined; comments, operators (`;`, `&&`, `|`, `(`) and `>`/`<` redirections (with their
    target) are handled. Write no `2>&1` inside a greenflag command.
    """
    text = script.replace("\\\n", " ")
    out: list[list[str]] = []
    for raw in text.splitlines():
        lexer = shlex.shlex(raw, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        current: list[str] | None = None
        skip = False
        previous: str | None = None
        for token in tokens:
            at_command = previous is None or previous in SHELL_OPERATORS or previous in COMMAND_PREFIXES
            previous = token
            if skip:
                skip = False
            elif token in REDIRECTIONS:
                skip = True
            elif token in SHELL_OPERATORS:
                if current:
                    out.append(current)
                current = None
            elif current is not None:
                current.append(token)
            elif token == "greenflag" and at_command:
                current = [token]
        if current:
            out.append(current)
    return out
