"""Resumable downloads (``download_file(..., resume=True)``): the partial file, its lock, and the
HTTP ``Range`` continuation."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

# Imports nothing from ``_files`` (which calls in here): what it needs comes in as arguments.
PathLike = Union[str, "os.PathLike[str]"]
ProgressFn = Callable[[int, Optional[int]], None]

__all__ = ["part_path", "download_resumable"]


def part_path(dest: PathLike) -> Path:
    """Where ``download_file(..., resume=True)`` keeps the partial download of ``dest``."""
    if not isinstance(dest, (str, os.PathLike)):
        raise TypeError(f"dest must be a str or os.PathLike, got {type(dest).__name__}")
    dest = Path(dest).expanduser()
    return dest.parent / f".{dest.name}.part"


def _lock(fh, part: Path) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise OSError(f"another process is downloading into {part} (it is locked); wait for it to finish") from None


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def download_resumable(
    url: str,
    scheme: str,
    dest: Path,
    expected: Optional[Sequence[str]],
    timeout: float,
    report: ProgressFn,
    user_agent: str,
    mismatch: Callable[[str, str, Sequence[str], Path], Exception],
) -> Path:
    """Downloads ``url`` into ``dest`` through its partial file (continued with ``Range``);
    ``mismatch(url, got, expected, dest)`` builds the error raised on a bad checksum."""
    part = part_path(dest)
    fd = os.open(part, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
    with os.fdopen(fd, "r+b") as fh:
        _lock(fh, part)
        h = hashlib.sha256()
        for block in iter(lambda: fh.read(1 << 20), b""):  # what an earlier attempt received
            h.update(block)
        have = fh.tell()
        opener = urllib.request.build_opener()
        for attempt in (0, 1):
            headers = {"User-Agent": user_agent}
            if have and scheme != "file":
                headers["Range"] = f"bytes={have}-"
            try:
                response = opener.open(urllib.request.Request(url, headers=headers), timeout=timeout)
            except urllib.error.HTTPError as exc:
                if exc.code != 416 or not have or attempt:
                    raise
                exc.close()  # the part is complete already, or longer than the file: start over
                response = None
            if response is not None:
                with response:
                    status = getattr(response, "status", None) or response.getcode() or 200
                    total = None
                    match = _CONTENT_RANGE.match(response.headers.get("Content-Range") or "")
                    if have and status == 206 and match and int(match.group(1)) == have:
                        total = int(match.group(3)) if match.group(3) != "*" else None
                    elif have and status == 206:
                        response = None  # a range we did not ask for: start over
                    else:  # the whole file (the server ignored Range, or a file:// URL)
                        have = 0
                        fh.seek(0)
                        fh.truncate()
                        h = hashlib.sha256()
                        length = response.headers.get("Content-Length") if scheme != "file" else None
                        total = int(length) if length is not None and length.isdigit() else None
                    if response is not None:
                        received = have
                        fh.seek(have)
                        report(received, total)
                        for block in iter(functools.partial(response.read, 1 << 20), b""):
                            h.update(block)
                            fh.write(block)
                            received += len(block)
                            report(received, total)
                        fh.flush()
                        if total is not None and received != total:
                            raise OSError(
                                f"download of {url} was interrupted at {received} of {total} bytes; "
                                f"the part is kept in {part}: run the download again to resume it"
                            )
                        break
            # start over without a range
            if expected is not None and h.hexdigest() in expected:
                break  # the part held the whole, verified file already
            have = 0
            fh.seek(0)
            fh.truncate()
            h = hashlib.sha256()
        os.fsync(fh.fileno())
        got = h.hexdigest()
        if expected is not None and got not in expected:
            part.unlink()
            raise mismatch(url, got, expected, dest)
        if os.name == "nt":  # pragma: no cover - an open file cannot be renamed there
            fh.close()
        os.replace(part, dest)  # while holding the lock (POSIX): no one else writes the part meanwhile
    return dest
