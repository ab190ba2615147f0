"""Shell blocks: split into commands with their expected exit codes and output, and turn into one instrumented
bash script (pure).

Rules (docs/contributing-docs.md):
- a line ending in `\\` continues on the next line; `#` outside quotes starts a comment;
- a here-document (`cat > f <<EOF` … `EOF`, also `<<'EOF'` and `<<-EOF`) belongs to its command, body and all;
- a command ending in `&` runs in the background (kept until the page ends); the next line waits until it is
  ready: `greenflag demo-app` when `/healthz/ready` answers 200, `greenflag up`, `greenflag router serve` and
  `greenflag dashboard` when the addresses they print accept connections, anything else when the loopback ports it
  names do;
- every other command must exit 0, unless the next command is `echo $?` with a comment naming the code
  (`echo $?   # 3`);
- comment lines right after a command (no blank line between) are its expected output: each must match a line
  of what it printed, in order; numbers match any number, `...` (or `…`) matches any text;
- in `console` blocks, commands start with `$ ` and the lines after one are its output.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

__all__ = ["Command", "build_script", "is_simple", "output_matches", "parse_shell", "pattern_regex", "split_comment"]

_EXPECT_RC = re.compile(r"^echo\s+\$\?$")
_NUMBER = re.compile(r"(?<![A-Za-z_\d.])\d+(?:\.\d+)?(?![A-Za-z_\d])")
_ELLIPSIS = re.compile(r"\.\.\.|…")
_LOOPBACK_PORT = re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\]):(\d{2,5})\b")
_HEREDOC = re.compile(r"(?<!<)<<(?!<)(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


@dataclass
class Command:
    line: int  # line in the page
    code: str  # the command without its comment (continuations joined)
    comment: str = ""
    background: bool = False
    expected_rc: int = 0
    expected_output: list[str] = field(default_factory=list)

    @property
    def ready_kind(self) -> str:
        if re.search(r"(^|[\s;&|(])greenflag\s+demo-app\b", self.code):
            return "demo-app"
        if re.search(r"(^|[\s;&|(])greenflag\s+(up|router\s+serve|dashboard)\b", self.code):
            return "urls"
        return "ports"

    @property
    def ports(self) -> list[int]:
        return sorted({int(p) for p in _LOOPBACK_PORT.findall(self.code)})


def is_simple(code: str) -> bool:
    """One plain command (no list, pipe, subshell or leading assignment): it can be `exec`ed."""
    quote = ""
    escaped = False
    for ch in code:
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "|&;()<>`$":
            return False
    first = code.split(maxsplit=1)[0] if code.split() else ""
    return bool(first) and "=" not in first


def split_comment(line: str) -> tuple[str, str]:
    """(code, comment) of one logical shell line: `#` starts a comment at a word start outside quotes."""
    quote = ""
    escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
            continue
        if ch == "\\" and quote != "'":
            escaped = True
            continue
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t;&|("):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def _logical_lines(text: str, first_line: int) -> list[tuple[int, str, str]]:
    """(line, logical line, here-document) per command line: continuations joined; the body of a here-document
    the line opens, up to and including its delimiter, is kept apart (comments and `$ ` do not apply in it)."""
    out: list[tuple[int, str, str]] = []
    pending: list[str] = []
    start = 0
    raw_lines = text.splitlines()
    i = 0
    while i < len(raw_lines):
        raw = raw_lines[i]
        i += 1
        if not pending:
            start = first_line + i - 1
        if raw.rstrip().endswith("\\") and not raw.lstrip().startswith("#"):
            part = raw.rstrip()[:-1].rstrip()
            pending.append(part.strip() if pending else part)
            continue
        pending.append(raw.strip() if pending else raw.rstrip())
        logical = " ".join(p for p in pending if p)
        pending = []
        body: list[str] = []
        opened = _HEREDOC.search(split_comment(logical.strip().removeprefix("$ "))[0])
        if opened is not None:
            strip_tabs, delimiter = opened.group(1) == "-", opened.group(3)
            while i < len(raw_lines):
                line = raw_lines[i]
                i += 1
                body.append(line)
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
        out.append((start, logical, "".join("\n" + b for b in body)))
    if pending:
        out.append((start, " ".join(pending), ""))
    return out


def parse_shell(text: str, first_line: int, console: bool = False) -> list[Command]:
    """The commands of a shell block whose first content line is `first_line` in the page."""
    commands: list[Command] = []
    collecting = False  # the lines right after a command are its output
    for line, logical, heredoc in _logical_lines(text, first_line):
        stripped = logical.strip()
        if console:
            if stripped.startswith("$ ") or stripped == "$":
                code, comment = split_comment(stripped[1:].strip())
                commands.append(_command(line, code + heredoc, comment, commands))
                collecting = True
            elif collecting and commands:
                commands[-1].expected_output.append(stripped)
            continue
        if not stripped:
            collecting = False
            continue
        if stripped.startswith("#"):
            if collecting and commands:
                commands[-1].expected_output.append(stripped[1:].strip())
            continue
        code, comment = split_comment(stripped)
        commands.append(_command(line, code + heredoc, comment, commands))
        collecting = True
    return commands


def _command(line: int, code: str, comment: str, previous: list[Command]) -> Command:
    background = code.endswith("&") and not code.endswith("&&")
    if background:
        code = code[:-1].rstrip()
    command = Command(line, code, comment, background)
    if _EXPECT_RC.match(code):
        match = re.match(r"(\d+)\b", comment)
        earlier = next((c for c in reversed(previous) if not c.background), None)
        if match and earlier is not None:
            earlier.expected_rc = int(match.group(1))
    return command


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A documented output line as a regex: numbers match any number, `...`/`…` any text, spaces any spaces."""
    out: list[str] = []
    pos = 0
    tokens = sorted(
        [(m.start(), m.end(), "num") for m in _NUMBER.finditer(pattern)]
        + [(m.start(), m.end(), "any") for m in _ELLIPSIS.finditer(pattern)]
    )
    for start, end, kind in tokens:
        if start < pos:
            continue
        out.append(_literal(pattern[pos:start]))
        out.append(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?" if kind == "num" else ".*?")
        pos = end
    out.append(_literal(pattern[pos:]))
    return re.compile("".join(out))


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(part) for part in re.split(r"\s+", text)) if text.strip() else (r"\s*" if text else "")


def output_matches(patterns: list[str], output: str) -> str | None:
    """None when every pattern matches a whole line of `output`, in order; else the first pattern that did not."""
    lines = [line.strip() for line in output.splitlines()]
    pos = 0
    for pattern in patterns:
        regex = pattern_regex(pattern.strip())
        while pos < len(lines) and not regex.fullmatch(lines[pos]):
            pos += 1
        if pos == len(lines):
            return pattern
        pos += 1
    return None


def build_script(commands: list[Command], log_dir: str) -> str:
    """One bash script running `commands` in order, each one's output in LOG/out.N and exit status in LOG/rc.N;
    it stops at the first unexpected exit status (exit 97) or a background server that never got ready (98)."""
    log = shlex.quote(log_dir)
    lines = [
        "__gf_wait() {",
        '  "$GF_PYTHON" "$GF_HELPER" wait "$@" || exit 98',
        "}",
        "__gf_rc=0",
    ]
    for n, command in enumerate(commands):
        lines += [f"echo {n} > {log}/current", "(exit $__gf_rc)"]  # `$?` is the previous command's status
        if command.background:
            # a plain command replaces its subshell, so `$!` and `kill %1` reach the command itself
            code = f"exec {command.code}" if is_simple(command.code) else command.code
            lines += ["{ " + code, f"}} > {log}/out.{n} 2>&1 &"]
            ports = " ".join(str(p) for p in command.ports)
            lines += [f"__gf_wait $! {log}/out.{n} {command.ready_kind} {ports}".rstrip(), "__gf_rc=0"]
            continue
        lines += [
            "{ " + command.code,
            f"}} > {log}/out.{n} 2>&1 < /dev/null",
            f"__gf_rc=$?; echo $__gf_rc > {log}/rc.{n}",
            f"[ $__gf_rc -eq {command.expected_rc} ] || exit 97",
        ]
    lines.append(f"echo done > {log}/current")
    return "\n".join(lines) + "\n"
