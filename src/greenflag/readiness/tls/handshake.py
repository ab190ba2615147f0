"""One complete handshake as a default client makes it, for what raw hellos cannot see (I/O).

pyOpenSSL, driven through memory BIOs over an asyncio connection, because Python 3.11's `ssl` module gives
neither the certificate chain the server sent (`get_unverified_chain` arrives in 3.13) nor a stapled OCSP
response (no API at all). Over the same connection one `GET /` reads the Strict-Transport-Security header.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from cryptography import x509
from OpenSSL import SSL

__all__ = ["HandshakeResult", "full_handshake"]

_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class HandshakeResult:
    chain: tuple[x509.Certificate, ...]  # as served, leaf first
    protocol: str  # "TLSv1.3"
    cipher: str
    ocsp_response: bytes | None  # DER of the stapled response; None when nothing was stapled
    http_head: bytes | None  # status line and headers of GET /
    http_error: str | None


class _Pump:
    """Moves bytes between a pyOpenSSL memory-BIO connection and an asyncio stream."""

    def __init__(self, conn: SSL.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 deadline: float) -> None:  # fmt: skip
        self.conn, self.reader, self.writer, self.deadline = conn, reader, writer, deadline

    async def flush(self) -> None:
        while True:
            try:
                data = self.conn.bio_read(65536)
            except SSL.WantReadError:
                break
            if not data:
                break
            self.writer.write(data)
        await self.writer.drain()

    async def fill(self) -> bool:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("TLS handshake timed out")
        data = await asyncio.wait_for(self.reader.read(65536), remaining)
        if not data:
            self.conn.bio_shutdown()
            return False
        self.conn.bio_write(data)
        return True

    async def handshake(self) -> None:
        while True:
            try:
                self.conn.do_handshake()
                await self.flush()
                return
            except SSL.WantReadError:
                await self.flush()
                if not await self.fill():
                    raise ConnectionError("the server closed the connection during the handshake") from None

    async def request(self, payload: bytes) -> bytes:
        self.conn.sendall(payload)
        await self.flush()
        head = b""
        while b"\r\n\r\n" not in head and len(head) < _MAX_HEAD:
            try:
                head += self.conn.recv(65536)
                continue
            except SSL.WantReadError:
                pass
            except SSL.ZeroReturnError:
                break
            await self.flush()
            if not await self.fill():
                with contextlib.suppress(SSL.Error):
                    head += self.conn.recv(65536)
                break
        return head.split(b"\r\n\r\n", 1)[0]


async def full_handshake(address: str, port: int, server_name: str | None, *, host_header: str,
                         timeout_s: float = 10.0) -> HandshakeResult:  # fmt: skip
    """Handshake (no verification here: the chain is judged separately), then GET / for the HSTS header."""
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE)
    ctx.set_cipher_list(b"ALL:@SECLEVEL=0")  # complete a handshake even with a legacy server
    staple: list[bytes] = []

    def on_ocsp(_conn: SSL.Connection, data: bytes, _arg: object) -> bool:
        staple.append(data)
        return True

    ctx.set_ocsp_client_callback(on_ocsp)
    conn = SSL.Connection(ctx, None)
    if server_name:
        conn.set_tlsext_host_name(server_name.encode("idna"))
    conn.request_ocsp()
    conn.set_connect_state()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout_s)
    pump = _Pump(conn, reader, writer, time.monotonic() + timeout_s)
    try:
        await pump.handshake()
        chain = tuple(conn.get_peer_cert_chain(as_cryptography=True) or ())
        head: bytes | None = None
        error: str | None = None
        try:
            request = (f"GET / HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: greenflag-check\r\n"
                       "Connection: close\r\n\r\n")
            head = await pump.request(request.encode("ascii", "replace"))
            if not head.startswith(b"HTTP/"):
                head, error = None, "the server did not answer GET / with HTTP"
        except (SSL.Error, OSError, TimeoutError) as exc:
            error = f"GET / failed: {exc or type(exc).__name__}"
        return HandshakeResult(chain, conn.get_protocol_version_name(), conn.get_cipher_name() or "",
                               staple[0] if staple and staple[0] else None, head, error)  # fmt: skip
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def header(head: bytes | None, name: str) -> str | None:
    """The first header called `name` in an HTTP response head (RFC 6797 §8.1: only the first HSTS counts)."""
    if not head:
        return None
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name.lower().encode():
            return value.strip().decode("latin-1")
    return None
