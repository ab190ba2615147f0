"""Parsing and printing shared by the `check` subcommands: HOST[:PORT], --resolve/--ca-file, the result text."""

from __future__ import annotations

import os

import typer

from greenflag.errors import UsageError
from greenflag.readiness.base import CheckResult
from greenflag.readiness.target import TargetOptions, parse_resolve

__all__ = ["parse_target_options", "print_result", "split_host_port"]


def split_host_port(target: str, default_port: int) -> tuple[str, int]:
    """'host', 'host:8443', '[::1]:8443', '::1' → (host, port); UsageError names TARGET."""
    text = target.strip()
    if not text or any(c.isspace() for c in text) or "/" in text:
        raise UsageError(f"TARGET {target!r}: expected HOST or HOST:PORT")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise UsageError(f"TARGET {target!r}: expected [IPv6]:PORT")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not port_text:
        return host.lower(), default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"TARGET {target!r}: port {port_text!r} is not a number from 1 to 65535")
    return host.lower(), int(port_text)


def parse_target_options(resolve: list[str], ca_file: str | None, timeout_s: float) -> TargetOptions:
    entries = []
    for value in resolve:
        try:
            entries.append(parse_resolve(value))
        except ValueError as exc:
            raise UsageError(f"--resolve {value!r}: {exc}") from None
    if ca_file is not None and not os.path.isfile(ca_file):
        raise UsageError(f"--ca-file {ca_file!r}: no such file")
    if ca_file is not None:
        with open(ca_file, "rb") as fh:
            if b"-----BEGIN CERTIFICATE-----" not in fh.read():
                raise UsageError(f"--ca-file {ca_file!r}: no PEM certificate in it")
    return TargetOptions(resolve=tuple(entries), ca_file=ca_file, timeout_s=timeout_s)


def print_result(result: CheckResult) -> None:
    """The terminal view: one headline, then one line per finding, worst first."""
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    grade = f"  grade {result.grade}" if result.grade else ""
    typer.echo(f"{result.name} {result.target}: {result.status}{grade}  ({result.duration_s:.2f} s)")
    rating = result.evidence.get("rating")
    if isinstance(rating, dict):
        scores = rating["scores"]
        typer.echo(f"  scores: protocol {scores['protocol_support']}, key exchange {scores['key_exchange']}, "
                   f"cipher {scores['cipher_strength']}, final {scores['final']} ({rating['guide']})")  # fmt: skip
    for finding in sorted(result.findings, key=lambda f: order.get(str(f.severity), 5)):
        typer.echo(f"  [{finding.severity}] {finding.id}: {finding.message}")
