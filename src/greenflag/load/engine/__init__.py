"""The load engine: executor plans (pure schedules and options), the executors that run them, the runner with its
once-a-second sinks, the generator self-check, and `PacedLoad` for tests and benches. Builds on `load.metrics`."""
