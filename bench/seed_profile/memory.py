"""Memory per VU of the journeys engine: N VUs, each holding its keep-alive connection, cookie jar and User, against
a minimal keep-alive HTTP responder in a child process (so the service's memory is not counted).

    taskset -c 0 python bench/seed_profile/memory.py 10000

Prints the engine's RSS before the run, its peak, and (peak - before) / N.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

SERVER = textwrap.dedent(
    """
    import asyncio, sys, uvloop
    async def handle(reader, writer):
        try:
            while True:
                await reader.readuntil(b"\\r\\n\\r\\n")
                writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nSet-Cookie: s=0123456789\\r\\n\\r\\nok")
        except Exception:
            writer.close()
    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=8192)
        print("ready", flush=True)
        await server.serve_forever()
    uvloop.run(main())
    """
)
SCRIPT = textwrap.dedent(
    """
    from greenflag import User, constant, task

    class Idle(User):
        wait_time = constant(30)

        @task
        async def home(self):
            await self.http.get("/", name="home")
    """
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    from greenflag.load.engine.runner import run_load, run_sync
    from greenflag.load.run import LoadRequest, prepare

    vus = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE)
    script = Path(f"/tmp/greenflag-memory-{port}.py")
    script.write_text(SCRIPT)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
        request = LoadRequest(
            target=str(script), host=f"http://127.0.0.1:{port}", vus=vus, duration=15.0, progress=False
        )
        make, config = prepare(request)
        config.graceful_stop = 0.5
        before = rss_mb()
        peak = [before]

        async def run() -> int:
            async def watch() -> None:
                while True:
                    peak[0] = max(peak[0], rss_mb())
                    await asyncio.sleep(0.25)

            watcher = asyncio.ensure_future(watch())
            result = await run_load(make, config)
            watcher.cancel()
            return int(result.summary["metrics"]["http_reqs"]["count"])

        started = time.monotonic()
        requests = run_sync(run())
        per_vu = (peak[0] - before) * 1024 / vus
        print(
            f"  {vus} VUs ({requests} requests, {time.monotonic() - started:.0f}s): RSS before {before:.0f} MB, "
            f"peak {peak[0]:.0f} MB, {per_vu:.1f} kB per VU; 10,000 VUs ≈ {before + per_vu * 10_000 / 1024:.0f} MB "
            f"(target 300 MB: ratio {(before + per_vu * 10_000 / 1024) / 300:.2f})"
        )
    finally:
        server.kill()
        server.wait()
        script.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
