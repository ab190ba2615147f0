"""The incident-response and DR-restore runbooks (pure); `greenflag.ops.runbook` assembles them with the others.

incident-response.md has one section per alert of `greenflag ops alert-rules`, headed by the alert's name, so
an alert's `runbook_url` (`…/incident-response.md#greenflaghigherrorrate`) opens its section.
"""

from __future__ import annotations

from greenflag.ops.alert_rules import ALERTS, Alert
from greenflag.ops.limits import human_duration
from greenflag.ops.runbook import Context
from greenflag.ops.shell import Var, cmd, code, fence

__all__ = ["dr_restore", "incident_response"]

__pure__ = True


def _stats(ctx: Context) -> str:
    """curl of the embedded router's per-backend stats (the token read from its file by the shell)."""
    assert ctx.embedded is not None, "the stats query is for the embedded router"
    url = ctx.url(ctx.embedded.admin) + "/stats?window=60s"
    return f'curl -s -H "Authorization: Bearer $(cat {cmd(ctx.token_file)})" {cmd(url)}'


def _section(ctx: Context, alert: Alert) -> list[str]:
    limits = ctx.limits
    out = [f"## {alert.name}\n", f"**{alert.title}** (severity {alert.severity}). {alert.first_steps}\n"]
    if alert.name in ("GreenflagHighErrorRate", "GreenflagHighLatency"):
        limit = (f"{limits.error_rate.value * 100:g} % ({code(limits.error_rate.source)})"
                 if alert.name == "GreenflagHighErrorRate"
                 else ", ".join(f"p{q * 100:g} {human_duration(v.value)} ({code(v.source)})"
                                for q, v in sorted(limits.latency_s.items())))  # fmt: skip
        out += [f"Limit: {limit}. Which backend, and is a rollout in progress?\n",
                ctx.block(ctx.gf("router", "status", "--window", "60s"), ctx.gf("rollout", "status"))]  # fmt: skip
        if ctx.embedded:
            out += ["Per-backend counts and latency percentiles from the router:\n", ctx.block(_stats(ctx))]
        out += ["Judge the canary against the stable version with the spec's analysis, or take it out now:\n",
                ctx.block(ctx.gf("analysis", "run", "--duration", "60s"), ctx.gf("rollout", "abort"))]  # fmt: skip
    elif alert.name == "GreenflagRolloutRolledBack":
        out += ["The last events name the trigger (metric or probe), its value and its limit; hook output is kept "
                f"in {code(ctx.state_dir + '/hooks/')}.\n",
                ctx.block(ctx.gf("rollout", "status", "--json"), ctx.gf("rollout", "history")),
                "When the cause is fixed, start it again:\n",
                ctx.block(ctx.gf("rollout", "retry", "--wait"))]
    elif alert.name == "GreenflagRolloutStuckDegraded":
        out += ["Read the router's weights; if the new version still has traffic, move it by hand "
                "([rollback](rollback.md#the-controller-is-not-answering-move-traffic-at-the-router)):\n",
                ctx.block(ctx.gf("router", "status"),
                          ctx.gf("router", "set-weights", Var("STABLE", "=100"), Var("CANARY", "=0")))]  # fmt: skip
    elif alert.name == "GreenflagRolloutPaused":
        out += ["See why it waits, then promote, resume or abort:\n",
                ctx.block(ctx.gf("rollout", "status"), ctx.gf("rollout", "promote"), ctx.gf("rollout", "resume"),
                          ctx.gf("rollout", "abort"))]  # fmt: skip
    elif alert.name == "GreenflagControllerStalled":
        lock = ctx.state_dir + "/controller.lock"
        out += [f"One controller runs per state directory (lock {code(lock)}). Restart the long-lived side, or "
                "continue the journaled rollout in a terminal:\n",
                ctx.block(ctx.gf("up") if ctx.embedded else ctx.gf("rollout", "status"),
                          ctx.gf("rollout", "resume", "--wait"))]  # fmt: skip
    elif alert.name == "GreenflagBackupTooOld":
        out += [f"RPO: {human_duration(limits.rpo_s.value)} ({code(limits.rpo_s.source)}). Check the backup "
                "job and WAL archiving, then the readiness checklist's backups check:\n",
                ctx.block(ctx.gf("check", "all"))]  # fmt: skip
    elif alert.name in ("GreenflagRestoreDrillFailed", "GreenflagRestoreDrillOverdue"):
        out += [f"Drills are expected every {human_duration(limits.drill_max_age_s.value)}. Run one (a throwaway "
                "cluster by default; exit 5 when it misses its objectives):\n",
                ctx.block(cmd("greenflag", "drill", "postgres", "--json"))]  # fmt: skip
    elif alert.name.startswith("GreenflagCertificate"):
        out += ["The alert's `target` label is the endpoint. After renewing, check the served chain and grade:\n",
                fence("TARGET=example.com:443   # from the alert"),
                ctx.block(cmd("greenflag", "check", "tls", Var("TARGET")))]  # fmt: skip
    return out


def incident_response(ctx: Context) -> str:
    spec = ctx.spec
    out = [f"# Incident response: {spec.service}\n",
           "First, whatever fired: is a release in progress, and where does traffic go?\n",
           ctx.block(ctx.gf("rollout", "status"), ctx.gf("router", "status")),
           "If a rollout is in progress and the new version is the suspect, abort it: traffic returns to the "
           "stable version in one control tick.\n",
           ctx.block(ctx.gf("rollout", "abort")),
           "Set the versions where a command below needs them:\n",
           fence("STABLE=v1   # the version serving before the release\n"
                 "CANARY=v2   # the version being released")]
    for alert in ALERTS:
        out += _section(ctx, alert)
    return "\n".join(out)


def dr_restore(ctx: Context) -> str:
    spec = ctx.spec
    rpo = ctx.limits.rpo_s
    journal = ctx.state_dir + "/state.db"
    out = [f"# DR restore: {spec.service}\n",
           f"Objective: recovery point {human_duration(rpo.value)} ({code(rpo.source)}). Write down the time of "
           "each step: the fault, the restore started, the service answering again — the RTO and RPO you "
           "achieved.\n",
           "## 1. Freeze releases\n",
           ctx.block(ctx.gf("rollout", "status"), ctx.gf("rollout", "abort")),
           "## 2. Restore the data\n",
           "Restore the database from its backup and WAL archive with your backup tool (for PostgreSQL, for "
           "example `pg_basebackup` copies or `pgbackrest restore`), to the newest point available. The procedure "
           "is rehearsed by a restore drill, which measures RTO, RPO and lost writes:\n",
           ctx.block(cmd("greenflag", "drill", "postgres", "--json")),
           "## 3. Restore greenflag's journal\n",
           f"Rollout state lives in {code(journal)} (SQLite). Copy a backup of it into place while nothing runs on "
           "it; to take such a backup:\n",
           ctx.block(cmd("sqlite3", journal, "VACUUM INTO '" + (journal + ".bak").replace("'", "''") + "'")),
           "Without a journal, the next rollout is an initial deployment of the version you name.\n",
           "## 4. Bring the service back\n"]  # fmt: skip
    if ctx.embedded:
        out.append(ctx.block(ctx.gf("up")))
    out += ["Deploy the last known good version:\n",
            fence("STABLE=v1   # the last version known good"),
            ctx.block(ctx.gf("rollout", "start", "--version", Var("STABLE"), "--wait")),
            "## 5. Verify\n",
            ctx.block(ctx.smoke_probe(), ctx.gf("router", "status"), ctx.gf("check", "all"))]  # fmt: skip
    return "\n".join(out)
