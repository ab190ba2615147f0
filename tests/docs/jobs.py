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

SERVER = re.compile(r"^greenflag (demo-app|router serve|up|dashboard)\b")
EXIT = re.compile(r"^exits? (\d+)\b")  # an example's comment `# exits 5`: the exit code it documents
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
# A drill.yaml and an SQLite database, for the drill examples
DRILL_FILES = [
    "printf 'objectives: {rto: 15m, rpo: 5m}\\nheartbeat: {duration: 2s}\\n' > drill.yaml",
    "python3 -c \"import sqlite3; sqlite3.connect('app.db').executescript("
    "'CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER); INSERT INTO orders (total) VALUES (10), (20);')\"",
]
# A rollout in the journal, for the report examples
ROLLED_OUT = [SPEC, "greenflag up -f greenflag.yaml &", "greenflag rollout start -f greenflag.yaml --version v1 --wait"]
# What the examples of each command module assume is running (DEFAULT_SETUP for a module not named here).
SETUP: dict[str, list[str]] = {
    "greenflag.cli.probe": [DEMO_APP],
    "greenflag.cli.load": [DEMO_APP, "cp -r examples/journeys.py examples/data ."],
    "greenflag.cli.demo_app": [],
    "greenflag.cli.analysis": SPLIT,
    "greenflag.cli.router": SPLIT[:3],
    "greenflag.cli.up": [SPEC],
    "greenflag.cli.rollout": [SPEC],
    "greenflag.cli.drill": DRILL_FILES,
    "greenflag.cli.report": [DEMO_APP, *ROLLED_OUT],
    "greenflag.cli.dashboard": [DEMO_APP, SPEC, "greenflag up -f greenflag.yaml &"],
    "greenflag.cli.check.all": [DEMO_APP, "cp examples/readiness.yaml greenflag.yaml"],
}
DEFAULT_SETUP = [DEMO_APP, SPEC]
_AWS = "creates CloudWatch alarms in an AWS account; tests/integration/ops/test_cloudwatch.py creates them in moto's"
_TLS_PAGE = "needs a TLS server with a private CA; tests/integration/readiness/test_docs_check_tls_dns.py runs it"
_DNS_PAGE = "needs authoritative servers on 127.0.0.1/2; tests/integration/readiness/test_docs_check_tls_dns.py runs it"
_PUBLIC = "asks a public host (no internet here)"
# --help examples that do not run here, each with the reason.
SKIP = {
    "greenflag demo": "the whole story takes minutes; tests/e2e/test_demo.py runs `greenflag demo --quick`",
    "greenflag demo --quick --out out/demo": "about a minute, too long for the docs suite; tests/e2e/test_demo.py "
    "runs `greenflag demo --quick`",
    "greenflag demo --quick --html out/demo/report.html --dashboard": "the quick demo again; tests/e2e/test_demo.py "
    "runs `greenflag demo --quick` with --html, --junit and --dashboard",
    "greenflag ops cloudwatch-alarms -f greenflag.yaml --alarm-action arn:aws:sns:eu-west-1:123456789012:oncall": _AWS,
    'greenflag ops cloudwatch-alarms -f greenflag.yaml --region eu-west-1 --listener-arn "$LISTENER_ARN" '
    '--target-group blue="$BLUE_TG_ARN" --target-group green="$GREEN_TG_ARN"': _AWS,
    "greenflag check tls example.com": _PUBLIC,
    "greenflag check tls localhost:8443 --ca-file ca.pem --json": _TLS_PAGE,
    "greenflag check tls shop.example.test:8443 --resolve shop.example.test:8443:127.0.0.1 --ca-file ca.pem "
    "--min-grade B": _TLS_PAGE,
    "greenflag check tls 127.0.0.1:8443 --sni localhost --ca-file ca.pem --min-grade B": _TLS_PAGE,
    "greenflag check dns www.example.com": _PUBLIC,
    "greenflag check dns www.example.com --resolver 1.1.1.1 --resolver 8.8.8.8 --json": _PUBLIC,
    "greenflag check dns www.example.test --nameserver 127.0.0.1:5301 --nameserver 127.0.0.2:5301": _DNS_PAGE,
    "greenflag check waf https://shop.example.com/search --resolve shop.example.com:443:127.0.0.1 --ca-file ca.pem "
    "--block-status 403,406 --budget 500 --rate 20 --json": "needs a WAF behind TLS with a private CA; "
    "tests/integration/readiness/test_check_waf.py runs check waf against nginx with ModSecurity and the CRS",
    "greenflag check headers https://shop.example.com/": _PUBLIC,
    "greenflag check headers https://shop.example.com/ --resolve shop.example.com:443:127.0.0.1 --resolve "
    "shop.example.com:80:127.0.0.1 --ca-file ca.pem --min-grade A --json": "needs TLS sites with a private CA; "
    "tests/integration/readiness/test_check_headers.py runs the same options against nginx",
}


def help_modules() -> list[str]:
    from greenflag.cli import COMMAND_MODULES
    from greenflag.cli.check import SUBCOMMAND_MODULES

    return [m for m in (*COMMAND_MODULES, *SUBCOMMAND_MODULES) if m != "greenflag.cli.check"]


def help_examples(module_name: str) -> list[str]:
    """The `greenflag …` command lines of a module's EPILOG strings, in order (continuations joined)."""
    return list(_help_examples(module_name))


def _help_examples(module_name: str) -> dict[str, int]:
    """Each `greenflag …` example of a module's EPILOG strings → the exit code its comment documents (`# exits 4`;
    none: 0)."""
    module = importlib.import_module(module_name)
    out: dict[str, int] = {}
    for name, value in vars(module).items():  # in the order they are defined
        if name.endswith("EPILOG") and isinstance(value, str):
            for command in parse_shell(value, 1):
                text = command.code.strip() + (" &" if command.background else "")
                if text.startswith("greenflag ") and text not in out:
                    code = EXIT.match(command.comment)
                    out[text] = int(code.group(1)) if code else 0
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
    examples = {e: rc for e, rc in _help_examples(module_name).items() if e.removesuffix(" &") not in SKIP}
    if not examples:
        return None
    foreign = [e for e in examples if foreign_addresses(e)]
    if foreign:
        return f"{module_name}: --help examples must target 127.0.0.1: {foreign}"
    lines = [*SETUP.get(module_name, DEFAULT_SETUP)]
    for example, rc in examples.items():
        lines.append(example if example.endswith("&") or not SERVER.match(example) else example + " &")
        lines += [f"echo $?   # {rc}"] if rc else []
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
