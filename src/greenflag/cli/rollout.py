"""`greenflag rollout start | plan | status | promote | abort | undo | retry | resume | history | watch`.

Reaches a running `greenflag up` through its API (token-protected); without one, reads and writes the
journal directly and runs the controller in this process for `--wait`.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import typer

from greenflag.cli import rollout_plan
from greenflag.cli.outputs import DASHBOARD_OPT, DASHBOARD_PORT_OPT, HTML_OPT, JUNIT_OPT, close_outputs, open_outputs
from greenflag.errors import ExitCode, UsageError

__all__ = ["register"]

FILE_OPT = typer.Option(Path("greenflag.yaml"), "-f", "--file", help="The release spec (greenflag.yaml).")
JSON_OPT = typer.Option(False, "--json", help="Print the rollout's status as JSON (keys: docs/rollouts.md).")
WAIT_OPT = typer.Option(False, "--wait", help="Follow to the end: exit 0 when promoted, 3 when rolled back.")

EPILOG = """\
Examples:

  greenflag up -f greenflag.yaml &                                # router + supervisor + controller
  greenflag rollout start -f greenflag.yaml --version v1 --wait --html out/v1.html --junit out/v1.xml
  greenflag rollout plan -f greenflag.yaml                        # steps, analysis traffic, time to detect
  greenflag rollout start -f greenflag.yaml --version v2          # a canary (judged on its traffic)
  greenflag rollout status --json
  greenflag rollout promote --full                                # skip the remaining steps: 100 % now
  greenflag rollout watch                                         # a live view, until it is done
  greenflag rollout start -f greenflag.yaml --version v3
  greenflag rollout abort                                         # roll back to v2 now
  greenflag rollout history

Without a running `greenflag up`, `start --wait` and `resume --wait` run the controller in this process
(against an external router); state is in .greenflag/state.db either way. Exit codes: 0 promoted / done,
2 usage or config error, 3 rolled back.

One spec, no surprises: a rollout runs with the spec `greenflag up` was started with. `start`, `undo` and
`retry -f FILE` exit 2 naming the keys when FILE differs from it (restart `up` with FILE to use it); a
rollout in progress is continued only with the spec it started with.
"""


class _Target:
    """Where the rollout lives: a running `up` (API) or the journal directly."""

    def __init__(self, file: Path) -> None:
        from greenflag.config import load_spec
        from greenflag.rollout.runtime import read_up_info, resolve_paths, token_path

        self.spec = resolve_paths(load_spec(file))
        self.info = read_up_info(self.spec)
        self.api: Any = None
        if self.info is not None:
            from greenflag.rollout.api import ApiClient
            from greenflag.traffic.embedded.admin_token import read_token

            try:
                token = read_token(token_path(self.spec))
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            self.api = ApiClient(str(self.info["api"]), token)
        self._store: Any = None

    @property
    def store(self) -> Any:
        if self._store is None:
            from greenflag.rollout.store import Store

            self._store = Store.for_state_dir(self.spec.state_dir)
        return self._store

    def status(self, *, read_router: bool = False) -> dict[str, Any]:
        """The latest rollout's status; through `up`, or from the journal (and, with `read_router`, the weights
        read back from the router now)."""
        if self.api is not None:
            result: dict[str, Any] = self.api.call("GET", "/api/status")
            return result
        from greenflag.rollout.ops import status_json

        return status_json(self.store.latest(self.spec.service), self._read_router() if read_router else None)

    def _read_router(self) -> dict[str, int] | None:
        """The router's weights (its `observe()`), or None when it cannot be reached within 2 s."""
        from greenflag.traffic.registry import make_router

        async def read() -> dict[str, int] | None:
            base = self.spec.source.parent if self.spec.source is not None else None
            router = make_router(self.spec.router, base_dir=base)
            try:
                return await asyncio.wait_for(router.observe(), 2.0)
            finally:
                await router.aclose()

        try:
            return asyncio.run(read())
        except Exception:  # not reachable: the journal's last read-back is shown (weights_source: journal)
            return None

    def history(self, limit: int) -> list[dict[str, Any]]:
        if self.api is not None:
            return list(self.api.call("GET", f"/api/history?limit={limit}")["rollouts"])
        return [s.to_json() for s in self.store.history(self.spec.service, limit)]

    def command(self, kind: str) -> dict[str, Any]:
        if self.api is not None:
            result: dict[str, Any] = self.api.call("POST", "/api/commands", {"kind": kind})
            return result
        from greenflag.rollout.ops import post_command

        return post_command(self.store, self.spec.service, kind).to_json()


def _print_event(event: dict[str, Any]) -> None:
    stamp = str(event["time"])[11:19]
    typer.echo(f"{stamp}  {event['kind']:<12} {event['message']}")


def _finish(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(status, indent=2))
    if status.get("phase") == "RolledBack":
        typer.echo(f"greenflag: rolled back: {status.get('abort_reason')}", err=True)
        raise typer.Exit(int(ExitCode.ROLLED_BACK))
    if not as_json:
        typer.echo(f"{status['service']}: {status['version']} promoted; stable is {status['stable']}")


def _follow_api(target: _Target, rollout_id: int | None, as_json: bool, outputs: Any = None) -> None:
    seen = 0
    while True:
        status = target.status()
        if rollout_id is None:
            rollout_id = status.get("rollout_id")
        if status.get("rollout_id") == rollout_id:
            if outputs is not None:
                outputs.on_status(status)
            events = status.get("events", [])
            if not as_json:
                for event in events[seen:]:
                    _print_event(event)
            seen = len(events)
            if status.get("stage") == "done":
                close_outputs(outputs, "greenflag rollout")
                _finish(status, as_json)
                return
        time.sleep(0.3)


def _run_here(target: _Target, version: str | None, as_json: bool, outputs: Any = None) -> None:
    from greenflag.rollout.model import Status
    from greenflag.rollout.runtime import run_rollout

    printed: set[tuple[float, str]] = set()

    def show(status: Status) -> None:
        if outputs is not None:
            outputs.on_status(status.to_json())
        for event in status.events:
            key = (event.time, event.message)
            if key not in printed:
                printed.add(key)
                if not as_json:
                    _print_event(event.to_json())

    final = asyncio.run(run_rollout(target.spec, version, on_status=show))
    close_outputs(outputs, "greenflag rollout")
    _finish(final.to_json(), as_json)


def _start(
    target: _Target,
    body: dict[str, Any],
    version: str | None,
    wait: bool,
    as_json: bool,
    outputs: Any = None,
    *,
    announce: bool = False,
) -> None:
    if outputs is not None and not wait:
        raise UsageError("--html, --junit and --dashboard follow the rollout: add --wait")
    if target.api is None and not wait:
        raise UsageError(
            f"no `greenflag up` is running for {target.spec.state_dir}: start one, or pass --wait to run the "
            "rollout in this process"
        )
    if announce:
        _announce(target, as_json)
    if target.api is not None:
        from greenflag.rollout.controller import spec_json

        # up refuses (exit 2, naming the keys) when this file is not the spec it runs
        status = target.api.call("POST", "/api/rollouts", {**body, "spec": spec_json(target.spec)})
        if wait:
            _follow_api(target, status["rollout_id"], as_json, outputs)
        else:
            typer.echo(json.dumps(status, indent=2) if as_json else f"rollout of {status['version']} started")
        return
    _run_here(target, version, as_json, outputs)


def start(
    version: str = typer.Option(
        ..., "--version", help="The version to roll out: [A-Za-z0-9][A-Za-z0-9._-]{0,63} (the platform's {version})."
    ),
    file: Path = FILE_OPT,
    wait: bool = WAIT_OPT,
    as_json: bool = JSON_OPT,
    html: Path | None = HTML_OPT,
    junit: Path | None = JUNIT_OPT,
    dashboard: bool = DASHBOARD_OPT,
    dashboard_port: int = DASHBOARD_PORT_OPT,
) -> None:
    """Roll out VERSION (canary or blue-green, per the spec). The first rollout is the initial deployment.

    VERSION is a version name: a letter or digit, then up to 63 letters, digits, '.', '_' or '-'
    ([A-Za-z0-9][A-Za-z0-9._-]{0,63}); anything else exits 2. The platform gets it as {version} in the
    already-split command and as GREENFLAG_VERSION in the environment."""
    from greenflag.spec import check_version

    try:
        check_version(version)
    except ValueError as exc:
        raise UsageError(f"--version: {exc}") from None
    target = _Target(file)
    title = f"greenflag rollout {target.spec.service} {version}"
    if (html or junit or dashboard) and not wait:
        raise UsageError("--html, --junit and --dashboard follow the rollout: add --wait")
    outputs = open_outputs(title, html=html, junit=junit, dashboard=dashboard, dashboard_port=dashboard_port)
    _start(target, {"version": version}, version, wait, as_json, outputs, announce=True)


def _announce(target: _Target, as_json: bool) -> None:
    """Before a rollout that has a stable version: its time to detect faults (`rollout plan`), on stderr with
    --json. Never stops the rollout."""
    from greenflag.cli.rollout_plan import forecast_for, print_forecast

    if target.api is None and not (Path(target.spec.state_dir) / "state.db").exists():
        return  # no journal yet: the initial deployment (and nothing is created by looking)
    try:
        latest = target.status()
    except Exception:  # the status is read again by the start itself, which reports its own errors
        return
    if latest.get("stable") is None or latest.get("stage") not in (None, "done"):
        return  # the initial deployment (no analysis), or a rollout still in progress (start refuses it)
    print_forecast(forecast_for(target.spec), err=as_json)


def undo(file: Path = FILE_OPT, wait: bool = WAIT_OPT, as_json: bool = JSON_OPT) -> None:
    """Roll out the version that was stable before the current one."""
    from greenflag.rollout.ops import undo_version

    target = _Target(file)
    version = None if target.api is not None else undo_version(target.store, target.spec.service)
    _start(target, {"undo": True}, version, wait, as_json)


def retry(file: Path = FILE_OPT, wait: bool = WAIT_OPT, as_json: bool = JSON_OPT) -> None:
    """Start the last rolled-back rollout again."""
    from greenflag.rollout.ops import retry_version

    target = _Target(file)
    version = None if target.api is not None else retry_version(target.store, target.spec.service)
    _start(target, {"retry": True}, version, wait, as_json)


def resume(file: Path = FILE_OPT, wait: bool = WAIT_OPT, as_json: bool = JSON_OPT) -> None:
    """Resume a paused rollout; without `up`, with --wait, continue the journaled rollout in this process.

    After an Inconclusive analysis (not enough evidence; analysis.on_inconclusive: pause) resume analyses again:
    a fresh run with the step's full duration. `rollout promote` accepts the result instead."""
    target = _Target(file)
    latest = target.status()
    if latest.get("phase") == "Paused":
        target.command("resume")
    if target.api is not None:
        if wait:
            _follow_api(target, latest.get("rollout_id"), as_json)
        return
    if latest.get("phase") is None:
        raise UsageError(f"no rollout of {target.spec.service} to resume")
    if latest.get("stage") == "done" and not wait:
        typer.echo(f"the last rollout is {latest['phase']}; nothing to resume")
        return
    if not wait:
        raise UsageError("no `greenflag up` is running: pass --wait to continue the rollout in this process")
    _run_here(target, None, as_json)


def _command(kind: str, file: Path, as_json: bool) -> None:
    status = _Target(file).command(kind)
    typer.echo(json.dumps(status, indent=2) if as_json else f"{kind.replace('_', ' ')} requested ({status['version']})")


def promote(
    file: Path = FILE_OPT,
    full: bool = typer.Option(False, "--full", help="Skip all remaining steps: 100 % now."),
    as_json: bool = JSON_OPT,
) -> None:
    """Skip the current pause or analysis step (or, with --full, every remaining step). On a rollout paused by an
    Inconclusive analysis, accept it and move on."""
    _command("promote_full" if full else "promote", file, as_json)


def abort(file: Path = FILE_OPT, as_json: bool = JSON_OPT) -> None:
    """Roll back now: 100 % to stable, then on_rollback hooks, then stop the canary."""
    _command("abort", file, as_json)


def status(file: Path = FILE_OPT, as_json: bool = JSON_OPT) -> None:
    """Show the current (or last) rollout: phase, versions, weights, step and recent events.

    The weights shown are the ones the router holds, read back from it (`weights_source`: router, or journal
    when only the controller's last read-back is at hand); `intended_weights` are what the rollout asks for,
    and `weights_differ` / `weights_note` say when the two differ."""
    from greenflag.rollout.view import render_status

    data = _Target(file).status(read_router=True)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        render_status(data)


def history(
    file: Path = FILE_OPT, limit: int = typer.Option(20, "--limit", help="How many rollouts."), as_json: bool = JSON_OPT
) -> None:
    """List past rollouts, newest first."""
    from greenflag.rollout.view import render_history

    rows = _Target(file).history(limit)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        render_history(rows)


def watch(
    file: Path = FILE_OPT,
    interval: float = typer.Option(0.5, "--interval", help="Seconds between refreshes."),
) -> None:
    """Live view of the rollout until it is done (Ctrl-C to leave)."""
    from greenflag.rollout.view import watch_status

    target = _Target(file)
    watch_status(target.status, interval)


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Release a version: canary or blue-green with automated rollback.",
        no_args_is_help=True,
        epilog=EPILOG,
        rich_markup_mode=None,
    )
    for fn in (start, status, promote, abort, undo, retry, resume, history, watch):
        group.command(fn.__name__, epilog=EPILOG)(fn)
    rollout_plan.register(group)
    app.add_typer(group, name="rollout")
