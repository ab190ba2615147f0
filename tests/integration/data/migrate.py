"""The migration tool of the migration tests: `migrate.py up|down|check`, for the version in GREENFLAG_VERSION.

v2 adds column c (compatible: v1 keeps reading a and b); v2-drop adds c and drops b (breaking: v1 reads b).
`down` undoes the version's `up` and is safe after a partial one; `check` verifies the columns the version (after
up) or the stable version (after down) needs. Each run appends one line to $MIGRATION_LOG."""

from __future__ import annotations

import os
import sys

import psycopg

UP = {
    "v1": [],
    "v2": ["ALTER TABLE items ADD COLUMN c integer NOT NULL DEFAULT 0", "UPDATE items SET c = a + b"],
    "v2-drop": [
        "ALTER TABLE items ADD COLUMN c integer NOT NULL DEFAULT 0",
        "UPDATE items SET c = a + b",
        "ALTER TABLE items DROP COLUMN b",
    ],
}
DOWN = {
    "v1": [],
    "v2": ["ALTER TABLE items DROP COLUMN IF EXISTS c"],
    "v2-drop": [
        "ALTER TABLE items ADD COLUMN IF NOT EXISTS b integer",
        "UPDATE items SET b = c - a",
        "ALTER TABLE items DROP COLUMN IF EXISTS c",
    ],
}
NEEDS = {"v1": {"a", "b"}, "v2": {"a", "b", "c"}, "v2-drop": {"a", "c"}}


def main() -> int:
    command, version = sys.argv[1], os.environ["GREENFLAG_VERSION"]
    after = os.environ.get("GREENFLAG_MIGRATION_AFTER", "")
    with open(os.environ["MIGRATION_LOG"], "a") as log:
        log.write(f"{command} {after} {version} stable={os.environ['GREENFLAG_STABLE']}\n".replace("  ", " "))
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:  # one transaction: all or nothing
        if command in ("up", "down"):
            for sql in (UP if command == "up" else DOWN)[version]:
                conn.execute(sql)
            print(f"{command} {version}: {len((UP if command == 'up' else DOWN)[version])} statements")
            return 0
        rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'items'")
        have = {row[0] for row in rows}
        target = version if after == "up" else os.environ["GREENFLAG_STABLE"]
        missing = NEEDS.get(target, set()) - have
        print(f"columns {sorted(have)}; {target} needs {sorted(NEEDS.get(target, set()))}")
        return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
