"""Disk-full fault on a dedicated, small filesystem — never on a disk anything else uses.

`FillDisk()` mounts a fresh tmpfs of `size` bytes on a temporary directory (needs root, or CAP_SYS_ADMIN) and,
on inject, fills it with one file until writes fail with ENOSPC (leaving `leave` bytes free). Point the
service's data directory at the mount point (`await disk.mount()` returns it) before injecting. Revert deletes the
filler; `close()` (or leaving `async with disk:`) also unmounts the tmpfs — lazily when a process still holds
files on it — and removes the mount point.

Without root, pass `path=` a dedicated filesystem you created (a tmpfs or loop-mounted image an administrator
set up for this): it must be a mount point and no larger than `max_size` (1 GiB by default), so the fault can
never fill a real disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from greenflag.dr.faults.base import FaultBase, FaultError

__all__ = ["FillDisk"]

CHUNK = 1024 * 1024


def _fill(target: Path, leave: int) -> int:
    """Write zeros into `target` until the filesystem is full (minus `leave` bytes); bytes written."""
    written = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        block = b"\0" * CHUNK
        while True:
            free = shutil.disk_usage(target.parent).free - leave
            if free <= 0:
                break
            try:
                written += os.write(fd, block[: min(CHUNK, free)])
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    break
                raise
        os.fsync(fd)
    finally:
        os.close(fd)
    return written


class FillDisk(FaultBase):
    name = "fill disk"

    def __init__(
        self, *, size: int = 16 * CHUNK, path: str | Path | None = None, leave: int = 0, max_size: int = 1024 * CHUNK
    ) -> None:
        self.size, self.leave, self.max_size = size, leave, max_size
        self.given = Path(path) if path is not None else None
        self.path: Path | None = self.given
        self.mounted = False
        self.filler: Path | None = None
        self.written = 0

    async def mount(self) -> Path:
        """The dedicated filesystem (mounting the tmpfs if greenflag owns it); idempotent."""
        if self.path is not None:
            return self.path
        if os.geteuid() != 0:
            raise FaultError("fill disk: mounting a tmpfs needs root; pass path= a dedicated small filesystem instead")
        point = Path(tempfile.mkdtemp(prefix="greenflag-fill-"))
        result = await asyncio.to_thread(
            subprocess.run,
            ["mount", "-t", "tmpfs", "-o", f"size={self.size},mode=1777", "greenflag-fill", str(point)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            point.rmdir()
            raise FaultError(f"fill disk: mount -t tmpfs failed: {result.stderr.strip() or result.returncode}")
        self.path, self.mounted = point, True
        return point

    def _check_dedicated(self, path: Path) -> None:
        if not os.path.ismount(path):
            raise FaultError(f"fill disk: {path} is not a mount point; give a dedicated filesystem")
        total = shutil.disk_usage(path).total
        if total > self.max_size:
            raise FaultError(
                f"fill disk: {path} holds {total} bytes, more than max_size {self.max_size}: refusing "
                "to fill a filesystem that large"
            )

    async def __aenter__(self) -> FillDisk:
        try:
            await self.mount()
            return await super().__aenter__()
        except BaseException:
            await self.close()
            raise

    async def inject(self) -> None:
        path = await self.mount()
        self._check_dedicated(path)
        self.filler = path / ".greenflag-fill"
        self.written = await asyncio.to_thread(_fill, self.filler, self.leave)

    async def revert(self) -> None:
        if self.filler is not None:
            with contextlib.suppress(FileNotFoundError):
                self.filler.unlink()
            self.filler = None

    async def close(self) -> None:
        """Revert, then unmount the tmpfs greenflag mounted and remove its mount point."""
        await self.revert()
        if self.mounted and self.path is not None:
            result = await asyncio.to_thread(subprocess.run, ["umount", str(self.path)], capture_output=True, text=True)
            if result.returncode != 0:  # still in use (a service holds files open): detach it now, free it later
                result = await asyncio.to_thread(
                    subprocess.run, ["umount", "--lazy", str(self.path)], capture_output=True, text=True
                )
            if result.returncode != 0:
                raise FaultError(f"fill disk: umount {self.path} failed: {result.stderr.strip()}")
            self.path.rmdir()
            self.mounted, self.path = False, self.given

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.revert()
        finally:
            await self.close()
