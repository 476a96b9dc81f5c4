"""The sealed-bid envelope: what a bidder's tool writes and what the platform can verify at decryption.

The bidder encrypts on its own machine; the platform receives ciphertext only and never sees a key before the
opening. The envelope is AES-256-GCM with a random 12-byte nonce, laid out as

    file = nonce (12 bytes) || ciphertext || tag (16 bytes)

with no associated data. The key is 32 random bytes, handed over as Base64 at decryption time. GCM's tag makes a
wrong key or a damaged file fail at finalize, so the platform can tell a good decryption from a bad one without
knowing anything about the content. Decryption streams: plaintext is written out before the tag is checked, so
callers write it to a temporary file and keep it only when finalize succeeds.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.ciphers.modes import GCM

from domain.errors import BadRequest, Invalid

KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
MIN_ENVELOPE = NONCE_LEN + TAG_LEN
CHUNK = 1024 * 1024


class WrongKey(Invalid):
    """422: the key does not open the envelope (or the file is damaged); the bidder may try again."""

    code = "decryption_failed"


def parse_key(text: object) -> bytes:
    """A Base64 AES-256 key from the bidder."""
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("缺少解密密钥 key（Base64 编码）")
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("解密密钥不是有效的 Base64 编码") from None
    if len(key) != KEY_LEN:
        raise Invalid(f"解密密钥应为 {KEY_LEN} 字节（AES-256），实为 {len(key)} 字节")
    return key


def decrypt_stream(key: bytes, src: BinaryIO, size: int, dst: BinaryIO, chunk: int = CHUNK) -> tuple[str, int]:
    """Decrypt an envelope of `size` bytes from src into dst; return (sha256 hex, size) of the plaintext."""
    if size < MIN_ENVELOPE:
        raise WrongKey("投标文件不是有效的加密信封（长度不足）")
    nonce = _read_exactly(src, NONCE_LEN)
    decryptor = Cipher(AES(key), GCM(nonce)).decryptor()
    digest = hashlib.sha256()
    remaining = size - MIN_ENVELOPE
    written = 0
    while remaining > 0:
        block = decryptor.update(_read_exactly(src, min(chunk, remaining)))
        remaining -= min(chunk, remaining)
        digest.update(block)
        dst.write(block)
        written += len(block)
    tag = _read_exactly(src, TAG_LEN)
    try:
        tail = decryptor.finalize_with_tag(tag)
    except InvalidTag:
        raise WrongKey("解密失败：密钥不正确或投标文件已损坏，请在解密时限内重试") from None
    digest.update(tail)
    dst.write(tail)
    return digest.hexdigest(), written + len(tail)


def encrypt_chunks(key: bytes, chunks: Iterable[bytes], nonce: bytes | None = None) -> Iterator[bytes]:
    """The envelope of a plaintext given in chunks, in chunks: what a bidder's tool produces."""
    nonce = nonce or os.urandom(NONCE_LEN)
    encryptor = Cipher(AES(key), GCM(nonce)).encryptor()
    yield nonce
    for part in chunks:
        yield encryptor.update(part)
    yield encryptor.finalize() + encryptor.tag


def encrypt(key: bytes, plaintext: bytes) -> bytes:
    """The envelope of a small plaintext in one piece."""
    return b"".join(encrypt_chunks(key, [plaintext]))


def _read_exactly(src: BinaryIO, n: int) -> bytes:
    data = src.read(n)
    if len(data) != n:
        raise WrongKey("投标文件不完整，无法解密")
    return data
