"""Whether connections leak under uvloop: open and close connections to a local server in rounds and print glibc's
heap in use, RSS and pymalloc's block count after each round. A leak shows as a column that keeps rising.

    python3 bench/soak/connchurn.py                     # uvloop, 6 rounds of 5,000 connections
    python3 bench/soak/connchurn.py --loop asyncio      # the standard event loop, for comparison
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys

from probe import malloc_info, status


async def churn(rounds: int, per_round: int, at_once: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        await writer.drain()
        await reader.read()
        writer.close()
        await writer.wait_closed()

    print("round   connections   heap in use KiB   RSS KiB   pymalloc blocks")
    for number in range(1, rounds + 1):
        for _ in range(per_round // at_once):
            await asyncio.gather(*(one() for _ in range(at_once)))
        gc.collect()
        print(f"{number:5}   {number * per_round:11}   {malloc_info()['heap_used_kb']:15}   {status()['VmRSS']:7}   "
              f"{sys.getallocatedblocks():15}", flush=True)  # fmt: skip
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=5000)
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    asyncio.run(churn(args.rounds, args.per_round, 50))


if __name__ == "__main__":
    main()
