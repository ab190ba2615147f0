"""`greenflag up`: run the embedded router, the process supervisor and the rollout controller, in the foreground."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer

__all__ = ["register"]

EPILOG = """\
Examples:

  greenflag up -f greenflag.yaml                 # foreground (a terminal or a systemd unit)
  greenflag rollout start -f greenflag.yaml --version v2 --wait    # from another terminal

Traffic: router.listen; router admin API: router.admin (its GET /metrics has the router's and the
controller's Prometheus series); the rollout API address is written to
{state_dir}/up.json. All use the bearer token in router.admin_token_file (created on first start).
SIGTERM/Ctrl-C stops the instances too, unless --keep-instances; after a crash the next `up`
re-adopts the running instances and resumes the rollout from the journal (only with the spec that
rollout started with). An address it cannot listen on (router.listen, router.admin, --api) exits 2
with one line naming the key.
"""


async def _serve(file: Path, api: str, keep_instances: bool) -> None:
    from greenflag.config import load_spec
    from greenflag.ops.controller_metrics import controller_collector
    from greenflag.rollout.up import Up

    up = Up(load_spec(file), api=api, keep_instances=keep_instances, collectors=[controller_collector])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await up.start()
        typer.echo(
            f"greenflag up: {up.spec.service}: router {up.router_url or up.spec.router.kind}, "
            + (f"admin {up.admin_url}, " if up.admin_url else "")
            + f"rollout API {up.api_url}",
        )
        await up.run(stop)
    finally:
        await up.stop()


def up(
    file: Path = typer.Option(Path("greenflag.yaml"), "-f", "--file", help="The release spec (greenflag.yaml)."),
    api: str = typer.Option("127.0.0.1:0", "--api", help="HOST:PORT of the rollout API (0 = a free port)."),
    keep_instances: bool = typer.Option(False, "--keep-instances", help="Leave the instances running on exit."),
) -> None:
    """Run the long-lived side: embedded router + process supervisor + rollout controller + API."""
    asyncio.run(_serve(file, api, keep_instances))


def register(app: typer.Typer) -> None:
    app.command("up", epilog=EPILOG, rich_help_panel=None)(up)
