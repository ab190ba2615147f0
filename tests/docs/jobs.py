"""The docs suite's jobs — one page, or one command module's `--help` examples — and running the selected ones
side by side: they mostly wait on servers and analysis windows, so a few at a time cut the suite's wall time
without loading the CPU (each job has its own sandbox, ports and processes)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from tests.docs.collect import parse_page
from tests.docs.rewrite import foreign_addresses, rewrite_ports
from tests.docs.runner import ROOT, Sandbox, run_page
from tests.docs.shell import parse_shell

__all__ = ["PAGES", "WORKERS", "expected_cost", "help_examples", "help_job", "help_modules", "page_job", "run_jobs"]

WORKERS = 4
PAGES = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]

SERVER = re.compile(r"^greenflag (demo-app|router serve|up)\b")
DEMO_APP = "greenflag demo-app --port 8080 --version v1 &"
SPEC = "cp examples/greenflag.yaml greenflag.yaml"
# blue and green behind the router of a greenflag.yaml, and users through it: for `analysis` and `router`
ROUTER_SPEC = (
    "printf 'service: web\\nrouter: {listen: 127.0.0.1:8100, admin: 127.0.0.1:8101, backends: "
    '{blue: "http://127.0.0.1:9001", green: "http://127.0.0.1:9002"}, weights: {blue: 100}}\\n'
    'platform: {command: "greenflag demo-app --port {port} --version {version}"}\\n'
    "strategy: {canary: {steps: [{set_weight: 100}]}}\\n' > greenflag.yaml"
)
SPLIT = [
    "greenflag demo-app --port 9001 --version v1 &",
    "greenflag demo-app --port 9002 --version v2 &",
    ROUTER_SPEC,
    "greenflag router serve -f greenflag.yaml --weight blue=50 --weight green=50 &",
    "greenflag load run http://127.0.0.1:8100/ --rate 200 --duration 2m --quiet &",
]
# What the examples of each command module assume is running (DEFAULT_SETUP for a module not named here).
SETUP: dict[str, list[str]] = {
    "greenflag.cli.probe": [DEMO_APP],
    "greenflag.cli.load": [DEMO_APP, "cp -r examples/journeys.py examples/data ."],
    "greenflag.cli.demo_app": [],
    "greenflag.cli.analysis": SPLIT,
    "greenflag.cli.router": SPLIT[:3],
    "greenflag.cli.up": [SPEC],
    "greenflag.cli.rollout": [SPEC],
}
DEFAULT_SETUP = [DEMO_APP, SPEC]
# --help examples that do not run here, each with the reason.
SKIP = {
    "greenflag demo": "the whole story takes minutes; tests/e2e/test_demo.py runs `greenflag demo --quick`",
    "greenflag demo --quick --out out/demo": "about a minute, too long for the docs suite; tests/e2e/test_demo.py "
    "runs `greenflag demo --quick`",
}


def help_modules() -> list[str]:
    from greenflag.cli import COMMAND_MODULES
    from greenflag.cli.check import SUBCOMMAND_MODULES

    return [m for m in (*COMMAND_MODULES, *SUBCOMMAND_MODULES) if m != "greenflag.cli.check"]


def help_examples(module_name: str) -> list[str]:
    """The `greenflag …` command lines of a module's EPILOG strings, in order (continuations joined)."""
    module = importlib.import_module(module_name)
    out: list[str] = []
    for name, value in vars(module).items():  # in the order they are defined
        if name.endswith("EPILOG") and isinstance(value, str):
            for command in parse_shell(value, 1):
                text = command.code.strip() + (" &" if command.background else "")
                if text.startswith("greenflag ") and text not in out:
                    out.append(text)
    return out


def page_job(name: str, tmp: Path) -> str | None:
    """Run one page; its failure, or None."""
    try:
        run_page(parse_page(name, (ROOT / name).read_text()), Sandbox(tmp))
    except AssertionError as exc:
        return str(exc)
    return None


def help_job(module_name: str, tmp: Path) -> str | None:
    """Run one command module's --help examples after its setup; servers go to the background."""
    examples = [e for e in help_examples(module_name) if e.removesuffix(" &") not in SKIP]
    if not examples:
        return None
    foreign = [e for e in examples if foreign_addresses(e)]
    if foreign:
        return f"{module_name}: --help examples must target 127.0.0.1: {foreign}"
    lines = [*SETUP.get(module_name, DEFAULT_SETUP)]
    lines += [e if e.endswith("&") or not SERVER.match(e) else e + " &" for e in examples]
    sandbox = Sandbox(tmp)
    try:
        sandbox.prepare()
        commands = parse_shell("\n".join(rewrite_ports(line, sandbox.ports) for line in lines), 1)
        sandbox.run_commands(commands, f"{module_name} --help examples")
    except AssertionError as exc:
        return str(exc)
    finally:
        sandbox.close()
    return None


def expected_cost(key: str) -> int:
    """A rough order for starting jobs, the longest first: rollouts that wait, then load runs."""
    kind, _, name = key.partition(":")
    text = (ROOT / name).read_text() if kind == "page" else "\n".join(help_examples(name))
    return 10 * text.count("--wait") + 3 * text.count("load run") + text.count("--duration")


def run_jobs(jobs: dict[str, Callable[[], str | None]]) -> dict[str, Future[str | None]]:
    """Start every job, WORKERS at a time (longest first is up to the caller's order); results as futures."""
    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="docs")
    futures = {key: pool.submit(job) for key, job in jobs.items()}
    pool.shutdown(wait=False)
    return futures
