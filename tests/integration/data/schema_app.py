"""A tiny service written for the migration tests: two versions that read different columns of one table.

    python3 schema_app.py --port PORT --version VERSION      (DATABASE_URL: a libpq connection string)

- v1 reads columns a and b; v2 reads a, b and c (added by its migration); v2-drop reads a and c (its migration
  drops b, which v1 still reads).
- GET /items: the rows as JSON (200), or 500 with the database's error when the query fails.
- GET /healthz: 200 when the database answers `SELECT 1` (the schema plays no part).
Every request is logged to stdout with the version. SIGTERM stops accepting and finishes the requests in flight.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg

COLUMNS = {"v1": ("a", "b"), "v2": ("a", "b", "c"), "v2-drop": ("a", "c")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--version", required=True)
    args = parser.parse_args()
    columns = COLUMNS[args.version]
    dsn = os.environ["DATABASE_URL"]

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Greenflag-Version", args.version)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            sql = "SELECT 1" if self.path == "/healthz" else f"SELECT {', '.join(columns)} FROM items ORDER BY id"
            if self.path not in ("/healthz", "/items"):
                self.answer(404, {"error": "not found", "version": args.version})
                return
            try:
                with psycopg.connect(dsn, connect_timeout=3) as conn:
                    rows = conn.execute(sql).fetchall()
            except psycopg.Error as exc:
                self.answer(500, {"error": str(exc).strip().splitlines()[0], "version": args.version})
                return
            items = [dict(zip(columns, row, strict=True)) for row in rows] if self.path == "/items" else []
            self.answer(200, {"version": args.version, "items": items})

        def log_message(self, format: str, *log_args: object) -> None:
            print(f"{args.version} {self.command} {self.path} {log_args[1] if len(log_args) > 1 else ''}", flush=True)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = False  # so that server_close() waits for the requests in flight
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()  # joins the threads of the requests in flight


if __name__ == "__main__":
    main()
