"""Runbooks from the release spec (pure): `greenflag runbook -f greenflag.yaml -o DIR`.

`runbooks(spec, path)` returns file name → Markdown: README.md (this service at a glance), deployment.md,
rollback.md, incident-response.md (one section per alert of `greenflag ops alert-rules`) and dr-restore.md.
Commands name the spec as `path` (as given on the command line), its service, router and state directory;
every argument is shell-quoted (`greenflag.ops.shell`), versions are `"$VERSION"`-style placeholders.
"""

from __future__ import annotations

from pathlib import PurePath

from greenflag.ops.limits import Limits, human_duration, limits_from_spec
from greenflag.ops.shell import Var, cell, cmd, code, fence
from greenflag.spec import AnalysisStep, PauseStep, RouterSpec, SetWeightStep, Spec
from greenflag.units import format_duration, parse_host_port

__all__ = ["Context", "deployment", "readme", "rollback"]

__pure__ = True


class Context:
    """The spec and the few things every runbook derives from it."""

    def __init__(self, spec: Spec, path: str, limits: Limits | None = None) -> None:
        self.spec = spec
        self.path = path
        self.limits = limits or limits_from_spec(spec)
        self.base = PurePath(path).parent

    def gf(self, *args: str | Var, spec: bool = True) -> str:
        """A greenflag command line, `-f SPEC` appended when the command takes the spec."""
        return cmd("greenflag", *args, *(("-f", self.path) if spec else ()))

    def resolve(self, value: str) -> str:
        """A path from the spec, as the commands see it (relative paths are relative to the spec's directory)."""
        path = PurePath(value)
        return str(path if path.is_absolute() else self.base / path)

    @property
    def embedded(self) -> RouterSpec | None:
        """The embedded router's section, or None for the other router kinds."""
        router = self.spec.router
        return router if isinstance(router, RouterSpec) else None

    @property
    def state_dir(self) -> str:
        return self.resolve(self.spec.state_dir)

    @property
    def token_file(self) -> str:
        return self.resolve(self.embedded.admin_token_file) if self.embedded else ""

    def router_url(self) -> str | Var:
        """Where clients reach the service through the router: the embedded listener, the spec's public URL, or
        a variable the reader sets."""
        if self.embedded is not None:
            return self.url(self.embedded.listen)
        return self.spec.router.public_url() or Var("SERVICE_URL")

    def url(self, address: str) -> str:
        host, port = parse_host_port(address)
        host = "127.0.0.1" if host in ("0.0.0.0", "", "*") else host  # a listen-all address: connect locally
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    def smoke_probe(self) -> str:
        """The probe that checks the released version answers, through the router."""
        ready = self.spec.health.readiness
        base = self.router_url()
        if ready is not None and ready.http is not None:
            if isinstance(base, Var):
                return cmd("greenflag", "probe", Var("SERVICE_URL", ready.http))
            return cmd("greenflag", "probe", base + ready.http)
        if isinstance(base, Var):
            return cmd("greenflag", "probe", Var("SERVICE_URL", "/"))
        return cmd("greenflag", "probe", base + "/")

    def block(self, *lines: str) -> str:
        return fence("\n".join(lines))


def _steps(spec: Spec) -> list[str]:
    strategy = spec.strategy
    if strategy.blue_green is not None:
        bg = strategy.blue_green
        out = []
        if bg.pre_promotion_analysis is not None:
            out.append(f"analysis on test traffic ({human_duration(bg.pre_promotion_analysis.duration or 0)})")
        out.append("0 → 100 %" + ("" if bg.auto_promote else " after `greenflag rollout promote`"))
        if bg.post_promotion_analysis is not None:
            out.append(f"analysis after promotion ({human_duration(bg.post_promotion_analysis.duration or 0)})")
        out.append(f"the old version stops after {human_duration(bg.scale_down_delay)}")
        return out
    canary = strategy.canary
    assert canary is not None
    if canary.preset is not None:
        return [f"preset {code(canary.preset)} (AWS CodeDeploy's meaning)"]
    out = []
    for step in canary.steps or []:
        if isinstance(step, SetWeightStep):
            out.append(f"{step.set_weight} % of traffic to the new version")
        elif isinstance(step, PauseStep):
            d = step.pause.duration
            out.append(f"pause {human_duration(d)}" if d is not None else "pause until `greenflag rollout promote`")
        elif isinstance(step, AnalysisStep):
            d = step.analysis.duration
            out.append(f"analysis {human_duration(d)}" if d is not None else "analysis until its counts are taken")
    return out


def _needs_promote(spec: Spec) -> bool:
    if spec.strategy.blue_green is not None:
        return not spec.strategy.blue_green.auto_promote
    steps = spec.strategy.canary.steps if spec.strategy.canary else None
    return any(isinstance(s, PauseStep) and s.pause.duration is None for s in steps or [])


def _limits_table(ctx: Context) -> str:
    spec = ctx.spec
    rows = ["| metric | provider | query | fails when | passes when |", "|---|---|---|---|---|"]
    if spec.analysis.defaults:
        rows.append(f"| error_rate (built in) | router | canary vs stable | error rate worse than stable + "
                    f"{spec.analysis.compare.error_rate_margin * 100:g} % (absolute "
                    f"{ctx.limits.error_rate.value * 100:g} % without stable traffic) | |")  # fmt: skip
        rows.append(f"| latency (built in) | router | canary vs stable | slower than stable + "
                    f"{spec.analysis.compare.latency_margin_ms:g} ms (p95 > 3 s without stable traffic) | |")
    for metric in spec.analysis.metrics:
        rows.append(f"| {cell(metric.name)} | {metric.provider} | {cell(metric.query)} | "
                    f"{cell(metric.failure_condition or '-')} | {cell(metric.success_condition or '-')} |")  # fmt: skip
    return "\n".join(rows) + "\n"


def _hooks_table(spec: Spec) -> str:
    rows = ["| hook | command | timeout |", "|---|---|---|"]
    for name in type(spec.hooks).model_fields:
        for hook in getattr(spec.hooks, name):
            rows.append(f"| {name} | {cell(hook.run)} | {human_duration(hook.timeout)} |")
    return "\n".join(rows) + "\n" if len(rows) > 2 else "No hooks are configured.\n"


def readme(ctx: Context) -> str:
    spec = ctx.spec
    router = spec.router
    where = ""
    if (embedded := ctx.embedded) is not None:
        where = f", traffic {cell(embedded.listen)}, admin {cell(embedded.admin)}, token {cell(ctx.token_file)}"
    lines = [
        f"# Runbooks: {spec.service}",
        "",
        f"Generated by {code(cmd('greenflag', 'runbook', '-f', ctx.path, '-o', 'DIR'))} from the release spec "
        f"{code(ctx.path)}. Generate them again after changing the spec. Run the commands from the directory "
        "the spec path is relative to (where the runbooks were generated).",
        "",
        "| procedure | when |",
        "|---|---|",
        "| [deployment](deployment.md) | releasing a new version |",
        "| [rollback](rollback.md) | taking a bad version out of service |",
        "| [incident response](incident-response.md) | an alert fired (one section per alert) |",
        "| [DR restore](dr-restore.md) | data was lost: restore, verify, resume releases |",
        "",
        "## This service",
        "",
        "| | |",
        "|---|---|",
        f"| service | {cell(spec.service)} |",
        f"| release spec | {cell(ctx.path)} |",
        f"| router | {cell(router.kind)}{where} |",
        f"| platform | {cell(spec.platform.kind)}: {cell(spec.platform.summary())} |",
        f"| strategy | {'; '.join(_steps(spec))} |",
        f"| state (journal) | {cell(ctx.state_dir)} |",
        f"| error-rate limit | {ctx.limits.error_rate.value * 100:g} % ({cell(ctx.limits.error_rate.source)}) |",
        f"| p95 limit | {human_duration(ctx.limits.latency_s[0.95].value)} "
        f"({cell(ctx.limits.latency_s[0.95].source)}) |",
        f"| RPO | {human_duration(ctx.limits.rpo_s.value)} ({cell(ctx.limits.rpo_s.source)}) |",
    ]
    return "\n".join(lines) + "\n"


def deployment(ctx: Context) -> str:
    spec = ctx.spec
    number = iter(range(1, 10))
    out = [f"# Deployment: {spec.service}\n",
           "Set the version to release (letters, digits, `.`, `_`, `-`; at most 64 characters):\n",
           fence("VERSION=v2   # the version to release"),
           f"## {next(number)}. Readiness\n", "Exit 4 means a required check failed; its findings say what to fix.\n",
           ctx.block(ctx.gf("check", "all", "--junit", "readiness.xml"))]  # fmt: skip
    if spec.load is not None:
        load = spec.load
        target: str | Var = ctx.resolve(load.scenario) if load.scenario else (load.host or ctx.router_url())
        args: list[str | Var] = ["load", "run", target]
        if load.scenario and load.host:
            args += ["--host", load.host]
        args += ["--vus", str(load.vus), "--duration", format_duration(load.duration)]
        if load.rate is not None:
            args += ["--rate", f"{load.rate:g}"]
        for metric, exprs in load.thresholds.items():
            args += [x for expr in exprs for x in ("--threshold", f"{metric}: {expr}")]
        out += [f"## {next(number)}. Load-test gate\n", "Exit 99: a threshold was crossed; do not release.\n",
                ctx.block(cmd("greenflag", *args))]  # fmt: skip
    if ctx.embedded:
        out += [f"## {next(number)}. The long-lived side\n",
                "`greenflag up` runs the embedded router, the process supervisor, the controller and the rollout "
                "API. Keep it running (a systemd unit, for example); the commands below reach it.\n",
                ctx.block(ctx.gf("up"))]  # fmt: skip
    out += [f"## {next(number)}. Roll out\n", f"Plan: {'; '.join(_steps(spec))}.\n",
            "Exit 0: promoted. Exit 3: rolled back by itself (see [rollback](rollback.md)).\n",
            ctx.block(ctx.gf("rollout", "start", "--version", Var("VERSION"), "--wait")),
            "Follow it from another terminal:\n",
            ctx.block(ctx.gf("rollout", "watch"), ctx.gf("rollout", "status", "--json"))]  # fmt: skip
    if _needs_promote(spec):
        out += ["The plan waits for a person: promote when the new version looks right.\n",
                ctx.block(ctx.gf("rollout", "promote"), ctx.gf("rollout", "promote", "--full"))]  # fmt: skip
    out += [f"## {next(number)}. Smoke test\n", ctx.block(ctx.smoke_probe()),
            "## What the analysis holds the new version to\n", _limits_table(ctx),
            "\n## Hooks, in the order they run\n", _hooks_table(spec)]  # fmt: skip
    return "\n".join(out)


def rollback(ctx: Context) -> str:
    spec = ctx.spec
    hooks = spec.hooks.on_rollback
    out = [f"# Rollback: {spec.service}\n",
           "## Automatic\n",
           "greenflag rolls back by itself when an analysis verdict is Failed or Error, a health gate fails, or a "
           "hook fails: 100 % of traffic returns to the stable version in the same control tick, then the "
           f"`on_rollback` hooks run ({len(hooks)} configured), then the new version stops. "
           "`rollout status` names the trigger, its value and its limit.\n",
           ctx.block(ctx.gf("rollout", "status", "--json")),
           "## During a rollout: abort\n",
           ctx.block(ctx.gf("rollout", "abort"), ctx.gf("rollout", "status")),
           "## After promotion: undo\n",
           "Rolls out the version that was stable before, with the same checks:\n",
           ctx.block(ctx.gf("rollout", "undo", "--wait")),
           "## The controller is not answering: move traffic at the router\n",
           "Set the two versions and put all traffic on the stable one:\n",
           fence("STABLE=v1   # the version to keep\nCANARY=v2   # the version to take out"),
           ctx.block(ctx.gf("router", "set-weights", Var("STABLE", "=100"), Var("CANARY", "=0")),
                     ctx.gf("router", "status"))]  # fmt: skip
    if (embedded := ctx.embedded) is not None:
        out += ["Straight to the embedded router's admin API:\n",
                ctx.block(cmd("greenflag", "router", "set-weights", Var("STABLE", "=100"), Var("CANARY", "=0"),
                              "--admin", ctx.url(embedded.admin), "--admin-token-file", ctx.token_file))]
    if hooks:
        where = cmd("cd", str(ctx.base))
        env = ("env", f"GREENFLAG_SERVICE={spec.service}", Var("CANARY", prefix="GREENFLAG_VERSION="),
               Var("STABLE", prefix="GREENFLAG_STABLE="), "GREENFLAG_HOOK=on_rollback")
        lines = [f"({where} && {cmd(*env, 'sh', '-c', hook.run)})" for hook in hooks]
        out += ["## Run the on_rollback hooks by hand\n",
                "If the automatic rollback could not run them (the journal marks them `failed` or `interrupted`):\n",
                fence("\n".join(lines))]
    out += ["## When the cause is fixed\n", ctx.block(ctx.gf("rollout", "retry", "--wait"))]
    return "\n".join(out)
