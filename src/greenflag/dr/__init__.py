"""Disaster recovery: drills that restore real databases after real faults and measure RTO/RPO, and faults.

- `greenflag.dr.postgres.drill.run_postgres_drill`, `greenflag.dr.sqlite.drill.run_sqlite_drill`: the drills.
- `greenflag.dr.score.score`: the pure scoring of a drill's recorded timeline against its objectives.
- `greenflag.dr.faults`: kill, freeze, slow/failing/removed backends, disk full — each reverted in `finally`.
"""
