"""Run one documentation page in a sandbox: its files, its shell and Python blocks in order, its YAML validated,
its output examples compared key by key with what the commands produced. Real processes on loopback only.

The sandbox looks like the repository root to the page: `examples/` is copied in (with the page's ports), and
`greenflag` / `python3` on PATH run this checkout's code with this interpreter. Every process a page starts is
stopped when the page ends (the marker GF_DOCTEST_SANDBOX in their environment finds the ones that left the
page's process groups, such as instances started by `greenflag up`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.docs.collect import Block, Page
from tests.docs.keys import compare_keys, key_names, load_documents, undocumented_names
from tests.docs.rewrite import PortMap, cap_durations, foreign_addresses, rewrite_ports
from tests.docs.shell import Command, build_script, output_matches, parse_shell
from tests.docs.validate import validate_yaml
from tests.support import free_port

__all__ = ["COMMAND_DEADLINE_S", "CommandResult", "Sandbox", "run_page"]

ROOT = Path(__file__).resolve().parents[2]
HELPER = Path(__file__).resolve().parent / "helper.py"
COMMAND_DEADLINE_S = 120.0
TEXT_SUFFIXES = {".yaml", ".yml", ".py", ".json", ".csv", ".md", ".txt", ".sh", ""}


@dataclass
class CommandResult:
    command: Command
    rc: int | None
    output: str


_HANDED_OUT: set[int] = set()
_PORTS_LOCK = threading.Lock()


def unique_free_port() -> int:
    """A free port never handed out before in this test session (pages run side by side)."""
    with _PORTS_LOCK:
        while True:
            port = free_port()
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                return port


class Sandbox:
    """A page's working directory, environment, port map and processes."""

    def __init__(self, path: Path, ports: PortMap | None = None) -> None:
        self.path = path
        self.ports = ports or PortMap(unique_free_port)
        self.groups: list[int] = []
        self.log_dir = path / ".doc-test"
        self.counter = 0

    def prepare(self, copy: tuple[str, ...] = ("examples",)) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        bin_dir = self.path / ".doc-test" / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        for name, module in (("greenflag", "-m greenflag"), ("python3", "")):
            shim = bin_dir / name
            shim.write_text(f'#!/bin/sh\nexec "$GF_PYTHON" {module} "$@"\n'.replace("  ", " "))
            shim.chmod(0o755)
        for name in copy:
            self.copy_tree(ROOT / name, self.path / name)

    def copy_tree(self, src: Path, dst: Path) -> None:
        for file in sorted(src.rglob("*")):
            if file.is_dir() or "__pycache__" in file.parts:
                continue
            target = dst / file.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            if file.suffix in TEXT_SUFFIXES:
                target.write_text(rewrite_ports(file.read_text(), self.ports))
            else:
                shutil.copyfile(file, target)

    def write(self, relative: str, text: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rewrite_ports(text, self.ports))
        return target

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PATH=f"{self.path / '.doc-test' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p),
            GF_PYTHON=sys.executable,
            GF_HELPER=str(HELPER),
            GF_DOCTEST_SANDBOX=str(self.path),
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def run_commands(self, commands: list[Command], where: str) -> list[CommandResult]:
        """Run `commands` as one bash script; AssertionError naming the command that failed."""
        self.counter += 1
        logs = self.log_dir / f"block{self.counter}"
        logs.mkdir(parents=True)
        for command in commands:
            if not command.background and "greenflag" in command.code:
                command.code = cap_durations(command.code)
        script = logs / "script.sh"
        script.write_text(build_script(commands, str(logs)))
        proc = subprocess.Popen(
            ["bash", str(script)], cwd=self.path, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.groups.append(proc.pid)
        current, since = "", time.monotonic()
        while proc.poll() is None:
            now = (logs / "current").read_text().strip() if (logs / "current").exists() else ""
            if now != current:
                current, since = now, time.monotonic()
            if time.monotonic() - since > COMMAND_DEADLINE_S:
                self._kill_group(proc.pid)
                proc.wait(timeout=10)
                index = int(current) if current.isdigit() else 0
                raise AssertionError(f"{where}: deadline ({COMMAND_DEADLINE_S:g}s) passed while running\n"
                                     f"{_describe(commands[index], logs, index)}")  # fmt: skip
            time.sleep(0.05)
        current = (logs / "current").read_text().strip() if (logs / "current").exists() else ""
        script_out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
        results = [
            CommandResult(c, _read_int(logs / f"rc.{i}"), _read(logs / f"out.{i}")) for i, c in enumerate(commands)
        ]
        index = int(current) if current.isdigit() else -1
        if proc.returncode == 97:
            command = commands[index]
            raise AssertionError(f"{where}: exit status {results[index].rc}, expected {command.expected_rc}\n"
                                 f"{_describe(command, logs, index)}")  # fmt: skip
        if proc.returncode == 98:
            raise AssertionError(f"{where}: a background command did not get ready\n"
                                 f"{_describe(commands[index], logs, index)}\n{script_out[-2000:]}")  # fmt: skip
        if proc.returncode != 0 or current != "done":
            raise AssertionError(f"{where}: the block's script failed (exit {proc.returncode}):\n{script_out[-2000:]}")
        for i, result in enumerate(results):
            if result.command.expected_output:
                missing = output_matches(result.command.expected_output, result.output)
                if missing is not None:
                    raise AssertionError(f"{where}: documented output line not found: {missing!r}\n"
                                         f"{_describe(result.command, logs, i)}")  # fmt: skip
        return results

    def run_python(self, text: str, where: str) -> str:
        self.counter += 1
        path = self.log_dir / f"block{self.counter}.py"
        path.write_text(rewrite_ports(text, self.ports))
        proc = subprocess.Popen(
            [sys.executable, str(HELPER), "pyrun", str(path)], cwd=self.path, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.groups.append(proc.pid)
        try:
            out, _ = proc.communicate(timeout=COMMAND_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self._kill_group(proc.pid)
            out, _ = proc.communicate(timeout=10)
            raise AssertionError(f"{where}: Python block still running after {COMMAND_DEADLINE_S:g}s:\n"
                                 f"{out.decode(errors='replace')[-3000:]}") from None  # fmt: skip
        text_out = out.decode(errors="replace")
        path.with_suffix(".out").write_text(text_out)
        if proc.returncode != 0:
            raise AssertionError(f"{where}: Python block exited {proc.returncode}:\n{text_out[-3000:]}")
        return text_out

    def _kill_group(self, pgid: int, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def _strays(self) -> list[int]:
        """Processes that carry this sandbox's marker (started by the page, wherever they moved)."""
        marker = f"GF_DOCTEST_SANDBOX={self.path}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
        return found

    def close(self) -> None:
        """SIGTERM every process the page started, then SIGKILL what is left after a grace period."""
        for pgid in self.groups:
            self._kill_group(pgid, signal.SIGTERM)
        for pid in self._strays():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while self._strays() and time.monotonic() < deadline:
            time.sleep(0.1)
        for pgid in self.groups:
            self._kill_group(pgid)
        for pid in self._strays():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _read_int(path: Path) -> int | None:
    text = _read(path).strip()
    return int(text) if text.lstrip("-").isdigit() else None


def _describe(command: Command, logs: Path, index: int) -> str:
    return f"  line {command.line}: {command.code}\n  output:\n{_read(logs / f'out.{index}')[-3000:]}"


# Commands that would change the machine rather than show greenflag: never run, whatever a page says.
MACHINE_CHANGES = re.compile(
    r"\b(?:pip3?|python3? -m pip|uv pip|pipx) install\b|\bapt(?:-get)? (?:install|remove|purge)\b|\bsudo\b|"
    r"\bnpm (?:install|i)\b|\bsystemctl\b|\|\s*(?:ba)?sh\b"
)


def _used_files(page: Page) -> set[str]:
    """The `file` blocks' paths a command or Python block names, directly or through a file it uses (a spec
    naming the script its platform runs)."""
    runs = [b.text for b in page.blocks if b.action in ("shell", "python")]
    files = {b.annotation.args[0]: b.text for b in page.blocks if b.action == "file" and b.annotation}
    used = {path for path in files if any(path in text for text in runs)}
    while True:
        more = {path for path in files if path not in used and any(path in files[u] for u in used)}
        if not more:
            return used
        used |= more


def check_page(page: Page) -> list[str]:
    """Problems found without running anything: unclassified blocks, files no command uses, foreign hosts."""
    problems = page.problems
    used = _used_files(page)
    for block in page.blocks:
        if block.action == "file" and block.annotation and block.annotation.args[0] not in used:
            problems.append(f"{block.where}: file {block.annotation.args[0]} is used by no command of the page")
        if block.action in ("shell", "python", "file"):
            foreign = foreign_addresses(block.text, names=block.action == "shell")
            if foreign:
                problems.append(f"{block.where}: names non-loopback hosts {', '.join(foreign)}: the harness runs only "
                                "against 127.0.0.1 (use it, or annotate the block: doc-test: skip — why)")  # fmt: skip
        if block.action == "shell" and MACHINE_CHANGES.search(block.text):
            problems.append(f"{block.where}: installs software or changes the machine: the harness never runs that "
                            "(annotate the block: doc-test: skip — why, or checked-by PATH — why)")  # fmt: skip
        if block.action == "checked-by" and block.annotation and not (ROOT / block.annotation.args[0]).exists():
            problems.append(f"{block.where}: checked-by {block.annotation.args[0]}: no such file")
    return problems


def run_page(page: Page, sandbox: Sandbox) -> None:
    problems = check_page(page)
    if problems:
        raise AssertionError("\n".join(problems))
    sandbox.prepare()
    for block in page.blocks:
        if block.action == "file" and block.annotation:
            sandbox.write(block.annotation.args[0], block.text)
    problems = []
    for block in page.blocks:
        if block.action in ("validate", "file") and block.language in ("yaml", "yml"):
            path = sandbox.path / block.annotation.args[0] if block.annotation else None
            problems += [f"{block.where}: {p}" for p in validate_yaml(block.text, sandbox.path, path)]
    if problems:
        raise AssertionError("\n".join(problems))
    last: list[CommandResult] = []
    outputs: dict[int, list[CommandResult]] = {}
    try:
        for block in page.blocks:
            if block.action == "shell":
                commands = parse_shell(rewrite_ports(block.text, sandbox.ports), block.line + 1,
                                       console=block.language == "console")  # fmt: skip
                last = sandbox.run_commands(commands, block.where)
            elif block.action == "python":
                out = sandbox.run_python(block.text, block.where)
                last = [CommandResult(Command(block.line, "python"), 0, out)]
            elif block.action == "keys":
                outputs[block.line] = last
    finally:
        sandbox.close()
    for block in page.blocks:
        if block.action == "keys":
            problems += [f"{block.where}: {p}" for p in _check_keys(page, block, sandbox, outputs[block.line])]
    if problems:
        raise AssertionError("\n".join(problems))


def _check_keys(page: Page, block: Block, sandbox: Sandbox, last: list[CommandResult]) -> list[str]:
    assert block.annotation is not None
    reals = []
    for source in block.annotation.args[0].split(","):
        if source == "stdout":
            if not last:
                return ["keys stdout: no command ran before this example"]
            text = last[-1].output
        else:
            path = sandbox.path / source
            if not path.exists():
                return [f"keys {source}: the page's commands did not write it"]
            text = path.read_text()
        try:
            reals.append(load_documents(text))
        except ValueError as exc:
            return [f"keys {source}: cannot parse: {exc}"]
    try:
        documented = load_documents(block.text)
    except ValueError as exc:
        return [f"the example does not parse: {exc}"]
    maps, optional = block.annotation.options.get("maps", ()), block.annotation.options.get("optional", ())
    problems = compare_keys(documented, reals, maps, optional)
    prose = page.section_text(block)
    problems += [f"key `{n}` of the example is explained nowhere in its section (write it in backticks)"
                 for n in undocumented_names(key_names(documented, maps), prose)]  # fmt: skip
    return problems
