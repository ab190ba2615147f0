"""`greenflag demo-app`: the reference service (pages, contact form, JSON API, SSE, fault options)."""

from __future__ import annotations

import typer

from greenflag.errors import UsageError

__all__ = ["register"]

EPILOG = """\
Examples:

  greenflag demo-app --port 8080 --version v1

  greenflag demo-app --port 0 --version v2 --error-rate 0.05 --latency-ms 200

The second is a bad release (5 % errors, +200 ms) on a free port. It prints 'listening on
http://127.0.0.1:PORT' once the port is bound, and is ready when /healthz/ready answers 200.
"""


def register(app: typer.Typer) -> None:
    @app.command("demo-app", epilog=EPILOG)
    def demo_app(
        port: int = typer.Option(..., "--port", help="TCP port; 0 picks a free one (printed on stdout)."),
        version: str = typer.Option(..., "--version", help="Version string shown in every page and /version."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        db: str | None = typer.Option(None, "--db", help="SQLite file (WAL). Default: a temporary file."),
        sse_interval_ms: int = typer.Option(500, "--sse-interval-ms", help="Time between SSE events."),
        sse_retry_ms: int = typer.Option(1000, "--sse-retry-ms", help="`retry:` sent to SSE clients."),
        error_rate: float = typer.Option(0.0, "--error-rate", help="Fraction of requests answered 500."),
        latency_ms: float = typer.Option(0.0, "--latency-ms", help="Added latency per request."),
        latency_jitter_ms: float = typer.Option(0.0, "--latency-jitter-ms", help="± uniform jitter on it."),
        startup_delay_s: float = typer.Option(0.0, "--startup-delay-s", help="Extra start-up time before ready."),
        fail_readiness: bool = typer.Option(False, "--fail-readiness", help="/healthz/ready always answers 503."),
        crash_after: int | None = typer.Option(None, "--crash-after", help="Exit abruptly after N requests."),
        faults_after_s: float = typer.Option(
            0.0, "--faults-after-s", help="Error-rate and latency faults start S seconds after start-up."
        ),
        shutdown_timeout_s: float = typer.Option(
            30.0, "--shutdown-timeout-s", help="On SIGTERM, how long in-flight requests may take to finish."
        ),
        csrf_secret: str | None = typer.Option(
            None, "--csrf-secret", envvar="GREENFLAG_DEMO_CSRF_SECRET", help="Key of the CSRF tokens."
        ),
    ) -> None:
        """Run the reference service: a small real web app to release, load-test and break on purpose."""
        import asyncio

        from greenflag.demo.options import DEFAULT_CSRF_SECRET, AppOptions
        from greenflag.demo.server import StartupFailed, serve

        options = AppOptions(
            version=version,
            host=host,
            port=port,
            db=db,
            sse_interval_ms=sse_interval_ms,
            sse_retry_ms=sse_retry_ms,
            error_rate=error_rate,
            latency_ms=latency_ms,
            latency_jitter_ms=latency_jitter_ms,
            startup_delay_s=startup_delay_s,
            fail_readiness=fail_readiness,
            crash_after=crash_after,
            faults_after_s=faults_after_s,
            shutdown_timeout_s=shutdown_timeout_s,
            csrf_secret=csrf_secret or DEFAULT_CSRF_SECRET,
        )
        problems = options.problems()
        if problems:
            raise UsageError("; ".join(problems))
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
            runner = asyncio.run
        else:
            runner = uvloop.run
        try:
            runner(serve(options))
        except StartupFailed as exc:
            raise UsageError(f"--db {db or '(temporary file)'}: {exc}") from None
        except OSError as exc:
            raise UsageError(f"--host {host} --port {port}: cannot listen: {exc.strerror or exc}") from None
