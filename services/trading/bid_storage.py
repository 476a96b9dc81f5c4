"""Bid files on disk: ciphertext streamed in under a random name, plaintext written out at decryption.

Where: GGZY_BID_STORAGE, read at each call (so tests and deployments can point it elsewhere), default
`var/bids` under the working directory. Layout: `tmp/` for files being written, `c/XX/KEY.bin` for ciphertext,
`p/XX/KEY.bin` for decrypted plaintext, KEY being 32 random hex digits (never the bidder's name) and XX its
first two digits, so no folder grows past a few thousand files.

How: a request body is read in 1 MiB blocks straight from the server's input and hashed (sha256) as it is
written, so a bid of hundreds of MB never sits in memory; the file is synced, renamed into place and its folder
synced, so a half-written file is never seen under its final name and a stored file survives a crash. A body
with a declared length must arrive whole (a client that went away leaves nothing). The size limit is
GGZY_BID_MAX_BYTES (default 2 GiB). Files are written before the database transaction that records them; if
that transaction refuses the bid, the caller discards the file (a crash in between leaves an orphan file that
no row names, which is harmless).
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from domain.errors import BadRequest
from trading import crypto
from trading.bids import BidTooLarge

ENV_DIR = "GGZY_BID_STORAGE"
ENV_MAX = "GGZY_BID_MAX_BYTES"
DEFAULT_DIR = "var/bids"
DEFAULT_MAX_BYTES = 2 * 1024 ** 3
CHUNK = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}$")


class Readable(Protocol):
    """Anything with read(n), such as a WSGI input stream."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Stored:
    """A file in place: its storage key, sha256 and size."""

    key: str
    sha256: str
    size: int


def root() -> Path:
    """The storage directory, absolute."""
    folder = Path(os.environ.get(ENV_DIR) or DEFAULT_DIR)
    return folder if folder.is_absolute() else Path.cwd() / folder


def max_bytes() -> int:
    """The largest bid file accepted, in bytes."""
    value = os.environ.get(ENV_MAX)
    return int(value) if value else DEFAULT_MAX_BYTES


def too_large(limit: int) -> BidTooLarge:
    """The error for a body over the limit."""
    return BidTooLarge(f"投标文件超过平台允许的大小上限 {_size_text(limit)}", {"max_bytes": limit})


def receive(stream: Readable, declared_length: int | None, chunk: int = CHUNK) -> Stored:
    """Stream a request body (declared_length bytes, or up to its end) to a new ciphertext file, hashing it."""
    limit = max_bytes()
    if declared_length is not None and declared_length > limit:
        raise too_large(limit)
    # Never ask for more than the declared length: a server's raw input may block past it.
    remaining = limit + 1 if declared_length is None else declared_length
    key = secrets.token_hex(16)
    temp = _temp(key)
    digest = hashlib.sha256()
    size = 0
    try:
        with temp.open("wb") as out:
            while remaining > 0 and (block := stream.read(min(chunk, remaining))):
                size += len(block)
                remaining -= len(block)
                if size > limit:
                    raise too_large(limit)
                digest.update(block)
                out.write(block)
            if declared_length is not None and size < declared_length:
                raise BadRequest(f"投标文件未完整上传（声明 {declared_length} 字节，收到 {size} 字节），请重新上传",
                                 {"declared_bytes": declared_length, "received_bytes": size})
            out.flush()
            os.fsync(out.fileno())
        _move_into_place(temp, cipher_path(key))
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return Stored(key, digest.hexdigest(), size)


def decrypt(cipher_key: str, aes_key: bytes) -> Stored:
    """Decrypt a stored envelope to a plaintext file; WrongKey (422) leaves nothing behind."""
    source = cipher_path(cipher_key)
    plain_key = secrets.token_hex(16)
    temp = _temp(plain_key)
    try:
        with source.open("rb") as src, temp.open("wb") as out:
            sha, size = crypto.decrypt_stream(aes_key, src, source.stat().st_size, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        _move_into_place(temp, plain_path(plain_key))
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return Stored(plain_key, sha, size)


def cipher_path(key: str) -> Path:
    """Where a ciphertext file lives."""
    return root() / "c" / _checked(key)[:2] / f"{key}.bin"


def plain_path(key: str) -> Path:
    """Where a decrypted file lives."""
    return root() / "p" / _checked(key)[:2] / f"{key}.bin"


def discard(key: str, plain: bool = False) -> None:
    """Remove a file whose database row was never written."""
    (plain_path(key) if plain else cipher_path(key)).unlink(missing_ok=True)


def _temp(key: str) -> Path:
    folder = root() / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{_checked(key)}.part"


def _move_into_place(temp: Path, final: Path) -> None:
    """Rename a synced file into place and sync the folders it changed, so the name outlives a crash."""
    created = [folder for folder in (final.parent.parent, final.parent) if not folder.is_dir()]
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, final)
    for folder in (final.parent, *(c.parent for c in created)):
        _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _checked(key: str) -> str:
    # Keys come from our own rows, but a path built from one must never leave the storage directory.
    if not _KEY.match(key):
        raise ValueError(f"bad storage key {key!r}")
    return key


def _size_text(n: int) -> str:
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} 字节"
