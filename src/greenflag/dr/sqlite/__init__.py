"""The SQLite drill: `greenflag.dr.sqlite.drill.run_sqlite_drill`; `writer` is the heartbeat process it kills."""
