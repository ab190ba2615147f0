"""`greenflag router serve | set-weights | status`: run the embedded router, steer any router kind."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer

from greenflag.cli.common import option_duration, parse_kv, parse_option
from greenflag.errors import UsageError

__all__ = ["register"]

SERVE_EPILOG = """\
Examples:

  greenflag router serve --listen 127.0.0.1:8000 --backend blue=http://127.0.0.1:9001 \\
      --backend green=http://127.0.0.1:9002 --weight blue=90 --weight green=10 \\
      --admin 127.0.0.1:8001 --admin-token-file .greenflag/token

  greenflag router serve -f greenflag.yaml          # the `router:` section

The admin token file is created (mode 0600) with a random token when it does not exist.
An --admin address beyond loopback needs a token of 32+ characters, chmod 600.
The admin API adds backends only on loopback, at --backend addresses and in
--allow-backend networks (e.g. private); never link-local or metadata ones.
"""

CLIENT_EPILOG = """\
Examples:

  greenflag router set-weights blue=0 green=100 -f greenflag.yaml

  greenflag router status --json --admin http://127.0.0.1:8001 --admin-token-file .greenflag/token

  greenflag router stats --export stats.jsonl -f greenflag.yaml      # per second and backend, for analysis replay
"""

FILE_OPT = typer.Option(None, "-f", "--file", help="greenflag.yaml with a `router:` section.")
ADMIN_URL_OPT = typer.Option(None, "--admin", help="Admin API URL of an embedded router (http://HOST:PORT).")
TOKEN_OPT = typer.Option(None, "--admin-token-file", help="File holding the admin bearer token.")


def _router_spec(file: Path | None) -> tuple[Any, Path | None]:
    from greenflag.config import load_spec
    from greenflag.spec import RouterSpec

    if file is None:
        return RouterSpec(), None
    spec = load_spec(file)
    return spec.router, file.resolve().parent


def _resolve(base: Path | None, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base is None else base / p


def _serve_spec(
    file: Path | None,
    listen: str | None,
    backend: list[str],
    weight: list[str],
    admin: str | None,
    sticky: bool | None,
    drain_timeout: str | None,
    max_body_size: str | None = None,
    allow_backend: list[str] | None = None,
) -> tuple[Any, Path | None]:
    from greenflag.units import parse_host_port

    spec, base = _router_spec(file)
    if spec.kind != "embedded":
        raise UsageError(f"router.kind is {spec.kind!r}: `router serve` runs only the embedded router")
    changes: dict[str, Any] = {}
    if listen is not None:
        parse_option("--listen", listen, parse_host_port)
        changes["listen"] = listen
    if admin is not None:
        parse_option("--admin", admin, parse_host_port)
        changes["admin"] = admin
    if backend:
        changes["backends"] = dict(parse_kv("--backend", b) for b in backend)
    if weight:
        changes["weights"] = {
            k: parse_option("--weight", v, _int_weight) for k, v in (parse_kv("--weight", w) for w in weight)
        }
    if sticky is not None:
        changes["sticky"] = sticky
    if drain_timeout is not None:
        changes["drain_timeout"] = option_duration("--drain-timeout", drain_timeout)
    if max_body_size is not None:
        from greenflag.units import parse_size

        changes["max_body_size"] = parse_option("--max-body-size", max_body_size, parse_size)
    if allow_backend:
        from greenflag.traffic.embedded.policy import parse_networks

        for item in allow_backend:
            parse_option("--allow-backend", item, lambda text: parse_networks([text]))
        changes["allow_backends"] = [*spec.allow_backends, *allow_backend]
    spec = spec.model_copy(update=changes)
    if not spec.backends:
        raise UsageError("--backend: give at least one NAME=URL (or router.backends in greenflag.yaml)")
    return spec, base


def _int_weight(text: str) -> int:
    if not text.isdigit():
        raise ValueError("expected a non-negative integer weight")
    return int(text)


async def _serve(spec: Any, token: str | None, token_file: Path | None = None) -> None:
    import signal

    from greenflag.traffic.embedded.server import EmbeddedRouter

    try:
        router = EmbeddedRouter(spec, admin_token=token, admin=token is not None, admin_token_file=token_file)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        await router.start()
    except OSError as exc:
        raise UsageError(f"--listen/--admin: cannot listen: {exc.strerror or exc}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    admin = f" (admin {router.admin_url})" if router.admin_url else ""
    print(f"listening on {router.url}{admin}", flush=True)
    await stop.wait()
    await router.stop(grace=spec.drain_timeout)


def _run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _client(file: Path | None, admin: str | None, token_file: Path | None) -> Any:
    from greenflag.traffic.embedded.admin_token import read_token
    from greenflag.traffic.embedded.driver import EmbeddedRouterClient
    from greenflag.traffic.registry import make_router

    if admin is not None:
        if token_file is None:
            raise UsageError("--admin needs --admin-token-file")
        try:
            return EmbeddedRouterClient(admin, read_token(token_file))
        except ValueError as exc:
            raise UsageError(f"--admin-token-file: {exc}") from None
    if file is None:
        raise UsageError("say which router: -f greenflag.yaml, or --admin URL --admin-token-file F")
    spec, base = _router_spec(file)
    try:
        return make_router(spec, base_dir=base)
    except ValueError as exc:
        raise UsageError(f"{file}: {exc}") from None


async def _set_weights(client: Any, weights: dict[str, int]) -> dict[str, int] | None:
    try:
        await client.apply(weights)
        observed: dict[str, int] | None = await client.observe()
        return observed
    except (ConnectionError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    finally:
        await client.aclose()


async def _status(client: Any, window_s: float) -> dict[str, Any]:
    from greenflag.traffic.base import RouterStats

    try:
        out: dict[str, Any] = {"weights": await client.observe()}
        if hasattr(client, "backends"):
            out["backends"] = await client.backends()
        if isinstance(client, RouterStats):
            windows = await client.stats(window_s)
            out["stats"] = {  # a router that counts only from its first look (HAProxy) has no window yet
                name: {"requests": w.requests, "error_rate": w.error_rate, "p95_ms": w.p95_ms, "responses": w.responses}
                | ({} if w.synthetic is None else {"synthetic": w.synthetic.requests})
                for name, w in windows.items()
                if w.window_s > 0
            }
        return out
    except ConnectionError as exc:
        raise UsageError(str(exc)) from None
    finally:
        await client.aclose()


async def _export(client: Any, out: Path | None, follow_s: float) -> int:
    """Write the router's kept seconds (JSON lines) to `out` (stdout when None); with `follow_s`, go on appending
    each new second for that long. Returns the lines written."""
    import time

    if not hasattr(client, "stats_export"):
        await client.aclose()
        raise UsageError("router stats --export: only the embedded router keeps per-second stats to export")
    written, since = 0, None
    deadline = time.monotonic() + follow_s
    stream = out.open("w", encoding="utf-8") if out is not None else None
    try:
        while True:
            try:
                lines = await client.stats_export(since)
            except ConnectionError as exc:
                raise UsageError(str(exc)) from None
            for line in lines:
                text = json.dumps(line, separators=(", ", ": "))
                if stream is not None:
                    stream.write(text + "\n")
                else:
                    typer.echo(text)
                since = max(since or 0.0, float(line["time"]) + 1.0)
            written += len(lines)
            if stream is not None:
                stream.flush()
            if time.monotonic() >= deadline:
                return written
            await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    finally:
        if stream is not None:
            stream.close()
        await client.aclose()


def _print_status(status: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("backend", "weight", "state", "in flight", "req/10s", "errors", "p95 ms")
    backends = status.get("backends") or {}
    stats = status.get("stats") or {}
    for name, weight in sorted((status.get("weights") or {}).items()):
        b = backends.get(name, {})
        s = stats.get(name, {})
        rate = s.get("error_rate")
        p95 = s.get("p95_ms")
        table.add_row(
            name, str(weight), str(b.get("state", "-")), str(b.get("in_flight", "-")), str(s.get("requests", "-")),
            "-" if rate is None else f"{rate:.2%}", "-" if p95 is None else f"{p95:.1f}",
        )  # fmt: skip
    Console().print(table)


def register(app: typer.Typer) -> None:
    from greenflag.cli import router_config

    router_app = typer.Typer(help="The embedded traffic router, and steering any router kind.", no_args_is_help=True)
    app.add_typer(router_app, name="router")
    router_config.register(router_app)

    @router_app.command("serve", epilog=SERVE_EPILOG)
    def serve(
        file: Path | None = FILE_OPT,
        listen: str | None = typer.Option(None, "--listen", help="HOST:PORT for traffic (default 127.0.0.1:8000)."),
        backend: list[str] = typer.Option([], "--backend", help="NAME=URL, repeatable."),
        weight: list[str] = typer.Option([], "--weight", help="NAME=N (integers, normalised), repeatable."),
        admin: str | None = typer.Option(None, "--admin", help="HOST:PORT of the admin API (default 127.0.0.1:8001)."),
        token_file: Path | None = TOKEN_OPT,
        no_admin: bool = typer.Option(False, "--no-admin", help="Run without the admin API."),
        sticky: bool | None = typer.Option(None, "--sticky/--no-sticky", help="Pin clients to a backend by cookie."),
        drain_timeout: str | None = typer.Option(
            None, "--drain-timeout", help="e.g. 30s: open streams are ended after it."
        ),
        max_body_size: str | None = typer.Option(
            None, "--max-body-size", help="Largest request body, e.g. 10m (default 100m; 0: no limit); else 413."
        ),
        allow_backend: list[str] = typer.Option(
            [], "--allow-backend", help="Network the admin API may add backends in (10.0.0.0/8, private), repeatable."
        ),
    ) -> None:
        """Run the embedded reverse proxy (weights, sticky sessions, header route, drain) with its admin API."""
        from greenflag.traffic.embedded.admin_token import load_or_create_token

        spec, base = _serve_spec(
            file, listen, backend, weight, admin, sticky, drain_timeout, max_body_size, allow_backend
        )
        token = path = None
        if not no_admin:
            path = token_file if token_file is not None else _resolve(base, spec.admin_token_file)
            try:
                token = load_or_create_token(path)
            except (ValueError, OSError) as exc:
                raise UsageError(f"--admin-token-file: {exc}") from None
        _run(_serve(spec, token, path))

    @router_app.command("set-weights", epilog=CLIENT_EPILOG)
    def set_weights(
        weights: list[str] = typer.Argument(..., help="NAME=N pairs, e.g. blue=0 green=100."),
        file: Path | None = FILE_OPT,
        admin: str | None = ADMIN_URL_OPT,
        token_file: Path | None = TOKEN_OPT,
    ) -> None:
        """Set traffic weights on the router (atomic; backends not named get 0; in-flight requests finish where they
        started). Prints the weights read back from the router."""
        parsed = {k: parse_option(f"weight {k}", v, _int_weight) for k, v in (parse_kv("weight", w) for w in weights)}
        observed = _run(_set_weights(_client(file, admin, token_file), parsed))
        typer.echo("weights: " + " ".join(f"{k}={v}" for k, v in sorted((observed or parsed).items())))

    @router_app.command("status", epilog=CLIENT_EPILOG)
    def status(
        file: Path | None = FILE_OPT,
        admin: str | None = ADMIN_URL_OPT,
        token_file: Path | None = TOKEN_OPT,
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        window: str = typer.Option("10s", "--window", help="Stats window, e.g. 10s."),
    ) -> None:
        """Show weights, backend states (active, draining, drained, down) and recent per-backend stats."""
        window_s = option_duration("--window", window)
        result = _run(_status(_client(file, admin, token_file), window_s))
        if as_json:
            typer.echo(json.dumps(result, indent=2, sort_keys=True))
        else:
            _print_status(result)

    @router_app.command("stats", epilog=CLIENT_EPILOG)
    def stats(
        file: Path | None = FILE_OPT,
        admin: str | None = ADMIN_URL_OPT,
        token_file: Path | None = TOKEN_OPT,
        export: Path | None = typer.Option(None, "--export", help="Write the JSON lines to FILE (default: stdout)."),
        follow: str = typer.Option("0s", "--follow", help="Keep appending new seconds for this long, e.g. 10m."),
    ) -> None:
        """Export the embedded router's per-second stats (the last 5 minutes; with --follow, on): one JSON line per
        second and backend with its responses, transport errors, latency histogram and analysis-traffic part —
        what `greenflag analysis replay --stats FILE` reads."""
        follow_s = option_duration("--follow", follow)
        written = _run(_export(_client(file, admin, token_file), export, follow_s))
        if export is not None:
            typer.echo(f"{written} lines written to {export}", err=True)
