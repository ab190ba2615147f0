"""`greenflag ops alert-rules | grafana | cloudwatch-alarms`: monitoring for a release, from its spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from greenflag.cli.common import option_duration, parse_kv
from greenflag.errors import UsageError

__all__ = ["parse_ratio", "register"]

FILE_HELP = "The release spec (greenflag.yaml): limits from its analysis, load and readiness sections."
OUT_OPT = typer.Option(None, "-o", "--output", help="Write here instead of standard output.")
RUNBOOK_OPT = typer.Option(
    "runbooks", "--runbook-url", help="Where `greenflag runbook` output is published (URL or path): runbook links."
)
ERROR_RATE_OPT = typer.Option(None, "--error-rate", help="Error-rate limit instead of the spec's: 0.01 or 1%.")
P95_OPT = typer.Option(None, "--p95", help="p95 latency limit instead of the spec's, e.g. 3s or 800ms.")

RULES_EPILOG = """\
Examples:

  greenflag ops alert-rules -f greenflag.yaml -o rules/greenflag.yml    # a file of Prometheus' rule_files
  promtool check rules rules/greenflag.yml

  greenflag ops alert-rules --error-rate 0.5% --p95 800ms --rpo 1m --runbook-url http://127.0.0.1:8080/runbooks

Without -f the limits are greenflag's defaults: error rate 1 %, p95 3 s, RPO 5 min, certificates 21 days.
"""

GRAFANA_EPILOG = """\
Examples:

  greenflag ops grafana -f greenflag.yaml -o greenflag-dashboard.json    # then Dashboards > New > Import
"""

CLOUDWATCH_EPILOG = """\
Examples:

  greenflag ops cloudwatch-alarms -f examples/alb.yaml --dry-run      # print the PutMetricAlarm requests
  greenflag ops cloudwatch-alarms -f greenflag.yaml --alarm-action arn:aws:sns:eu-west-1:123456789012:oncall

  greenflag ops cloudwatch-alarms -f greenflag.yaml --region eu-west-1 \\
      --listener-arn "$LISTENER_ARN" --target-group blue="$BLUE_TG_ARN" --target-group green="$GREEN_TG_ARN"

Re-running updates the alarms in place (same names); --prune deletes greenflag alarms of the service that are
no longer defined. Needs boto3 (pip install 'greenflag\\[aws]') and AWS credentials as boto3 finds them.
"""


def parse_ratio(option: str, value: str) -> float:
    """'0.01' or '1%' → 0.01; UsageError names the option."""
    text = value.strip()
    try:
        ratio = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        raise UsageError(f"{option} {value!r}: expected a ratio such as 0.01 or a percentage such as 1%") from None
    if not 0 < ratio < 1:
        raise UsageError(f"{option} {value!r}: expected a ratio between 0 and 1 (0 % and 100 %)")
    return ratio


def _load(file: Path | None) -> Any:
    if file is None:
        return None
    from greenflag.config import load_spec

    return load_spec(file)


def _limits(
    spec: Any, error_rate: str | None, p95: str | None, rpo: str | None = None, drill_max_age: str | None = None
) -> Any:
    from greenflag.ops.limits import limits_from_spec

    try:
        limits = limits_from_spec(spec)
    except ValueError as exc:
        raise UsageError(f"{spec.source}: {exc}") from None
    limits = limits.override(
        error_rate=parse_ratio("--error-rate", error_rate) if error_rate is not None else None,
        p95_s=option_duration("--p95", p95) if p95 is not None else None,
        rpo_s=option_duration("--rpo", rpo) if rpo is not None else None,
        drill_max_age_s=option_duration("--drill-max-age", drill_max_age) if drill_max_age is not None else None,
    )
    from greenflag.ops.metric_names import ROUTER_HISTOGRAM_BOUNDS_S

    for q, limit in limits.latency_s.items():
        if limit.value >= ROUTER_HISTOGRAM_BOUNDS_S[-1]:
            top = ROUTER_HISTOGRAM_BOUNDS_S[-1]
            raise UsageError(f"p{q * 100:g} limit {limit.value:g}s ({limit.source}): the router's latency histogram "
                             f"ends at {top:g}s, so an alert above it could never fire")
    return limits


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"-o {output}: cannot write: {exc.strerror or exc}") from None
    typer.echo(f"wrote {output}", err=True)


def register(app: typer.Typer) -> None:
    ops_app = typer.Typer(name="ops", help="Monitoring for releases: Prometheus alert rules, Grafana, CloudWatch.",
                          no_args_is_help=True)  # fmt: skip

    @ops_app.command("alert-rules", epilog=RULES_EPILOG)
    def alert_rules(
        file: Path | None = typer.Option(None, "-f", "--file", help=FILE_HELP),
        output: Path | None = OUT_OPT,
        runbook_url: str = RUNBOOK_OPT,
        error_rate: str | None = ERROR_RATE_OPT,
        p95: str | None = P95_OPT,
        rpo: str | None = typer.Option(None, "--rpo", help="Backup age limit instead of the spec's, e.g. 5m."),
        drill_max_age: str | None = typer.Option(None, "--drill-max-age", help="Restore drills at least this often."),
        cert_days: float | None = typer.Option(None, "--cert-days", min=1, help="Warn this many days before expiry."),
    ) -> None:
        """Write Prometheus alerting rules: error rate, latency, rollbacks, backup age, certificate expiry."""
        from greenflag.ops.alert_rules import render_alert_rules

        spec = _load(file)
        limits = _limits(spec, error_rate, p95, rpo, drill_max_age)
        if cert_days is not None:
            limits = limits.override(cert_days=cert_days)
        _emit(render_alert_rules(limits, service=spec.service if spec else None, runbook=runbook_url), output)

    @ops_app.command("grafana", epilog=GRAFANA_EPILOG)
    def grafana(
        file: Path | None = typer.Option(None, "-f", "--file", help=FILE_HELP),
        output: Path | None = OUT_OPT,
    ) -> None:
        """Write a Grafana dashboard (JSON) for the router, rollouts, analysis and data safety."""
        from greenflag.ops.grafana import render_dashboard

        spec = _load(file)
        _emit(render_dashboard(_limits(spec, None, None), service=spec.service if spec else None), output)

    @ops_app.command("cloudwatch-alarms", epilog=CLOUDWATCH_EPILOG)
    def cloudwatch_alarms(
        file: Path = typer.Option(Path("greenflag.yaml"), "-f", "--file", help="The release spec (an ALB release)."),
        region: str | None = typer.Option(None, "--region", help="AWS region instead of the spec's."),
        listener_arn: str | None = typer.Option(None, "--listener-arn", help="The ALB listener ARN."),
        target_group: list[str] = typer.Option([], "--target-group", help="BACKEND=TARGET_GROUP_ARN, repeatable."),
        alarm_action: list[str] = typer.Option([], "--alarm-action", help="ARN notified on ALARM and OK (SNS …)."),
        endpoint_url: str | None = typer.Option(None, "--endpoint-url", help="CloudWatch endpoint (testing)."),
        prune: bool = typer.Option(False, "--prune", help="Delete this service's greenflag alarms not defined now."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the PutMetricAlarm requests; change nothing."),
        error_rate: str | None = ERROR_RATE_OPT,
        p95: str | None = P95_OPT,
        runbook_url: str = RUNBOOK_OPT,
    ) -> None:
        """Create or update the CloudWatch alarms for an ALB release: 5xx rate, p95 response time, rollbacks."""
        from greenflag.ops.cloudwatch import alarm_definitions, alb_settings

        spec = _load(file)
        groups = dict(parse_kv("--target-group", value) for value in target_group)
        settings = alb_settings(spec, region=region, listener_arn=listener_arn, target_groups=groups or None)
        limits = _limits(spec, error_rate, p95)
        alarms = alarm_definitions(settings, limits, spec.service, actions=alarm_action, runbook=runbook_url)
        if dry_run:
            for alarm in alarms:
                typer.echo(json.dumps(alarm, sort_keys=True))
            typer.echo(f"dry run: {len(alarms)} alarms in {settings.region}, nothing changed", err=True)
            return
        from greenflag.ops.cloudwatch_apply import apply_alarms

        applied = apply_alarms(alarms, region=settings.region, prefix=f"greenflag-{spec.service}-",
                               endpoint_url=endpoint_url, prune=prune,
                               tags={"greenflag:service": spec.service})  # fmt: skip
        for item in applied:
            typer.echo(f"{item.action:<8} {item.name}")

    app.add_typer(ops_app, name="ops")
