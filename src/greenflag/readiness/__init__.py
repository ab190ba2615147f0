"""Production readiness: each check is `collect` (I/O) + `evaluate` (pure) and returns a `CheckResult`."""
