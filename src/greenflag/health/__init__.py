"""Probes (http, tcp, exec) and liveness/readiness gates."""
